import KnetcapWire

/// TCP (`tcp.*`, RFC 9293; options RFC 7323, RFC 2018).
enum TCPFields {
    /// The packet's own TCP header, then the one an ICMP error quotes when its 20 fixed bytes
    /// were quoted (`ICMPQuote`; `nil` for the packet's own): `body` until it returns true, in
    /// the order tshark lists occurrences. For the options.
    static func each(_ p: Packet, _ body: (TCPView, ICMPQuote?) -> Bool) -> Bool {
        if let t = p.tcp, body(t, nil) { return true }
        if p.icmp != nil, let q = p.icmpQuote, let t = q.tcp, body(t, q) { return true }
        return false
    }

    /// `each`, with a quote of 4 TCP bytes or more (`ICMPQuote.tcpBytes`), as the bytes from
    /// the header's start: for the ports, and in an ICMP error the sequence number.
    static func eachStart(_ p: Packet, _ body: (ByteView, ICMPQuote?) -> Bool) -> Bool {
        if let t = p.tcp, body(t.bytes, nil) { return true }
        if p.icmp != nil, let q = p.icmpQuote, let h = q.tcpBytes, body(h, q) { return true }
        return false
    }

    /// The fixed header's numbers tshark shows (RFC 9293 §3.1, bytes 4..<16).
    struct Fixed {
        /// `flagBits`: the 12 bits after the data offset (`TCPView.flagBits`).
        var seq: UInt32, ack: UInt32, flagBits: UInt16, window: UInt16, headerLength: Int
        var flags: TCPFlags { TCPFlags(rawValue: flagBits & 0x01ff) }
        init(_ t: TCPView) { seq = t.sequence; ack = t.acknowledgment; flagBits = t.flagBits; window = t.window; headerLength = t.headerLength }
        /// From a quote's bytes: tshark reads them all, and shows them, once 16 are there.
        init?(quoted h: ByteView) {
            guard let s = h.u32(at: 4), let a = h.u32(at: 8), let f = h.u16(at: 12), let w = h.u16(at: 14), let o = h.u8(at: 12) else { return nil }
            seq = s; ack = a; flagBits = f & 0x0fff; window = w; headerLength = Int(o >> 4) * 4
        }
    }

    /// `each` for the fixed header's fields: the packet's own header, then a quote of 16 bytes
    /// or more (packet-tcp.c reads bytes 4..<16 before it adds any of them, so a shorter quote
    /// has none of them).
    static func eachFixed(_ p: Packet, _ body: (Fixed, ICMPQuote?) -> Bool) -> Bool {
        if let t = p.tcp, body(Fixed(t), nil) { return true }
        if p.icmp != nil, let q = p.icmpQuote, let h = q.tcpBytes, let x = Fixed(quoted: h), body(x, q) { return true }
        return false
    }

    static func flag(_ bit: TCPFlags) -> FieldReader {
        { p, f in eachFixed(p) { x, _ in f(.bool(x.flags.contains(bit))) } }
    }

    /// A quote's sequence number as tshark shows it: under IPv4 from 8 bytes (packet-tcp.c adds
    /// it early for a TCP header under IP under ICMP), else with the fixed header (16).
    static func seq(_ h: ByteView, _ q: ICMPQuote?) -> UInt32? {
        guard let q, q.ipv4 != nil || h.count >= 16 else { return nil }
        return h.u32(at: 4)
    }

    static func uint(_ v: UInt16?, _ f: (FieldValue) -> Bool) -> Bool { v.map { f(.uint(UInt64($0))) } ?? false }

    /// The bytes of a SACK-permitted option (RFC 2018 §2: kind 4, length 2), for its field.
    nonisolated(unsafe) static let sackPermittedOption: UnsafeRawBufferPointer = {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        b[0] = 4; b[1] = 2
        return UnsafeRawBufferPointer(b)
    }()

    static func option(_ pick: @escaping @Sendable (TCPOption) -> FieldValue?) -> FieldReader {
        { p, f in
            each(p) { t, _ in
                var hit = false
                t.forEachOption { o in if !hit, let v = pick(o) { hit = f(v) } }
                return hit
            }
        }
    }

