import KnetcapWire

/// DNS (`dns.*`, RFC 1035 §4.1, EDNS0 RFC 6891), also for mDNS (5353) and LLMNR (5355), which
/// Wireshark dissects with the `dns.*` fields.
enum DNSFields {
    /// Which protocol name Wireshark gives a DNS message: by the lower of the two ports first
    /// (`dns` on 53, `mdns` on 5353, `llmnr` on 5355), as its UDP "try low port first".
    enum Flavor { case dns, mdns, llmnr }

    static func flavor(_ p: Packet) -> Flavor? { flavor(p.sourcePort, p.destinationPort) }

    static func flavor(_ a: UInt16?, _ b: UInt16?) -> Flavor? {
        guard let a, let b else { return nil }
        for port in [min(a, b), max(a, b)] {
            switch port {
            case 53: return .dns
            case 5353: return .mdns
            case 5355: return .llmnr
            default: continue
            }
        }
        return .dns  // another port: a --dns-port or DNS recognised by content
    }

    /// Each DNS message of the frame in order (over TCP a segment may complete several;
    /// tshark gives each field one occurrence per message), then the one an ICMP error quotes
    /// (`ICMPQuote`), until `body` returns true.
    static func each(_ p: Packet, _ body: (DNSView) -> Bool) -> Bool {
        if !p.hasRareParts { if let d = p.dns { return body(d) }; return false }
        if let first = p.dns {
            if body(first) { return true }
            for d in p.moreDNS where body(d) { return true }
        }
        if p.icmp != nil, let d = p.icmpQuote?.dns, body(d) { return true }
        return false
    }

    /// `each`, of the messages Wireshark gives the protocol name of `want` (by their ports).
    static func each(_ p: Packet, _ want: Flavor, _ body: (DNSView) -> Bool) -> Bool {
        if let first = p.dns, flavor(p) == want {
            if body(first) { return true }
            for d in p.moreDNS where body(d) { return true }
        }
        if p.icmp != nil, let q = p.icmpQuote, let d = q.dns, let u = q.udp, flavor(u.sourcePort, u.destinationPort) == want, body(d) {
            return true
        }
        return false
    }

    /// The tree line of each message (packet-dns.c, dissect_dns_common): `Domain Name System
    /// (query)`, `(response)`; `Multicast Domain Name System`, `Link-local Multicast Name
    /// Resolution` for mDNS and LLMNR.
    static func text(_ want: Flavor) -> ProtocolTextReader {
        let name = want == .mdns ? "Multicast Domain Name System" : want == .llmnr ? "Link-local Multicast Name Resolution" : "Domain Name System"
        return { p, f in each(p, want) { d in f(name + (d.isResponse ? " (response)" : " (query)")) } }
    }

    static func proto(_ want: Flavor) -> FieldReader {
        { p, f in each(p, want) { d in f(.bytes(d.bytes.base)) } }
    }

    /// Resource records of all sections, in order (OPT included unless `skipOPT`; the body
    /// decides), of a message that may hold a record of type `only` (`DNSView.mayHold`) when
    /// the body reads only that type.
    static func record(skipOPT: Bool = false, only: DNSType? = nil,
                       _ body: @escaping @Sendable (DNSView, DNSRecord, (FieldValue) -> Bool) -> Bool) -> FieldReader {
        { p, f in
            each(p) { d in
                if let only, !d.mayHold(only) { return false }
                var hit = false
                d.forEachRecord { r in
                    if skipOPT && r.type == .opt { return true }
                    hit = body(d, r, f)
                    return !hit
                }
                return hit
            }
        }
    }

    static func recordName(_ type: DNSType, skip: Int, minLength: Int = 0) -> FieldReader {
        record(only: type) { d, r, f in
            guard r.type == type, r.rdataLength >= minLength else { return false }
            return d.withName(at: r.rdataOffset + skip) { f(.bytes($0 ?? emptyBytes)) }
        }
    }

    /// A record's owner name; not an SRV record's, which tshark 4.0 gives as `dns.srv.service`,
    /// `.proto` and `.name` instead (packet-dns.c, add_rr_to_tree; `srvOwnerPart`).
    static let respName: @Sendable (DNSView, DNSRecord, (FieldValue) -> Bool) -> Bool = { d, r, f in
        r.type != .srv && d.withName(at: r.nameOffset) { f(.bytes($0 ?? emptyBytes)) }
    }

