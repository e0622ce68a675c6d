import KnetcapWire

/// Ethernet II (`eth.*`) and 802.1Q tags (`vlan.*`).
enum EthernetFields {
    /// The frame's Ethernet header, then the one a VXLAN or Geneve tunnel carried: `body` until
    /// it returns true (in the order of the bytes, as tshark lists occurrences; JSON writes a
    /// single field's last occurrence).
    static func each(_ p: Packet, _ body: (EthernetView) -> Bool) -> Bool {
        if let e = p.ethernet, body(e) { return true }
        if let e = p.tunnel?.innerEthernet, body(e) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("eth", .proto, "Ethernet II") { p, f in each(p) { f(.bytes($0.bytes.base)) } },
        .init("eth.src", .ether, "Ethernet source") { p, f in each(p) { f(.ether($0.source.value)) } },
        .init("eth.dst", .ether, "Ethernet destination") { p, f in each(p) { f(.ether($0.destination.value)) } },
        // Destination first, as the header (and tshark) has them.
        .init("eth.addr", .ether, "Ethernet source or destination", repeated: true, filterOnly: true) { p, f in
            each(p) { f(.ether($0.destination.value)) || f(.ether($0.source.value)) }
        },
        .init("eth.type", .unsigned, "EtherType", bits: 16) { p, f in each(p) { f(.uint(UInt64($0.etherType.rawValue))) } },
        .init("vlan", .proto, "802.1Q VLAN tag") { p, f in
            guard let e = p.ethernet, e.vlanCount > 0 else { return false }
            return f(.bytes(e.bytes.suffix(from: 14).base))
        },
        .init("vlan.id", .unsigned, "802.1Q VLAN id", bits: 12, repeated: true) { p, f in
            guard let e = p.ethernet, e.vlanCount > 0 else { return false }
            return f(.uint(UInt64(e.vlanIDs.0))) || (e.vlanCount > 1 && f(.uint(UInt64(e.vlanIDs.1))))
        },
    ]
}
