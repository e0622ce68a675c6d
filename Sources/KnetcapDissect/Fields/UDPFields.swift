import KnetcapWire

/// UDP (`udp.*`, RFC 768).
enum UDPFields {
    /// The packet's UDP header, then a tunnel's outer one: `body` until it returns true (the
    /// inner first, so JSON, which writes a field's first occurrence, shows the packet's own).
    static func each(_ p: Packet, _ body: (UDPView) -> Bool) -> Bool {
        if let x = p.udp, body(x) { return true }
        if let x = p.tunnel?.udp, body(x) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("udp", .proto, "UDP (header and data)") { p, f in each(p) { x in f(.bytes(x.bytes.base)) } },
        .init("udp.srcport", .unsigned, "UDP source port", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.sourcePort))) } },
        .init("udp.dstport", .unsigned, "UDP destination port", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.destinationPort))) } },
        .init("udp.port", .unsigned, "UDP source or destination port", bits: 16, repeated: true, filterOnly: true) { p, f in
            each(p) { x in f(.uint(UInt64(x.sourcePort))) || f(.uint(UInt64(x.destinationPort))) }
        },
        .init("udp.length", .unsigned, "UDP length field", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.length))) } },
    ]
}