    /// Part `k` (0 service, 1 protocol, 2 the rest: the domain) of an SRV record's owner name
    /// `_service._proto.name` (RFC 2782), split at its first two dots as tshark 4.0 does
    /// (g_strsplit of the shown name into at most 3); none when the name has fewer parts.
    static func srvOwnerPart(_ k: Int) -> FieldReader {
        record(only: .srv) { d, r, f in
            guard r.type == .srv else { return false }
            return d.withName(at: r.nameOffset) { name in
                guard let name else { return k == 0 && f(.bytes(emptyBytes)) }
                var start = 0, part = 0
                for i in 0..<name.count where part < 2 && name[i] == 46 {
                    if part == k { return f(.bytes(UnsafeRawBufferPointer(rebasing: name[start..<i]))) }
                    part += 1
                    start = i + 1
                }
                return part == k && f(.bytes(UnsafeRawBufferPointer(rebasing: name[start...])))
            }
        }
    }
    /// A record's type, then (NSEC, NSEC3, CSYNC) the types its type bitmap lists: Wireshark
    /// adds those to `dns.resp.type` too (packet-dns.c, dissect_type_bitmap).
    static let respType: @Sendable (DNSView, DNSRecord, (FieldValue) -> Bool) -> Bool = { d, r, f in
        if f(.uint(UInt64(r.type.rawValue))) { return true }
        guard let start = typeBitmapStart(d, r) else { return false }
        return forEachBitmapType(d.bytes, from: start, to: r.rdataOffset + r.rdataLength) { f(.uint(UInt64($0))) }
    }

    /// Where a record's type bitmaps begin in the message, for the types that end with them:
    /// NSEC after its next domain name (RFC 4034 §4.1), NSEC3 after its hash fields (RFC 5155
    /// §3.2), CSYNC after its serial and flags (RFC 7477 §2.1); nil for other types or bad data.
    static func typeBitmapStart(_ d: DNSView, _ r: DNSRecord) -> Int? {
        let end = r.rdataOffset + r.rdataLength
        var pos: Int
        switch r.type.rawValue {
        case 47:  // NSEC
            guard let after = d.walkName(at: r.rdataOffset) else { return nil }
            pos = after
        case 50:  // NSEC3: algorithm, flags, iterations (2), salt length + salt, hash length + hash
            guard let saltLength = d.bytes.u8(at: r.rdataOffset + 4) else { return nil }
            let hashAt = r.rdataOffset + 5 + Int(saltLength)
            guard let hashLength = d.bytes.u8(at: hashAt) else { return nil }
            pos = hashAt + 1 + Int(hashLength)
        case 62:  // CSYNC: SOA serial (4), flags (2)
            pos = r.rdataOffset + 6
        default:
            return nil
        }
        return pos <= end ? pos : nil
    }

    /// Calls `body` with each type a type bitmap lists (RFC 4034 §4.1.2: window blocks of a
    /// window number, a length of 1-32 and that many bytes, most significant bit first), from
    /// `pos` to `end` (within `bytes`), until `body` returns true or a block is malformed.
    static func forEachBitmapType(_ bytes: ByteView, from pos: Int, to end: Int, _ body: (Int) -> Bool) -> Bool {
        var pos = pos
        while pos + 2 <= end, let window = bytes.u8(at: pos), let length = bytes.u8(at: pos + 1) {
            guard length >= 1, length <= 32, pos + 2 + Int(length) <= end else { return false }
            for i in 0..<Int(length) {
                guard let bits = bytes.u8(at: pos + 2 + i) else { return false }
                for bit in 0..<8 where bits & (0x80 >> bit) != 0 {
                    if body(Int(window) << 8 | i << 3 | bit) { return true }
                }
            }
            pos += 2 + Int(length)
        }
        return false
    }

