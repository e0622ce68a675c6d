import KnetcapWire

/// IPv6 (`ipv6.*`, RFC 8200).
enum IPv6Fields {
    static let table: [FieldDescriptor] = [
        .init("ipv6", .proto, "IPv6") { p, f in p.ipv6.map { f(.bytes($0.bytes.prefix($0.end).base)) } ?? false },
        .init("ipv6.src", .ipv6, "IPv6 source") { p, f in p.ipv6.map { f(.ip($0.source)) } ?? false },
        .init("ipv6.dst", .ipv6, "IPv6 destination") { p, f in p.ipv6.map { f(.ip($0.destination)) } ?? false },
        .init("ipv6.addr", .ipv6, "IPv6 source or destination", repeated: true, filterOnly: true) { p, f in
            p.ipv6.map { f(.ip($0.source)) || f(.ip($0.destination)) } ?? false
        },
        .init("ipv6.nxt", .unsigned, "IPv6 next header", bits: 8) { p, f in p.ipv6.map { f(.uint(UInt64($0.nextHeader.rawValue))) } ?? false },
        .init("ipv6.hlim", .unsigned, "IPv6 hop limit", bits: 8) { p, f in p.ipv6.map { f(.uint(UInt64($0.hopLimit))) } ?? false },
        .init("ipv6.plen", .unsigned, "IPv6 payload length", bits: 32) { p, f in p.ipv6.map { f(.uint(UInt64($0.payloadLength))) } ?? false },
        .init("ipv6.fraghdr.offset", .unsigned, "IPv6 Fragment header offset, in 8-byte units (as on the wire)", bits: 13) { p, f in
            p.ipv6.flatMap { $0.hasFragmentHeader ? f(.uint(UInt64($0.fragmentOffset / 8))) : nil } ?? false
        },
        .init("ipv6.fraghdr.more", .boolean, "IPv6 Fragment header M flag") { p, f in
            p.ipv6.flatMap { $0.hasFragmentHeader ? f(.bool($0.moreFragments)) : nil } ?? false
        },
        .init("ipv6.fraghdr.ident", .unsigned, "IPv6 Fragment header identification", bits: 32) { p, f in
            p.ipv6.flatMap { $0.hasFragmentHeader ? f(.uint(UInt64($0.fragmentID))) : nil } ?? false
        },
        .init("ipv6.fragment", .unsigned, "IPv6 fragments of the datagram this frame completed (frame numbers)", bits: 32, repeated: true) { p, f in
            p.reassembled(v6: true).map { r in r.frames.contains { f(.uint(UInt64($0))) } } ?? false
        },
        .init("ipv6.fragment.count", .unsigned, "IPv6 fragment count of the datagram this frame completed", bits: 32) { p, f in
            p.reassembled(v6: true).map { f(.uint(UInt64($0.frames.count))) } ?? false
        },
        .init("ipv6.reassembled.length", .unsigned, "IPv6 reassembled payload length, bytes", bits: 32) { p, f in
            p.reassembled(v6: true).map { f(.uint(UInt64($0.length))) } ?? false
        },
    ]
}
