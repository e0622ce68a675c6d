import KnetcapWire

/// ICMP (`icmp.*`, RFC 792) and ICMPv6 (`icmpv6.*`, RFC 4443).
enum ICMPFields {
    static let table: [FieldDescriptor] = [
        .init("icmp", .proto, "ICMP", textIsName: true) { p, f in p.icmp.map { !$0.isV6 && f(.bytes($0.bytes.base)) } ?? false },
        .init("icmp.type", .unsigned, "ICMP type", bits: 8) { p, f in p.icmp.map { !$0.isV6 && f(.uint(UInt64($0.type))) } ?? false },
        .init("icmp.code", .unsigned, "ICMP code", bits: 8) { p, f in p.icmp.map { !$0.isV6 && f(.uint(UInt64($0.code))) } ?? false },
        .init("icmpv6", .proto, "ICMPv6", textIsName: true) { p, f in p.icmp.map { $0.isV6 && f(.bytes($0.bytes.base)) } ?? false },
        .init("icmpv6.type", .unsigned, "ICMPv6 type", bits: 8) { p, f in p.icmp.map { $0.isV6 && f(.uint(UInt64($0.type))) } ?? false },
        .init("icmpv6.code", .unsigned, "ICMPv6 code", bits: 8) { p, f in p.icmp.map { $0.isV6 && f(.uint(UInt64($0.code))) } ?? false },
    ]
}
