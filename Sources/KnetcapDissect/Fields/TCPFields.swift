import KnetcapWire

/// TCP (`tcp.*`, RFC 9293; options RFC 7323, RFC 2018).
enum TCPFields {
    static func flag(_ bit: TCPFlags) -> FieldReader {
        { p, f in p.tcp.map { f(.bool($0.flags.contains(bit))) } ?? false }
    }

    /// The bytes of a SACK-permitted option (RFC 2018 §2: kind 4, length 2), for its field.
    nonisolated(unsafe) static let sackPermittedOption: UnsafeRawBufferPointer = {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        b[0] = 4; b[1] = 2
        return UnsafeRawBufferPointer(b)
    }()

    static func option(_ pick: @escaping @Sendable (TCPOption) -> FieldValue?) -> FieldReader {
        { p, f in
            guard let t = p.tcp else { return false }
            var hit = false
            t.forEachOption { o in if !hit, let v = pick(o) { hit = f(v) } }
            return hit
        }
    }

    /// The TCP tree line (packet-tcp.c, dissect_tcp): `Transmission Control Protocol, Src Port:
    /// 48040, Dst Port: 8081, Seq: 0, Ack: 1, Len: 0`, the numbers relative to the connection's
    /// first (tshark's default analysis, as `tcp.seq`), `Ack` only with the ACK flag.
    static let text: ProtocolTextReader = { p, f in
        guard let t = p.tcp else { return false }
        var s = "Transmission Control Protocol, Src Port: \(t.sourcePort), Dst Port: \(t.destinationPort), Seq: \(p.tracked.tcpSeq ?? t.sequence)"
        if t.flags.contains(.ack) { s += ", Ack: \(p.tracked.tcpAck ?? t.acknowledgment)" }
        s += ", Len: \(p.tcpSegmentLength ?? 0)"
        return f(s)
    }

    static let table: [FieldDescriptor] = [
        .init("tcp", .proto, "TCP (header and data)", tracking: .tcp, text: text) { p, f in p.tcp.map { f(.bytes($0.bytes.base)) } ?? false },
        .init("tcp.srcport", .unsigned, "TCP source port", bits: 16) { p, f in p.tcp.map { f(.uint(UInt64($0.sourcePort))) } ?? false },
        .init("tcp.dstport", .unsigned, "TCP destination port", bits: 16) { p, f in p.tcp.map { f(.uint(UInt64($0.destinationPort))) } ?? false },
        .init("tcp.port", .unsigned, "TCP source or destination port", bits: 16, repeated: true, filterOnly: true) { p, f in
            p.tcp.map { f(.uint(UInt64($0.sourcePort))) || f(.uint(UInt64($0.destinationPort))) } ?? false
        },
        .init("tcp.stream", .unsigned, "TCP conversation index, from 0 in order of appearance", bits: 32, tracking: .tcp) { p, f in
            p.tcp != nil && p.tracked.tcpStream.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("tcp.seq", .unsigned, "TCP sequence number, relative to the connection's first (as tshark)", bits: 32, tracking: .tcp,
              json: { p, f in p.tcp != nil && p.tracked.tcpSeq.map { f(.uint(UInt64($0))) } ?? false }) { p, f in
            p.tcp.map { t in f(.uint(UInt64(p.tracked.tcpSeq ?? t.sequence))) } ?? false
        },
        .init("tcp.ack", .unsigned, "TCP acknowledgment number, relative (as tshark)", bits: 32, tracking: .tcp,
              json: { p, f in p.tcp != nil && p.tracked.tcpAck.map { f(.uint(UInt64($0))) } ?? false }) { p, f in
            p.tcp.map { t in f(.uint(UInt64(p.tracked.tcpAck ?? t.acknowledgment))) } ?? false
        },
        .init("tcp.seq_raw", .unsigned, "TCP sequence number (absolute)", bits: 32) { p, f in p.tcp.map { f(.uint(UInt64($0.sequence))) } ?? false },
        .init("tcp.ack_raw", .unsigned, "TCP acknowledgment number (absolute)", bits: 32) { p, f in
            p.tcp.map { f(.uint(UInt64($0.acknowledgment))) } ?? false
        },
        .init("tcp.flags", .unsigned, "TCP flags", bits: 12, hex: 4) { p, f in p.tcp.map { f(.uint(UInt64($0.flags.rawValue))) } ?? false },
        .init("tcp.flags.syn", .boolean, "SYN", flag(.syn)),
        .init("tcp.flags.ack", .boolean, "ACK", flag(.ack)),
        .init("tcp.flags.fin", .boolean, "FIN", flag(.fin)),
        .init("tcp.flags.reset", .boolean, "RST", flag(.rst)),
        .init("tcp.flags.push", .boolean, "PSH", flag(.psh)),
        .init("tcp.window_size_value", .unsigned, "TCP window field (unscaled)", bits: 16) { p, f in
            p.tcp.map { f(.uint(UInt64($0.window))) } ?? false
        },
        .init("tcp.window_size", .unsigned, "TCP window, scaled by the Window Scale shift seen in the SYN (as tshark)", bits: 32, tracking: .tcp) { p, f in
            p.tracked.tcpWindowSize.map { f(.uint(UInt64($0))) } ?? false
        },
        .init("tcp.hdr_len", .unsigned, "TCP header length, bytes", bits: 8) { p, f in p.tcp.map { f(.uint(UInt64($0.headerLength))) } ?? false },
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
