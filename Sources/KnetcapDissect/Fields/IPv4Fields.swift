import KnetcapWire

/// IPv4 (`ip.*`, RFC 791).
enum IPv4Fields {
    /// The JSON writes the fragment fields for fragments only; Wireshark has them on every IPv4 packet.
    static let fragmentsOnly: @Sendable (Packet) -> Bool = { $0.ipv4?.isFragment == true }

    /// A tunnel's outer IPv4 header, the ones between, the packet's own, then the one an ICMP
    /// error quotes (`ICMPQuote`): `body` until it returns true. Outer first, in the order of
    /// the bytes, as tshark lists occurrences (`-T fields` prints `10.77.0.2,10.244.0.2`; for
    /// an ICMP error `10.88.1.1,10.88.1.2`, the router, then the quoted sender); JSON writes a
    /// single field's last occurrence (the packet's own, or the quoted header's).
    static func each(_ p: Packet, _ body: (IPv4View) -> Bool) -> Bool {
        if !p.hasRareParts { if let ip = p.ipv4 { return body(ip) }; return false }
        if let ip = p.tunnel?.ipv4, body(ip) { return true }
        for case .v4(let ip) in p.tunnel?.middle ?? [] where body(ip) { return true }
        if let ip = p.ipv4, body(ip) { return true }
        if p.icmp != nil, let ip = p.icmpQuote?.ipv4, body(ip) { return true }
        return false
    }

    /// An IPv6 header under EtherType IPv4 (`Packet.ipv6UnderIPv4`): tshark's `ip` protocol
    /// item with no address (`-e ip` prints `ip`), and no other `ip.*` field.
    static func bogusVersion(_ p: Packet) -> IPv6View? { p.ipv4 == nil && p.etherType == .ipv4 ? p.ipv6UnderIPv4 : nil }

    static let table: [FieldDescriptor] = [
        // packet-ip.c: `Internet Protocol Version 4, Src: 10.77.0.2, Dst: 10.77.0.3`.
        .init("ip", .proto, "IPv4", text: { p, f in
            if each(p, { ip in f("Internet Protocol Version 4, Src: \(ip.source), Dst: \(ip.destination)") }) { return true }
            return bogusVersion(p) != nil && f("ip")
        }) { p, f in
            if each(p, { ip in f(.bytes(ip.bytes.prefix(ip.totalLength).base)) }) { return true }
            guard let x = bogusVersion(p) else { return false }
            return f(.bytes(x.bytes.prefix(x.end).base))
        },
        .init("ip.src", .address, "IPv4 source") { p, f in each(p) { ip in f(.ip(ip.source)) } },
        .init("ip.dst", .address, "IPv4 destination") { p, f in each(p) { ip in f(.ip(ip.destination)) } },
        .init("ip.addr", .address, "IPv4 source or destination", repeated: true, filterOnly: true) { p, f in
            each(p) { ip in f(.ip(ip.source)) || f(.ip(ip.destination)) }
        },
        .init("ip.proto", .unsigned, "IPv4 protocol", bits: 8) { p, f in each(p) { ip in f(.uint(UInt64(ip.proto.rawValue))) } },
        .init("ip.ttl", .unsigned, "IPv4 time to live", bits: 8) { p, f in each(p) { ip in f(.uint(UInt64(ip.ttl))) } },
        .init("ip.len", .unsigned, "IPv4 total length", bits: 16) { p, f in each(p) { ip in f(.uint(UInt64(ip.totalLength))) } },
        .init("ip.id", .unsigned, "IPv4 identification", bits: 16, hex: 4) { p, f in each(p) { ip in f(.uint(UInt64(ip.identification))) } },
        .init("ip.flags", .unsigned, "IPv4 flags (reserved, DF, MF)", bits: 3, hex: 2) { p, f in
            each(p) { ip in f(.uint(UInt64(ip.flagsAndOffset >> 13))) }
        },
        .init("ip.flags.df", .boolean, "IPv4 don't fragment") { p, f in each(p) { ip in f(.bool(ip.dontFragment)) } },
        .init("ip.flags.mf", .boolean, "IPv4 more fragments",
              json: { p, f in fragmentsOnly(p) && f(.bool(p.ipv4?.moreFragments ?? false)) }) { p, f in
            each(p) { ip in f(.bool(ip.moreFragments)) }
        },
        // In 8-byte units, as on the wire and as tshark 4.0 shows it (185 for byte 1480).
        .init("ip.frag_offset", .unsigned, "IPv4 fragment offset, in 8-byte units (as on the wire)", bits: 13,
              json: { p, f in fragmentsOnly(p) && f(.uint(UInt64((p.ipv4?.fragmentOffset ?? 0) / 8))) }) { p, f in
            each(p) { ip in f(.uint(UInt64(ip.fragmentOffset / 8))) }
        },
        .init("ip.fragment", .unsigned, "IPv4 fragments of the datagram this frame completed (frame numbers)", bits: 32, repeated: true) { p, f in
            p.reassembled(v6: false).map { r in r.frames.contains { f(.uint(UInt64($0))) } } ?? false
        },
        .init("ip.fragment.count", .unsigned, "IPv4 fragment count of the datagram this frame completed", bits: 32) { p, f in
            p.reassembled(v6: false).map { f(.uint(UInt64($0.frames.count))) } ?? false
        },
        .init("ip.reassembled.length", .unsigned, "IPv4 reassembled payload length, bytes", bits: 32) { p, f in
            p.reassembled(v6: false).map { f(.uint(UInt64($0.length))) } ?? false
        },
    ]
}
