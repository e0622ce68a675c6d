import KnetcapWire

/// ICMP (`icmp.*`, RFC 792) and ICMPv6 (`icmpv6.*`, RFC 4443).
enum ICMPFields {
    /// The packet's own ICMP (`v6`: ICMPv6) message, then one its error quotes (`ICMPQuote`:
    /// an echo request whose TTL ran out, `icmp.type` `11,8` as in tshark), until `body`
    /// returns true.
    static func each(_ p: Packet, v6: Bool, _ body: (ICMPView) -> Bool) -> Bool {
        guard let m = p.icmp else { return false }
        if m.isV6 == v6, body(m) { return true }
        if m.isError, let q = p.icmpQuote?.icmp, q.isV6 == v6, body(q) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("icmp", .proto, "ICMP", textIsName: true) { p, f in each(p, v6: false) { f(.bytes($0.bytes.base)) } },
        .init("icmp.type", .unsigned, "ICMP type", bits: 8) { p, f in each(p, v6: false) { f(.uint(UInt64($0.type))) } },
        .init("icmp.code", .unsigned, "ICMP code", bits: 8) { p, f in each(p, v6: false) { f(.uint(UInt64($0.code))) } },
        .init("icmpv6", .proto, "ICMPv6", textIsName: true) { p, f in each(p, v6: true) { f(.bytes($0.bytes.base)) } },
        .init("icmpv6.type", .unsigned, "ICMPv6 type", bits: 8) { p, f in each(p, v6: true) { f(.uint(UInt64($0.type))) } },
        .init("icmpv6.code", .unsigned, "ICMPv6 code", bits: 8) { p, f in each(p, v6: true) { f(.uint(UInt64($0.code))) } },
    ]
}
