import KnetcapWire

/// UDP (`udp.*`, RFC 768).
enum UDPFields {
    /// A tunnel's outer UDP header, the packet's own, then the one an ICMP error quotes
    /// (`ICMPQuote`): `body` until it returns true (in the order of the bytes, as tshark lists
    /// occurrences; JSON writes a single field's last occurrence).
    static func each(_ p: Packet, _ body: (UDPView) -> Bool) -> Bool {
        if !p.hasRareParts { if let x = p.udp { return body(x) }; return false }
        if let x = p.tunnel?.udp, body(x) { return true }
        if let x = p.udp, body(x) { return true }
        if p.icmp != nil, let x = p.icmpQuote?.udp, body(x) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        // packet-udp.c: `User Datagram Protocol, Src Port: 53, Dst Port: 40000`.
        .init("udp", .proto, "UDP (header and data)",
              text: { p, f in each(p) { x in f("User Datagram Protocol, Src Port: \(x.sourcePort), Dst Port: \(x.destinationPort)") } }) { p, f in each(p) { x in f(.bytes(x.bytes.base)) } },
        .init("udp.srcport", .unsigned, "UDP source port", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.sourcePort))) } },
        .init("udp.dstport", .unsigned, "UDP destination port", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.destinationPort))) } },
        .init("udp.port", .unsigned, "UDP source or destination port", bits: 16, repeated: true, filterOnly: true) { p, f in
            each(p) { x in f(.uint(UInt64(x.sourcePort))) || f(.uint(UInt64(x.destinationPort))) }
        },
        .init("udp.length", .unsigned, "UDP length field", bits: 16) { p, f in each(p) { x in f(.uint(UInt64(x.length))) } },
    ]
}
