import KnetcapWire

/// The field registry: every field knetcap knows, with Wireshark's names, in protocol order.
/// Static data gathered from the protocol tables in this folder; a new protocol adds its
/// table here.
public enum FieldRegistry {
    public static let all: [FieldDescriptor] = FrameFields.table + EthernetFields.table + LinuxCookedFields.table + ARPFields.table
        + IPv4Fields.table + IPv6Fields.table + TCPFields.table + UDPFields.table + TunnelFields.table + ICMPFields.table + DNSFields.table
        + HTTPFields.table + KnetcapFields.table

    /// The fields the JSON output writes, in order.
    static let json: [FieldDescriptor] = all.filter { !$0.filterOnly }

    public static func descriptor(named n: String) -> FieldDescriptor? { byName[n] }
    static let byName: [String: FieldDescriptor] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
}
