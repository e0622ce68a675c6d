import KnetcapWire

/// IPv4 (`ip.*`, RFC 791).
enum IPv4Fields {
    /// The JSON writes the fragment fields for fragments only; Wireshark has them on every IPv4 packet.
    static let fragmentsOnly: @Sendable (Packet) -> Bool = { $0.ipv4?.isFragment == true }

    /// The packet's IPv4 header, then a tunnel's outer one: `body` until it returns true.
    /// JSON writes the first occurrence of a field, so the inner (the packet's own) is first.
    static func each(_ p: Packet, _ body: (IPv4View) -> Bool) -> Bool {
        if let ip = p.ipv4, body(ip) { return true }
        for case .v4(let ip) in p.tunnel?.middle.reversed() ?? [] where body(ip) { return true }
        if let ip = p.tunnel?.ipv4, body(ip) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("ip", .proto, "IPv4") { p, f in each(p) { ip in f(.bytes(ip.bytes.prefix(ip.totalLength).base)) } },
        .init("ip.src", .address, "IPv4 source") { p, f in each(p) { ip in f(.ip(ip.source)) } },
        .init("ip.dst", .address, "IPv4 destination") { p, f in each(p) { ip in f(.ip(ip.destination)) } },
        .init("ip.addr", .address, "IPv4 source or destination", repeated: true, filterOnly: true) { p, f in
            each(p) { ip in f(.ip(ip.source)) || f(.ip(ip.destination)) }
        },
        .init("ip.proto", .unsigned, "IPv4 protocol", bits: 8) { p, f in each(p) { ip in f(.uint(UInt64(ip.proto.rawValue))) } },
        .init("ip.ttl", .unsigned, "IPv4 time to live", bits: 8) { p, f in each(p) { ip in f(.uint(UInt64(ip.ttl))) } },
        .init("ip.len", .unsigned, "IPv4 total length", bits: 16) { p, f in each(p) { ip in f(.uint(UInt64(ip.totalLength))) } },
        .init("ip.id", .unsigned, "IPv4 identification", bits: 16) { p, f in each(p) { ip in f(.uint(UInt64(ip.identification))) } },
        .init("ip.flags", .unsigned, "IPv4 flags (reserved, DF, MF)", bits: 3) { p, f in
            each(p) { ip in f(.uint(UInt64(ip.flagsAndOffset >> 13))) }
        },
        .init("ip.flags.df", .boolean, "IPv4 don't fragment") { p, f in each(p) { ip in f(.bool(ip.dontFragment)) } },
        .init("ip.flags.mf", .boolean, "IPv4 more fragments",
              json: { p, f in fragmentsOnly(p) && f(.bool(p.ipv4?.moreFragments ?? false)) }) { p, f in
            p.ipv4.map { f(.bool($0.moreFragments)) } ?? false
        },
        .init("ip.frag_offset", .unsigned, "IPv4 fragment offset, bytes", bits: 16,
              json: { p, f in fragmentsOnly(p) && f(.uint(UInt64(p.ipv4?.fragmentOffset ?? 0))) }) { p, f in
            p.ipv4.map { f(.uint(UInt64($0.fragmentOffset))) } ?? false
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
