import KnetcapWire

/// The overlay tunnel a packet arrived in (VXLAN, Geneve, IP-in-IP, GRE): what the
/// outermost tunnel header said and the outer layers that carried it. The packet's own layers
/// (`Packet.ipv4`, `.tcp`, `.dns` ...) are the innermost packet's, so the diagnosis, the
/// conversations and the fields see the pods' traffic a node's physical interface carries.
///
/// Decapsulated on the wire shape alone: VXLAN on UDP 4789 or 8472 (flannel), Geneve on
/// UDP 6081, IP protocols 4 and 41, GRE version 0 with an IPv4, IPv6 or Ethernet payload. At
/// most `maxDepth` tunnels deep (Wireshark's `ipoipoip.pcap` is two). The first fragment of a
/// fragmented outer datagram is not decapsulated: the datagram is, once reassembled.
public struct Tunnel {
    public enum Kind: String, Sendable { case vxlan = "VXLAN", geneve = "Geneve", ipip = "IP-in-IP", gre = "GRE" }
    public static let maxDepth = 4
    public var kind: Kind
    /// The tunnel header (VXLAN, Geneve, GRE; empty for IP-in-IP).
    public var header: ByteView
    /// VXLAN/Geneve VNI or GRE key.
    public var vni: UInt32?
    /// The outer network and UDP layers of the outermost tunnel.
    public var ipv4: IPv4View?, ipv6: IPv6View?, udp: UDPView?
    /// The innermost Ethernet header, when the tunnel carried Ethernet frames.
    public var innerEthernet: EthernetView?
    /// How many tunnels deep the packet was (1 for one tunnel).
    public var depth: Int
    /// The IP headers between the outermost and the innermost packet, outer first (nested
    /// tunnels: IP-in-IP-in-IP); their own tunnel headers are not kept.
    public var middle: [IPLayer] = []
    public enum IPLayer { case v4(IPv4View), v6(IPv6View) }

    /// `VXLAN vni 42 from 192.168.50.1 to 192.168.50.2`, for findings.
    public var text: String {
        var s = kind.rawValue
        if let v = vni { s += kind == .gre ? " key \(v)" : " vni \(v)" }
        if let a = ipv4?.source ?? ipv6?.source, let b = ipv4?.destination ?? ipv6?.destination { s += " from \(a) to \(b)" }
        return s
    }
}

extension Dissector {
    /// Moves the packet's network and transport layers into `p.tunnel` (the first time) and
    /// dissects `inner`: an Ethernet frame when `innerType` is nil, else an IP datagram.
    static func decapsulate(_ p: inout Packet, _ kind: Tunnel.Kind, header: ByteView, vni: UInt32?,
                            inner: ByteView, innerType: EtherType?) throws(WireError) {
        if p.tunnel == nil {
            p.tunnel = Tunnel(kind: kind, header: header, vni: vni, ipv4: p.ipv4, ipv6: p.ipv6, udp: p.udp, depth: 1)
        } else {
            guard p.tunnel!.depth < Tunnel.maxDepth else { return }
            p.tunnel!.depth += 1
            if let ip = p.ipv4 { p.tunnel!.middle.append(.v4(ip)) } else if let ip = p.ipv6 { p.tunnel!.middle.append(.v6(ip)) }
        }
        p.ipv4 = nil; p.ipv6 = nil; p.udp = nil; p.tcp = nil; p.icmp = nil; p.dns = nil
        var type = innerType, net = inner
        if type == nil {
            let e = try EthernetView(inner)
            p.tunnel!.innerEthernet = e
            if e.isLengthField { p.etherType = nil; return }
            type = e.etherType
            net = e.payload
        }
        p.etherType = type
        switch type {
        case EtherType.ipv4?: try dissectIPv4(&p, net)
        case EtherType.ipv6?: try dissectIPv6(&p, net)
        default: return
        }
    }

    /// Whether the packet's IP layer is a fragment the dissector sees alone (not the datagram
    /// `IPReassembler` completed, which has `Packet.wire` set): its payload is not decapsulated.
    static func isLoneFragment(_ p: Packet) -> Bool {
        p.wire == nil && ((p.ipv4?.isFragment ?? false) || (p.ipv6?.isFragment ?? false))
    }

    /// The EtherType a Geneve or GRE Protocol Type names for decapsulation: IPv4, IPv6, or nil
    /// for Ethernet (0x6558); `false` for anything else (not decapsulated).
    static func tunnelPayload(_ type: UInt16) -> EtherType?? {
        switch type {
        case 0x0800: return .some(.ipv4)
        case 0x86dd: return .some(.ipv6)
        case GeneveView.ethernet: return .some(nil)
        default: return nil
        }
    }
}
