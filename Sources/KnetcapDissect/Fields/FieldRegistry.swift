import KnetcapWire

/// The field registry: every field knetcap knows, with Wireshark's names, in protocol order.
/// Static data gathered from the protocol tables in this folder; a new protocol adds its
/// table here.
public enum FieldRegistry {
    /// Every protocol's table, in order, with the layer its fields are read from.
    public static let tables: [(layer: FieldLayer, fields: [FieldDescriptor])] = [
        (.frame, FrameFields.table), (.ethernet, EthernetFields.table), (.linuxCooked, LinuxCookedFields.table),
        (.arp, ARPFields.table), (.ipv4, IPv4Fields.table), (.ipv6, IPv6Fields.table), (.tcp, TCPFields.table),
        (.udp, UDPFields.table), (.tunnel, TunnelFields.table), (.icmp, ICMPFields.table), (.dns, DNSFields.table),
        (.http, HTTPFields.table), (.frame, KnetcapFields.table),
    ]
    public static let all: [FieldDescriptor] = tables.flatMap { $0.fields }

    /// The fields the JSON output writes, in order.
    static let json: [FieldDescriptor] = all.filter { !$0.filterOnly }

    public static func descriptor(named n: String) -> FieldDescriptor? { byName[n] }
    static let byName: [String: FieldDescriptor] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
}

/// What a protocol table's fields are read from: a packet without it has none of them, so the
/// JSON writer skips the whole table (one test per table and packet instead of a reader call
/// per field: issue 11). `mayBePresent` errs towards true.
public enum FieldLayer: UInt8, Sendable, CaseIterable {
    case frame, ethernet, linuxCooked, arp, ipv4, ipv6, tcp, udp, tunnel, icmp, dns, http

    /// False only when no field of this layer can be in `p`. A tunnel's outer Ethernet, IP and
    /// UDP headers are read from `p.tunnel`, an ICMP error's quoted IP, TCP, UDP and DNS from
    /// `p.icmpQuote`, an IPv6 header under EtherType IPv4 from `p.ipv6UnderIPv4`; HTTP heads
    /// only ride on TCP.
    @inlinable public func mayBePresent(in p: Packet) -> Bool {
        switch self {
        case .frame: return true
        case .ethernet: return p.ethernet != nil || p.tunnel != nil
        case .linuxCooked: return p.cooked != nil
        case .arp: return p.etherType == .arp
        case .ipv4: return p.ipv4 != nil || p.tunnel != nil || p.icmp != nil || p.etherType == .ipv4
        case .ipv6: return p.ipv6 != nil || p.tunnel != nil || p.icmp != nil || (p.ipv4 == nil && p.etherType == .ipv4)
        case .tcp: return p.tcp != nil || p.icmp != nil
        case .http: return p.tcp != nil
        case .udp: return p.udp != nil || p.tunnel != nil || p.icmp != nil
        case .tunnel: return p.tunnel != nil
        case .icmp: return p.icmp != nil
        case .dns: return p.dns != nil || p.icmp != nil
        }
    }

    /// The layers `p` may have, one bit per layer (`1 << rawValue`).
    @inlinable public static func mask(of p: Packet) -> UInt32 {
        var m: UInt32 = 0
        for l in allCases where l.mayBePresent(in: p) { m |= 1 << UInt32(l.rawValue) }
        return m
    }
}
