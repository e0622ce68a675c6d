import KnetcapWire

/// Ethernet II (`eth.*`) and 802.1Q tags (`vlan.*`).
enum EthernetFields {
    /// The frame's Ethernet header, then the one a VXLAN or Geneve tunnel carried: `body` until
    /// it returns true (in the order of the bytes, as tshark lists occurrences; JSON writes a
    /// single field's last occurrence).
    static func each(_ p: Packet, _ body: (EthernetView) -> Bool) -> Bool {
        if !p.hasRareParts { if let e = p.ethernet { return body(e) }; return false }
        if let e = p.ethernet, body(e) { return true }
        if let e = p.tunnel?.innerEthernet, body(e) { return true }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("eth", .proto, "Ethernet II", text: { p, f in each(p) { f(text($0)) } }) { p, f in each(p) { f(.bytes($0.bytes.base)) } },
        .init("eth.src", .ether, "Ethernet source") { p, f in each(p) { f(.ether($0.source.value)) } },
        .init("eth.dst", .ether, "Ethernet destination") { p, f in each(p) { f(.ether($0.destination.value)) } },
        // Destination first, as the header (and tshark) has them.
        .init("eth.addr", .ether, "Ethernet source or destination", repeated: true, filterOnly: true) { p, f in
            each(p) { f(.ether($0.destination.value)) || f(.ether($0.source.value)) }
        },
        // The header's own type field, as tshark has it: 0x8100 or 0x88a8 on a tagged frame.
        // IEEE 802.3 clause 3.2.6: a value of 1500 or less is the frame's length (802.3/LLC),
        // tshark's `eth.len` (packet-eth.c tests `<= IEEE_802_3_MAX_LEN`; above it, a type).
        .init("eth.type", .unsigned, "EtherType (the TPID of a tagged frame; none on an 802.3 frame)", bits: 16, hex: 4) { p, f in
            each(p) { $0.outerType.rawValue > 1500 && f(.uint(UInt64($0.outerType.rawValue))) }
        },
        .init("eth.len", .unsigned, "IEEE 802.3 length field (bytes of LLC data) of an 802.3 frame", bits: 16) { p, f in
            each(p) { $0.outerType.rawValue <= 1500 && f(.uint(UInt64($0.outerType.rawValue))) }
        },
        .init("vlan", .proto, "802.1Q VLAN tag", text: { p, f in
            // packet-vlan.c: `802.1Q Virtual LAN, PRI: 0, DEI: 0, ID: 10`.
            tags(p) { role, t in
                let tci = t.bytes.u16(at: 0) ?? 0
                return role == .vlan && f("802.1Q Virtual LAN, PRI: \(tci >> 13), DEI: \((tci >> 12) & 1), ID: \(tci & 0x0fff)")
            }
        }) { p, f in tags(p) { $0 == .vlan && f(.bytes($1.bytes.base)) } },
        .init("vlan.id", .unsigned, "802.1Q VLAN id", bits: 12, repeated: true) { p, f in
            tags(p) { $0 == .vlan && f(.uint(UInt64($1.id))) }
        },
        .init("ieee8021ad", .proto, "802.1ad service tag", text: { p, f in
            // packet-ieee8021ah.c: `IEEE 802.1ad, ID: 7`; a pair `IEEE 802.1ad, S-VID: 50, C-VID: 60`.
            var svid: UInt16 = 0
            return tags(p) { role, t in
                switch role {
                case .service: return f("IEEE 802.1ad, ID: \(t.id)")
                case .outerOfTwo: svid = t.id; return false
                case .innerOfTwo: return f("IEEE 802.1ad, S-VID: \(svid), C-VID: \(t.id)")
                case .vlan: return false
                }
            }
        }) { p, f in
            tags(p) { ($0 == .service || $0 == .outerOfTwo) && f(.bytes($1.bytes.base)) }
        },
        .init("ieee8021ad.id", .unsigned, "802.1ad VLAN id (a single 0x88a8 tag)", bits: 12, repeated: true) { p, f in
            tags(p) { $0 == .service && f(.uint(UInt64($1.id))) }
        },
        .init("ieee8021ad.svid", .unsigned, "802.1ad S-VLAN id (the first of two 0x88a8 tags)", bits: 12, repeated: true) { p, f in
            tags(p) { $0 == .outerOfTwo && f(.uint(UInt64($1.id))) }
        },
        .init("ieee8021ad.cvid", .unsigned, "802.1ad C-VLAN id (the second of two 0x88a8 tags)", bits: 12, repeated: true) { p, f in
            tags(p) { $0 == .innerOfTwo && f(.uint(UInt64($1.id))) }
        },
    ]

    /// The Ethernet tree line (packet-eth.c): `Ethernet II, Src: 02:00:00:00:00:01
    /// (02:00:00:00:00:01), Dst: Broadcast (ff:ff:ff:ff:ff:ff)`; a type field that is a length,
    /// `IEEE 802.3 Ethernet ` (tshark's trailing space). tshark names an address from
    /// Wireshark's manuf database (`Apple_8b:5c:aa`), which knetcap does not have: knetcap
    /// writes the address itself, right where the OUI is not listed (locally administered ones).
    static func text(_ e: EthernetView) -> String {
        if e.isLengthField { return "IEEE 802.3 Ethernet " }
        func name(_ m: MACAddress) -> String { m.value == 0xffff_ffff_ffff ? "Broadcast" : m.description }
        return "Ethernet II, Src: \(name(e.source)) (\(e.source)), Dst: \(name(e.destination)) (\(e.destination))"
    }

    /// Which protocol and field tshark 4.0 gives a tag to: TPID 0x8100 and 0x9100 (its
    /// `vlan.qinq_ethertype`) to `vlan`; 0x88a8 to `ieee8021ad`, whose `id` is a lone tag's and,
    /// where a 0x88a8 tag follows another, `svid` the first's and `cvid` the second's
    /// (packet-ieee8021ah.c reads the pair as one header).
    enum TagRole { case vlan, service, outerOfTwo, innerOfTwo }

    /// The tags of every Ethernet header (`each`), outermost first, with their roles.
    static func tags(_ p: Packet, _ body: (TagRole, (tpid: EtherType, id: UInt16, bytes: ByteView)) -> Bool) -> Bool {
        each(p) { e in
            var i = 0
            while i < e.vlanCount {
                let t = e.tag(i)
                if t.tpid != .qinq {
                    if body(.vlan, t) { return true }
                } else if i + 1 < e.vlanCount, e.tag(i + 1).tpid == .qinq {
                    if body(.outerOfTwo, t) || body(.innerOfTwo, e.tag(i + 1)) { return true }
                    i += 1
                } else if body(.service, t) { return true }
                i += 1
            }
            return false
        }
    }
}