    static let table: [FieldDescriptor] = [
        .init("dns", .proto, "DNS (port 53, a --dns-port, or recognised by content on another UDP port)", text: text(.dns), proto(.dns)),
        .init("mdns", .proto, "multicast DNS (port 5353); its fields are dns.*", text: text(.mdns), proto(.mdns)),
        .init("llmnr", .proto, "LLMNR (port 5355); its fields are dns.*", text: text(.llmnr), proto(.llmnr)),
        .init("dns.id", .unsigned, "DNS transaction id", bits: 16, hex: 4) { p, f in each(p) { d in f(.uint(UInt64(d.id))) } },
        .init("dns.flags.response", .boolean, "DNS response (QR)") { p, f in each(p) { d in f(.bool(d.isResponse)) } },
        .init("dns.flags.opcode", .unsigned, "DNS opcode", bits: 4) { p, f in each(p) { d in f(.uint(UInt64(d.opcode))) } },
        .init("dns.flags.truncated", .boolean, "DNS truncated (TC)") { p, f in each(p) { d in f(.bool(d.truncatedFlag)) } },
        .init("dns.flags.rcode", .unsigned, "DNS reply code (responses only)", bits: 4) { p, f in
            each(p) { d in d.isResponse && f(.uint(UInt64(d.rcode.rawValue))) }
        },
        .init("dns.count.queries", .unsigned, "DNS question count", bits: 16) { p, f in each(p) { d in f(.uint(UInt64(d.questionCount))) } },
        .init("dns.count.answers", .unsigned, "DNS answer count", bits: 16) { p, f in each(p) { d in f(.uint(UInt64(d.answerCount))) } },
        .init("dns.count.auth_rr", .unsigned, "DNS authority count", bits: 16) { p, f in
            each(p) { d in f(.uint(UInt64(d.authorityCount))) }
        },
        .init("dns.count.add_rr", .unsigned, "DNS additional count", bits: 16) { p, f in
            each(p) { d in f(.uint(UInt64(d.additionalCount))) }
        },
        .init("dns.qry.name", .string, "DNS query name", repeated: true) { p, f in
            each(p) { d in d.anyQuestionName { f(.bytes($0)) } }
        },
        .init("dns.qry.type", .unsigned, "DNS query type", bits: 16, repeated: true) { p, f in
            each(p) { d in
                var hit = false
                d.forEachQuestion { q in if !hit { hit = f(.uint(UInt64(q.type.rawValue))) } }
                return hit
            }
        },
        // Wireshark lists the OPT pseudo-record (RFC 6891) in dns.resp.name (`<Root>`) and
        // dns.resp.type (41), not in dns.resp.ttl; the JSON leaves it out of all three.
        .init("dns.resp.name", .string, "DNS record owner name", repeated: true,
              json: record(skipOPT: true, respName), record(respName)),
        .init("dns.resp.type", .unsigned, "DNS record type", bits: 16, repeated: true,
              // JSON: one per record, beside dns.resp.name (no OPT, no bitmap types).
              json: record(skipOPT: true) { _, r, f in f(.uint(UInt64(r.type.rawValue))) }, record(respType)),
        .init("dns.resp.ttl", .unsigned, "DNS record TTL, seconds", bits: 32, repeated: true,
              record { _, r, f in r.type != .opt && f(.uint(UInt64(r.ttl))) }),
        .init("dns.a", .address, "DNS A record address", repeated: true, record(only: .a) { d, r, f in
            guard r.type == .a, r.rdataLength == 4, let a = IPAddress(v4In: d.bytes, at: r.rdataOffset) else { return false }
            return f(.ip(a))
        }),
        .init("dns.aaaa", .ipv6, "DNS AAAA record address", repeated: true, record(only: .aaaa) { d, r, f in
            guard r.type == .aaaa, r.rdataLength == 16, let a = IPAddress(v6In: d.bytes, at: r.rdataOffset) else { return false }
            return f(.ip(a))
        }),
        .init("dns.cname", .string, "DNS CNAME target", repeated: true, recordName(.cname, skip: 0)),
        .init("dns.ptr.domain_name", .string, "DNS PTR target", repeated: true, recordName(.ptr, skip: 0)),
        .init("dns.ns", .string, "DNS NS target", repeated: true, recordName(.ns, skip: 0)),
        .init("dns.mx.mail_exchange", .string, "DNS MX exchange", repeated: true, recordName(.mx, skip: 2, minLength: 3)),
        .init("dns.srv.target", .string, "DNS SRV target", repeated: true, recordName(.srv, skip: 6, minLength: 7)),
        .init("dns.srv.service", .string, "DNS SRV owner name's service label (`_sftp-ssh`), not in dns.resp.name", repeated: true, srvOwnerPart(0)),
        .init("dns.srv.proto", .string, "DNS SRV owner name's protocol label (`_tcp`)", repeated: true, srvOwnerPart(1)),
        .init("dns.srv.name", .string, "DNS SRV owner name after its service and protocol labels", repeated: true, srvOwnerPart(2)),
        .init("dns.rr.udp_payload_size", .unsigned, "EDNS0 UDP payload size", bits: 16) { p, f in
            each(p) { d in
                guard d.mayHold(.opt) else { return false }
                var hit = false, seen = false
                d.forEachRecord { r in
                    guard r.type == .opt, !seen else { return true }
                    seen = true  // each message's first OPT record's size only
                    hit = f(.uint(UInt64(r.rrclass)))
                    return false
                }
                return hit
            }
        },
        .init("dns.time", .relativeTime, "seconds from the query to its first response (the query that opened the transaction: an unanswered repeat within 5 s of it is a retransmission, as tshark)",
              tracking: .dns) { p, f in p.dns != nil && p.tracked.dnsTime.map { f(.ns($0)) } ?? false },
    ]
}