    /// The TCP tree line (packet-tcp.c, dissect_tcp): `Transmission Control Protocol, Src Port:
    /// 48040, Dst Port: 8081, Seq: 0, Ack: 1, Len: 0`, the numbers relative to the connection's
    /// first (tshark's default analysis, as `tcp.seq`), `Ack` only with the ACK flag. In an
    /// ICMP error (`in_error_pkt`: no analysis, the segment length unknown) the numbers are
    /// the header's and there is no `Len`; a quote of fewer than 16 bytes has the ports only.
    static let text: ProtocolTextReader = { p, f in
        eachStart(p) { h, q in
            guard let sp = h.u16(at: 0), let dp = h.u16(at: 2) else { return false }
            var s = "Transmission Control Protocol, Src Port: \(sp), Dst Port: \(dp)"
            if q == nil, let t = p.tcp {
                s += ", Seq: \(p.tracked.tcpSeq ?? t.sequence)"
                if t.flags.contains(.ack) { s += ", Ack: \(p.tracked.tcpAck ?? t.acknowledgment)" }
                s += ", Len: \(p.tcpSegmentLength ?? 0)"
            } else if let x = Fixed(quoted: h) {
                s += ", Seq: \(x.seq)"
                if x.flags.contains(.ack) { s += ", Ack: \(x.ack)" }
            }
            return f(s)
        }
    }

