import KnetcapWire

/// IPv6 (`ipv6.*`, RFC 8200).
enum IPv6Fields {
    /// A tunnel's outer IPv6 header, the ones between, the packet's own (or an IPv6 header
    /// under EtherType IPv4, `Packet.ipv6UnderIPv4`), then the one an ICMPv6 error quotes
    /// (`ICMPQuote`): `body` until it returns true (in the order of the bytes, as tshark lists
    /// occurrences; JSON writes a single field's last occurrence).
    static func each(_ p: Packet, _ body: (IPv6View) -> Bool) -> Bool {
        if !p.hasRareParts { if let x = p.ipv6 { return body(x) }; return false }
        if let x = p.tunnel?.ipv6, body(x) { return true }
        for case .v6(let x) in p.tunnel?.middle ?? [] where body(x) { return true }
        if let x = p.ipv6, body(x) { return true }
        if let x = IPv4Fields.bogusVersion(p), body(x) { return true }
        if p.icmp != nil, let x = p.icmpQuote?.ipv6, body(x) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        // packet-ipv6.c: `Internet Protocol Version 6, Src: fd00::1, Dst: fd00::2`.
        .init("ipv6", .proto, "IPv6", text: { p, f in each(p) { x in f("Internet Protocol Version 6, Src: \(x.source), Dst: \(x.destination)") } }) { p, f in each(p) { x in f(.bytes(x.bytes.prefix(x.end).base)) } },
        .init("ipv6.src", .ipv6, "IPv6 source") { p, f in each(p) { x in f(.ip(x.source)) } },
        .init("ipv6.dst", .ipv6, "IPv6 destination") { p, f in each(p) { x in f(.ip(x.destination)) } },
        .init("ipv6.addr", .ipv6, "IPv6 source or destination", repeated: true, filterOnly: true) { p, f in
            each(p) { x in f(.ip(x.source)) || f(.ip(x.destination)) }
        },
        .init("ipv6.nxt", .unsigned, "IPv6 next header", bits: 8) { p, f in each(p) { x in f(.uint(UInt64(x.nextHeader.rawValue))) } },
        .init("ipv6.hlim", .unsigned, "IPv6 hop limit", bits: 8) { p, f in each(p) { x in f(.uint(UInt64(x.hopLimit))) } },
        .init("ipv6.plen", .unsigned, "IPv6 Payload Length field (0 for a jumbogram)", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.payloadLengthField))) } },
        .init("ipv6.fraghdr.offset", .unsigned, "IPv6 Fragment header offset, in 8-byte units (as on the wire)", bits: 13) { p, f in
            p.ipv6.flatMap { $0.hasFragmentHeader ? f(.uint(UInt64($0.fragmentOffset / 8))) : nil } ?? false
        },
        .init("ipv6.fraghdr.more", .boolean, "IPv6 Fragment header M flag") { p, f in
            p.ipv6.flatMap { $0.hasFragmentHeader ? f(.bool($0.moreFragments)) : nil } ?? false
        },
        .init("ipv6.fraghdr.ident", .unsigned, "IPv6 Fragment header identification", bits: 32, hex: 8) { p, f in
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
