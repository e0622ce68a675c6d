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
    ]
}
