import KnetcapWire

/// UDP (`udp.*`, RFC 768).
enum UDPFields {
    static let table: [FieldDescriptor] = [
        .init("udp", .proto, "UDP (header and data)") { p, f in p.udp.map { f(.bytes($0.bytes.base)) } ?? false },
        .init("udp.srcport", .unsigned, "UDP source port", bits: 16) { p, f in p.udp.map { f(.uint(UInt64($0.sourcePort))) } ?? false },
        .init("udp.dstport", .unsigned, "UDP destination port", bits: 16) { p, f in p.udp.map { f(.uint(UInt64($0.destinationPort))) } ?? false },
        .init("udp.port", .unsigned, "UDP source or destination port", bits: 16, repeated: true, filterOnly: true) { p, f in
            p.udp.map { f(.uint(UInt64($0.sourcePort))) || f(.uint(UInt64($0.destinationPort))) } ?? false
        },
        .init("udp.length", .unsigned, "UDP length field", bits: 16) { p, f in p.udp.map { f(.uint(UInt64($0.length))) } ?? false },
    ]
}
