import KnetcapWire

/// Overlay tunnel headers (`vxlan.*` RFC 7348, `geneve.*` RFC 8926, `gre.*` RFC 2784/2890),
/// read from `Packet.tunnel` (the outermost tunnel). The outer IP and UDP layers are further
/// occurrences of `ip.*`/`ipv6.*`/`udp.*` (`IPv4Fields.each` and friends), as in tshark.
enum TunnelFields {
    static func header(_ p: Packet, _ kind: Tunnel.Kind) -> ByteView? {
        guard let t = p.tunnel, t.kind == kind else { return nil }
        return t.header
    }

    /// The GRE header: a tunnel's, or one whose payload knetcap does not follow (`Packet.gre`:
    /// PPTP's enhanced GRE).
    static func gre(_ p: Packet) -> ByteView? { header(p, .gre) ?? p.gre.map { $0.bytes.prefix($0.headerLength) } }

    /// gre_typevals names of the payload types knetcap reads (packet-gre.c).
    static let greTypes: [UInt16: String] = [0x0800: "IP", 0x86dd: "IPv6", 0x6558: "Transparent Ethernet bridging", 0x880b: "PPP"]

    /// `0x` and `digits` lower-case hex digits.
    static func hex(_ v: UInt32, _ digits: Int) -> String {
        let h = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - h.count)) + h
    }

    static let table: [FieldDescriptor] = [
        .init("vxlan", .proto, "VXLAN", textIsName: true) { p, f in header(p, .vxlan).map { f(.bytes($0.base)) } ?? false },
        .init("vxlan.flags", .unsigned, "VXLAN flags (the first 16 bits; 0x0800: VNI valid)", bits: 16, hex: 4) { p, f in
            header(p, .vxlan).flatMap { $0.u16(at: 0) }.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("vxlan.vni", .unsigned, "VXLAN Network Identifier", bits: 24) { p, f in
            header(p, .vxlan) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
        // packet-geneve.c: `Generic Network Virtualization Encapsulation, VNI: 0x0004d2`.
        .init("geneve", .proto, "Geneve", text: { p, f in
            header(p, .geneve) != nil ? p.tunnel?.vni.map { f("Generic Network Virtualization Encapsulation, VNI: " + hex($0, 6)) } ?? false : false
        }) { p, f in header(p, .geneve).map { f(.bytes($0.base)) } ?? false },
        .init("geneve.vni", .unsigned, "Geneve Virtual Network Identifier", bits: 24, hex: 6) { p, f in
            header(p, .geneve) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
        .init("geneve.proto_type", .unsigned, "Geneve payload protocol type (EtherType; 0x6558 Ethernet)", bits: 16, hex: 4) { p, f in
            header(p, .geneve).flatMap { $0.u16(at: 2) }.map { f(.uint(UInt64($0))) } ?? false
        },
        // packet-gre.c: `Generic Routing Encapsulation (IP)`, the payload type's name in its gre_typevals.
        .init("gre", .proto, "GRE", text: { p, f in
            guard let type = gre(p).flatMap({ $0.u16(at: 2) }), let name = greTypes[type] else { return false }
            return f("Generic Routing Encapsulation (\(name))")
        }) { p, f in gre(p).map { f(.bytes($0.base)) } ?? false },
        .init("gre.proto", .unsigned, "GRE payload protocol type (EtherType; 0x880b PPP in PPTP)", bits: 16, hex: 4) { p, f in
            gre(p).flatMap { $0.u16(at: 2) }.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre.key", .unsigned, "GRE key (RFC 2890)", bits: 32, hex: 8) { p, f in
            if let g = p.gre { return g.key.map { f(.uint(UInt64($0))) } ?? false }
            return header(p, .gre) != nil ? p.tunnel?.vni.map { f(.uint(UInt64($0))) } ?? false : false
        },
        // PPTP's enhanced GRE (RFC 2637 §4.1; packet-gre.c names).
        .init("gre.key.payload_length", .unsigned, "Enhanced GRE payload length (PPTP)", bits: 16) { p, f in
            p.gre?.payloadLength.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre.key.call_id", .unsigned, "Enhanced GRE call ID (PPTP)", bits: 16) { p, f in
            p.gre?.callID.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre.sequence_number", .unsigned, "GRE sequence number (RFC 2890; PPTP)", bits: 32) { p, f in
            (p.gre.map { $0.sequenceNumber } ?? header(p, .gre).flatMap { h in (try? GREView(h))?.sequenceNumber }).map { f(.uint(UInt64($0))) } ?? false
        },
        .init("gre.ack_number", .unsigned, "Enhanced GRE acknowledgment number (PPTP)", bits: 32) { p, f in
            p.gre?.acknowledgmentNumber.map { f(.uint(UInt64($0))) } ?? false
        },
    ]
}