    static let table: [FieldDescriptor] = [
        .init("tcp", .proto, "TCP (header and data)", tracking: .tcp, text: text) { p, f in eachStart(p) { h, _ in f(.bytes(h.base)) } },
        .init("tcp.srcport", .unsigned, "TCP source port", bits: 16) { p, f in eachStart(p) { h, _ in uint(h.u16(at: 0), f) } },
        .init("tcp.dstport", .unsigned, "TCP destination port", bits: 16) { p, f in eachStart(p) { h, _ in uint(h.u16(at: 2), f) } },
        .init("tcp.port", .unsigned, "TCP source or destination port", bits: 16, repeated: true, filterOnly: true) { p, f in
            eachStart(p) { h, _ in uint(h.u16(at: 0), f) || uint(h.u16(at: 2), f) }
        },
        .init("tcp.stream", .unsigned, "TCP conversation index, from 0 in order of appearance", bits: 32, tracking: .tcp) { p, f in
            eachFixed(p) { _, q in (q == nil ? p.tracked.tcpStream : q?.tcpStream).map { f(.uint(UInt64($0))) } ?? false }
        },
        // In an ICMP error: the header's own numbers (no analysis), for an IPv4 quote of 8
        // bytes or more (packet-tcp.c adds it early for a TCP header under IP under ICMP).
        .init("tcp.seq", .unsigned, "TCP sequence number, relative to the connection's first (as tshark)", bits: 32, tracking: .tcp,
              json: { p, f in
                  if p.tcp != nil { return p.tracked.tcpSeq.map { f(.uint(UInt64($0))) } ?? false }
                  return eachStart(p) { h, q in seq(h, q).map { f(.uint(UInt64($0))) } ?? false }
              }) { p, f in
            eachStart(p) { h, q in
                if q == nil, let t = p.tcp { return f(.uint(UInt64(p.tracked.tcpSeq ?? t.sequence))) }
                return seq(h, q).map { f(.uint(UInt64($0))) } ?? false
            }
        },
        .init("tcp.ack", .unsigned, "TCP acknowledgment number, relative (as tshark)", bits: 32, tracking: .tcp,
              json: { p, f in
                  if p.tcp != nil { return p.tracked.tcpAck.map { f(.uint(UInt64($0))) } ?? false }
                  return eachFixed(p) { x, _ in f(.uint(UInt64(x.ack))) }
              }) { p, f in
            eachFixed(p) { x, q in f(.uint(UInt64(q == nil ? p.tracked.tcpAck ?? x.ack : x.ack))) }
        },
        // Not for an IPv4 ICMP error's quote: tshark's early `tcp.seq` there replaces it.
        .init("tcp.seq_raw", .unsigned, "TCP sequence number (absolute)", bits: 32) { p, f in
            eachFixed(p) { x, q in q?.ipv4 == nil && f(.uint(UInt64(x.seq))) }
        },
        .init("tcp.ack_raw", .unsigned, "TCP acknowledgment number (absolute)", bits: 32) { p, f in
            eachFixed(p) { x, _ in f(.uint(UInt64(x.ack))) }
        },
        .init("tcp.flags", .unsigned, "TCP flags, the 3 reserved bits included (12 bits)", bits: 12, hex: 4) { p, f in
            eachFixed(p) { x, _ in f(.uint(UInt64(x.flagBits))) }
        },
        .init("tcp.flags.res", .boolean, "any of the three reserved bits set (RFC 9293: must be zero)") { p, f in
            eachFixed(p) { x, _ in f(.bool(x.flagBits & 0x0e00 != 0)) }
        },
        // (No tcp.flags.ae/cwr/ece: after an Accurate ECN handshake tshark shows those three
        // bits as one counter, tcp.flags.ace, which needs the conversation's handshake.)
        .init("tcp.flags.urg", .boolean, "URG", flag(.urg)),
        .init("tcp.flags.syn", .boolean, "SYN", flag(.syn)),
        .init("tcp.flags.ack", .boolean, "ACK", flag(.ack)),
        .init("tcp.flags.fin", .boolean, "FIN", flag(.fin)),
        .init("tcp.flags.reset", .boolean, "RST", flag(.rst)),
        .init("tcp.flags.push", .boolean, "PSH", flag(.psh)),
        .init("tcp.window_size_value", .unsigned, "TCP window field (unscaled)", bits: 16) { p, f in
            eachFixed(p) { x, _ in f(.uint(UInt64(x.window))) }
        },
        // In an ICMP error: the field itself (tshark scales no quoted window).
        .init("tcp.window_size", .unsigned, "TCP window, scaled by the Window Scale shift seen in the SYN (as tshark)", bits: 32, tracking: .tcp) { p, f in
            eachFixed(p) { x, q in (q == nil ? p.tracked.tcpWindowSize : UInt32(x.window)).map { f(.uint(UInt64($0))) } ?? false }
        },
        .init("tcp.hdr_len", .unsigned, "TCP header length, bytes", bits: 8) { p, f in eachFixed(p) { x, _ in f(.uint(UInt64(x.headerLength))) } },
        // Not in an ICMP error: tshark does not know the quoted segment's length.
        .init("tcp.len", .unsigned, "TCP segment data length, bytes", bits: 32) { p, f in
            p.tcpSegmentLength.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("tcp.payload", .bytes, "TCP segment data as captured", filterOnly: true) { p, f in
            guard let t = p.tcp, let len = p.tcpSegmentLength, len > 0, t.payload.count > 0 else { return false }
            return f(.bytes(t.payload.prefix(len).base))
        },
        .init("tcp.options.mss_val", .unsigned, "TCP MSS option", bits: 16,
              option { o in if case .mss(let v) = o { return .uint(UInt64(v)) } else { return nil } }),
        .init("tcp.options.wscale.shift", .unsigned, "TCP window scale shift", bits: 8,
              option { o in if case .windowScale(let v) = o { return .uint(UInt64(v)) } else { return nil } }),
        // Wireshark's field has no value of its own: tshark prints the option's bytes (`0402`).
        .init("tcp.options.sack_perm", .bytes, "TCP SACK permitted option (kind 4, length 2)",
              json: option { o in if case .sackPermitted = o { return .bool(true) } else { return nil } },  // JSON: true, as before
              option { o in if case .sackPermitted = o { return .bytes(sackPermittedOption) } else { return nil } }),
        .init("tcp.options.timestamp.tsval", .unsigned, "TCP TSval", bits: 32,
              option { o in if case .timestamp(let v, _) = o { return .uint(UInt64(v)) } else { return nil } }),
        .init("tcp.options.timestamp.tsecr", .unsigned, "TCP TSecr", bits: 32,
              option { o in if case .timestamp(_, let e) = o { return .uint(UInt64(e)) } else { return nil } }),
    ]
}
