import KnetcapWire

/// Linux cooked capture, SLL and SLL2 (`sll.*`), the link type of `-i any`.
enum LinuxCookedFields {
    static let table: [FieldDescriptor] = [
        // packet-sll.c: `Linux cooked capture v1` / `v2`.
        .init("sll", .proto, "Linux cooked capture (SLL, SLL2)",
              text: { p, f in p.cooked.map { f($0.version == .v2 ? "Linux cooked capture v2" : "Linux cooked capture v1") } ?? false }) { p, f in p.cooked.map { f(.bytes($0.bytes.base)) } ?? false },
        .init("sll.pkttype", .unsigned, "Linux cooked packet type (0 in, 4 out)", bits: 16) { p, f in
            p.cooked.map { f(.uint(UInt64($0.packetType))) } ?? false
        },
        .init("sll.ifindex", .unsigned, "Linux cooked (SLL2) interface index", bits: 32) { p, f in
            p.cooked.map { $0.version == .v2 && f(.uint(UInt64($0.interfaceIndex))) } ?? false
        },
    ]
}
