import KnetcapWire

/// ARP (RFC 826): the protocol only (its bytes for contains/matches).
enum ARPFields {
    /// The ARP tree line (packet-arp.c, dissect_arp): `Address Resolution Protocol (request)`,
    /// `(reply)`; a request for the sender's own address with no target hardware address an
    /// `(ARP Announcement)`, from 0.0.0.0 an `(ARP Probe)`; other gratuitous ones (sender and
    /// target address the same) `(request/gratuitous ARP)`, `(reply/gratuitous ARP)`; RARP and
    /// InARP operations by their op_vals names (`(reverse request)`).
    /// Ethernet and IPv4 addresses only (hardware length 6, protocol length 4).
    static let text: ProtocolTextReader = { p, f in
        guard p.etherType == .arp else { return false }
        let a = p.ethernet?.payload ?? p.cooked?.payload ?? p.bytes
        guard a.count >= 28, a.u8(at: 4) == 6, a.u8(at: 5) == 4, let op = a.u16(at: 6), let spa = a.u32(at: 14), let tpa = a.u32(at: 24),
              let thaHigh = a.u16(at: 18), let thaLow = a.u32(at: 20) else { return false }
        switch op {
        case 1, 2: break
        case 3: return f("Address Resolution Protocol (reverse request)")  // op_vals
        case 4: return f("Address Resolution Protocol (reverse reply)")
        case 8: return f("Address Resolution Protocol (inverse request)")
        case 9: return f("Address Resolution Protocol (inverse reply)")
        default: return false
        }
        let opName = op == 1 ? "request" : "reply"
        let thaZero = thaHigh == 0 && thaLow == 0
        if op == 1 && thaZero && spa == 0 { return f("Address Resolution Protocol (ARP Probe)") }
        if op == 1 && thaZero && spa == tpa { return f("Address Resolution Protocol (ARP Announcement)") }
        return f("Address Resolution Protocol (\(opName)\(spa == tpa ? "/gratuitous ARP" : ""))")
    }

    static let table: [FieldDescriptor] = [
        .init("arp", .proto, "ARP", text: text) { p, f in
            guard p.etherType == .arp else { return false }
            return f(.bytes((p.ethernet?.payload ?? p.cooked?.payload ?? p.bytes).base))
        },
    ]
}
