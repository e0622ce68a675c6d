import KnetcapWire

/// Overlay tunnel headers (`vxlan.*` RFC 7348, `geneve.*` RFC 8926, `gre.*` RFC 2784/2890),
/// read from `Packet.tunnel` (the outermost tunnel). The outer IP and UDP layers are further
/// occurrences of `ip.*`/`ipv6.*`/`udp.*` (`IPv4Fields.each` and friends), as in tshark.
enum TunnelFields {
    static func header(_ p: Packet, _ kind: Tunnel.Kind) -> ByteView? {
        guard let t = p.tunnel, t.kind == kind else { return nil }
        return t.header
    }

    static let table: [FieldDescriptor] = [
        .init("vxlan", .proto, "VXLAN") { p, f in header(p, .vxlan).map { f(.bytes($0.base)) } ?? false },
        .init("vxlan.flags", .unsigned, "VXLAN flags (the first 16 bits; 0x0800: VNI valid)", bits: 16, hex: 4) { p, f in
            header(p, .vxlan).flatMap { $0.u16(at: 0) }.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("vxlan.vni", .unsigned, "VXLAN Network Identifier", bits: 24) { p, f in
            header(p, .vxlan) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
        .init("geneve", .proto, "Geneve") { p, f in header(p, .geneve).map { f(.bytes($0.base)) } ?? false },
        .init("geneve.vni", .unsigned, "Geneve Virtual Network Identifier", bits: 24, hex: 6) { p, f in
            header(p, .geneve) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
        .init("geneve.proto_type", .unsigned, "Geneve payload protocol type (EtherType; 0x6558 Ethernet)", bits: 16, hex: 4) { p, f in
            header(p, .geneve).flatMap { $0.u16(at: 2) }.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre", .proto, "GRE") { p, f in header(p, .gre).map { f(.bytes($0.base)) } ?? false },
        .init("gre.proto", .unsigned, "GRE payload protocol type (EtherType)", bits: 16, hex: 4) { p, f in
            header(p, .gre).flatMap { $0.u16(at: 2) }.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre.key", .unsigned, "GRE key (RFC 2890)", bits: 32, hex: 8) { p, f in
            header(p, .gre) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
    ]
}
