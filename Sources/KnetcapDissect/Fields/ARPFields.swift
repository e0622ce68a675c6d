import KnetcapWire

/// ARP (RFC 826): the protocol only (its bytes for contains/matches).
enum ARPFields {
    static let table: [FieldDescriptor] = [
        .init("arp", .proto, "ARP") { p, f in
            guard p.etherType == .arp else { return false }
            return f(.bytes((p.ethernet?.payload ?? p.cooked?.payload ?? p.bytes).base))
        },
    ]
}
