import KnetcapWire

/// IPv4 (`ip.*`, RFC 791).
enum IPv4Fields {
    /// The JSON writes the fragment fields for fragments only; Wireshark has them on every IPv4 packet.
    static let fragmentsOnly: @Sendable (Packet) -> Bool = { $0.ipv4?.isFragment == true }

    static let table: [FieldDescriptor] = [
        .init("ip", .proto, "IPv4") { p, f in p.ipv4.map { f(.bytes($0.bytes.prefix($0.totalLength).base)) } ?? false },
        .init("ip.src", .address, "IPv4 source") { p, f in p.ipv4.map { f(.ip($0.source)) } ?? false },
        .init("ip.dst", .address, "IPv4 destination") { p, f in p.ipv4.map { f(.ip($0.destination)) } ?? false },
        .init("ip.addr", .address, "IPv4 source or destination", repeated: true, filterOnly: true) { p, f in
            p.ipv4.map { f(.ip($0.source)) || f(.ip($0.destination)) } ?? false
        },
        .init("ip.proto", .unsigned, "IPv4 protocol", bits: 8) { p, f in p.ipv4.map { f(.uint(UInt64($0.proto.rawValue))) } ?? false },
        .init("ip.ttl", .unsigned, "IPv4 time to live", bits: 8) { p, f in p.ipv4.map { f(.uint(UInt64($0.ttl))) } ?? false },
        .init("ip.len", .unsigned, "IPv4 total length", bits: 16) { p, f in p.ipv4.map { f(.uint(UInt64($0.totalLength))) } ?? false },
        .init("ip.id", .unsigned, "IPv4 identification", bits: 16) { p, f in p.ipv4.map { f(.uint(UInt64($0.identification))) } ?? false },
        .init("ip.flags", .unsigned, "IPv4 flags (reserved, DF, MF)", bits: 3) { p, f in
            p.ipv4.map { f(.uint(UInt64($0.flagsAndOffset >> 13))) } ?? false
        },
        .init("ip.flags.df", .boolean, "IPv4 don't fragment") { p, f in p.ipv4.map { f(.bool($0.dontFragment)) } ?? false },
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
