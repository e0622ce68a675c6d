import KnetcapWire

/// Ethernet II (`eth.*`) and 802.1Q tags (`vlan.*`).
enum EthernetFields {
    static let table: [FieldDescriptor] = [
        .init("eth", .proto, "Ethernet II") { p, f in p.ethernet.map { f(.bytes($0.bytes.base)) } ?? false },
        .init("eth.src", .ether, "Ethernet source") { p, f in p.ethernet.map { f(.ether($0.source.value)) } ?? false },
        .init("eth.dst", .ether, "Ethernet destination") { p, f in p.ethernet.map { f(.ether($0.destination.value)) } ?? false },
        .init("eth.addr", .ether, "Ethernet source or destination", repeated: true, filterOnly: true) { p, f in
            p.ethernet.map { f(.ether($0.source.value)) || f(.ether($0.destination.value)) } ?? false
        },
        .init("eth.type", .unsigned, "EtherType", bits: 16) { p, f in p.ethernet.map { f(.uint(UInt64($0.etherType.rawValue))) } ?? false },
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
