import KnetcapWire
import KnetcapDissect

/// Calls `body` for each occurrence of a field in a packet, in packet order, until `body`
/// returns true; returns whether it did. An absent field calls `body` never and returns false.
typealias Accessor = (Packet, (FValue) -> Bool) -> Bool

/// How the filter reads each registry field from a `Packet`: typed values, no `String` or
/// array allocation per packet (names are written into stack buffers). The values agree with
/// `Packet.visitFields` (the JSON output), which a test checks on every capture, except where
/// Wireshark has a field on every packet of a protocol and the JSON writes it only when it
/// says something (`ip.flags.mf`, `ip.frag_offset`: the JSON writes them for fragments only),
/// and the OPT pseudo-record, which Wireshark lists in `dns.resp.name` and `dns.resp.type`.
enum FieldAccess {
    /// The per-capture state a field needs (`CaptureState.Tracking`), if any.
    static func tracking(for name: String) -> CaptureState.Tracking {
        switch name {
        case "frame.time_relative", "frame.time_delta": return .time
        case "tcp.stream", "tcp.seq", "tcp.ack": return .tcp
        case "dns.time": return .dns
        default: return name == "http" || name.hasPrefix("http.") ? .http : []
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func accessor(for name: String) -> Accessor? {
        switch name {
        // frame
        case "frame": return { p, f in f(.bytes(p.bytes.base)) }
        case "frame.number": return { p, f in f(.uint(UInt64(p.number))) }
        case "frame.time_epoch":
            return { p, f in f(.ns(p.timestamp.seconds &* 1_000_000_000 &+ Int64(p.timestamp.nanoseconds))) }
        case "frame.time_relative": return { p, f in f(.ns(p.tracked.timeRelative)) }
        case "frame.time_delta": return { p, f in f(.ns(p.tracked.timeDelta)) }
        case "frame.len": return { p, f in f(.uint(UInt64(p.originalLength))) }
        case "frame.cap_len": return { p, f in f(.uint(UInt64(p.capturedLength))) }
        // link
        case "eth": return { p, f in p.ethernet.map { f(.bytes($0.bytes.base)) } ?? false }
        case "eth.src": return { p, f in p.ethernet.map { f(.ether($0.source.value)) } ?? false }
        case "eth.dst": return { p, f in p.ethernet.map { f(.ether($0.destination.value)) } ?? false }
        case "eth.addr":
            return { p, f in p.ethernet.map { f(.ether($0.source.value)) || f(.ether($0.destination.value)) } ?? false }
        case "eth.type": return { p, f in p.ethernet.map { f(.uint(UInt64($0.etherType.rawValue))) } ?? false }
        case "vlan":
            return { p, f in
                guard let e = p.ethernet, e.vlanCount > 0 else { return false }
                return f(.bytes(e.bytes.suffix(from: 14).base))
            }
        case "vlan.id":
            return { p, f in
                guard let e = p.ethernet, e.vlanCount > 0 else { return false }
                return f(.uint(UInt64(e.vlanIDs.0))) || (e.vlanCount > 1 && f(.uint(UInt64(e.vlanIDs.1))))
            }
        case "sll": return { p, f in p.cooked.map { f(.bytes($0.bytes.base)) } ?? false }
        case "sll.pkttype": return { p, f in p.cooked.map { f(.uint(UInt64($0.packetType))) } ?? false }
        case "sll.ifindex":
            return { p, f in p.cooked.map { $0.version == .v2 && f(.uint(UInt64($0.interfaceIndex))) } ?? false }
        case "arp":
            return { p, f in
                guard p.etherType == .arp else { return false }
                return f(.bytes((p.ethernet?.payload ?? p.cooked?.payload ?? p.bytes).base))
            }
        // IPv4
        case "ip": return { p, f in p.ipv4.map { f(.bytes($0.bytes.prefix($0.totalLength).base)) } ?? false }
        case "ip.src": return { p, f in p.ipv4.map { f(.ip($0.source)) } ?? false }
        case "ip.dst": return { p, f in p.ipv4.map { f(.ip($0.destination)) } ?? false }
        case "ip.addr": return { p, f in p.ipv4.map { f(.ip($0.source)) || f(.ip($0.destination)) } ?? false }
        case "ip.proto": return { p, f in p.ipv4.map { f(.uint(UInt64($0.proto.rawValue))) } ?? false }
        case "ip.ttl": return { p, f in p.ipv4.map { f(.uint(UInt64($0.ttl))) } ?? false }
        case "ip.len": return { p, f in p.ipv4.map { f(.uint(UInt64($0.totalLength))) } ?? false }
        case "ip.id": return { p, f in p.ipv4.map { f(.uint(UInt64($0.identification))) } ?? false }
        case "ip.flags.mf": return { p, f in p.ipv4.map { f(.bool($0.moreFragments)) } ?? false }
        case "ip.frag_offset": return { p, f in p.ipv4.map { f(.uint(UInt64($0.fragmentOffset))) } ?? false }
        // IPv6
        case "ipv6": return { p, f in p.ipv6.map { f(.bytes($0.bytes.prefix($0.end).base)) } ?? false }
        case "ipv6.src": return { p, f in p.ipv6.map { f(.ip($0.source)) } ?? false }
        case "ipv6.dst": return { p, f in p.ipv6.map { f(.ip($0.destination)) } ?? false }
        case "ipv6.addr": return { p, f in p.ipv6.map { f(.ip($0.source)) || f(.ip($0.destination)) } ?? false }
        case "ipv6.nxt": return { p, f in p.ipv6.map { f(.uint(UInt64($0.nextHeader.rawValue))) } ?? false }
        case "ipv6.hlim": return { p, f in p.ipv6.map { f(.uint(UInt64($0.hopLimit))) } ?? false }
        case "ipv6.plen": return { p, f in p.ipv6.map { f(.uint(UInt64($0.payloadLength))) } ?? false }
        // TCP
        case "tcp": return { p, f in p.tcp.map { f(.bytes($0.bytes.base)) } ?? false }
        case "tcp.srcport": return { p, f in p.tcp.map { f(.uint(UInt64($0.sourcePort))) } ?? false }
        case "tcp.dstport": return { p, f in p.tcp.map { f(.uint(UInt64($0.destinationPort))) } ?? false }
        case "tcp.port":
            return { p, f in p.tcp.map { f(.uint(UInt64($0.sourcePort))) || f(.uint(UInt64($0.destinationPort))) } ?? false }
        case "tcp.stream": return { p, f in p.tcp != nil && p.tracked.tcpStream.map { f(.uint(UInt64($0))) } ?? false }
        case "tcp.seq":
            return { p, f in p.tcp.map { t in f(.uint(UInt64(p.tracked.tcpSeq ?? t.sequence))) } ?? false }
        case "tcp.ack":
            return { p, f in p.tcp.map { t in f(.uint(UInt64(p.tracked.tcpAck ?? t.acknowledgment))) } ?? false }
        case "tcp.seq_raw": return { p, f in p.tcp.map { f(.uint(UInt64($0.sequence))) } ?? false }
        case "tcp.ack_raw": return { p, f in p.tcp.map { f(.uint(UInt64($0.acknowledgment))) } ?? false }
        case "tcp.flags": return { p, f in p.tcp.map { f(.uint(UInt64($0.flags.rawValue))) } ?? false }
        case "tcp.flags.syn": return flag(.syn)
        case "tcp.flags.ack": return flag(.ack)
        case "tcp.flags.fin": return flag(.fin)
        case "tcp.flags.reset": return flag(.rst)
        case "tcp.flags.push": return flag(.psh)
        case "tcp.window_size_value": return { p, f in p.tcp.map { f(.uint(UInt64($0.window))) } ?? false }
        case "tcp.hdr_len": return { p, f in p.tcp.map { f(.uint(UInt64($0.headerLength))) } ?? false }
        case "tcp.len": return { p, f in p.tcpSegmentLength.map { f(.uint(UInt64($0))) } ?? false }
        case "tcp.payload":
            return { p, f in
                guard let t = p.tcp, let len = p.tcpSegmentLength, len > 0, t.payload.count > 0 else { return false }
                return f(.bytes(t.payload.prefix(len).base))
            }
        case "tcp.options.mss_val":
            return tcpOption { o in if case .mss(let v) = o { return .uint(UInt64(v)) } else { return nil } }
        case "tcp.options.wscale.shift":
            return tcpOption { o in if case .windowScale(let v) = o { return .uint(UInt64(v)) } else { return nil } }
        case "tcp.options.sack_perm":
            return tcpOption { o in if case .sackPermitted = o { return .bool(true) } else { return nil } }
        case "tcp.options.timestamp.tsval":
            return tcpOption { o in if case .timestamp(let v, _) = o { return .uint(UInt64(v)) } else { return nil } }
        case "tcp.options.timestamp.tsecr":
            return tcpOption { o in if case .timestamp(_, let e) = o { return .uint(UInt64(e)) } else { return nil } }
        // UDP
        case "udp": return { p, f in p.udp.map { f(.bytes($0.bytes.base)) } ?? false }
        case "udp.srcport": return { p, f in p.udp.map { f(.uint(UInt64($0.sourcePort))) } ?? false }
        case "udp.dstport": return { p, f in p.udp.map { f(.uint(UInt64($0.destinationPort))) } ?? false }
        case "udp.port":
            return { p, f in p.udp.map { f(.uint(UInt64($0.sourcePort))) || f(.uint(UInt64($0.destinationPort))) } ?? false }
        case "udp.length": return { p, f in p.udp.map { f(.uint(UInt64($0.length))) } ?? false }
        // ICMP
        case "icmp": return { p, f in p.icmp.map { !$0.isV6 && f(.bytes($0.bytes.base)) } ?? false }
        case "icmp.type": return { p, f in p.icmp.map { !$0.isV6 && f(.uint(UInt64($0.type))) } ?? false }
        case "icmp.code": return { p, f in p.icmp.map { !$0.isV6 && f(.uint(UInt64($0.code))) } ?? false }
        case "icmpv6": return { p, f in p.icmp.map { $0.isV6 && f(.bytes($0.bytes.base)) } ?? false }
        case "icmpv6.type": return { p, f in p.icmp.map { $0.isV6 && f(.uint(UInt64($0.type))) } ?? false }
        case "icmpv6.code": return { p, f in p.icmp.map { $0.isV6 && f(.uint(UInt64($0.code))) } ?? false }
        // DNS (and mDNS, LLMNR, which Wireshark dissects with the dns.* fields)
        case "dns", "mdns", "llmnr":
            let want: DNSFlavor = name == "dns" ? .dns : (name == "mdns" ? .mdns : .llmnr)
            return { p, f in
                guard let d = p.dns, dnsFlavor(p) == want else { return false }
                return f(.bytes(d.bytes.base))
            }
        case "dns.id": return { p, f in p.dns.map { f(.uint(UInt64($0.id))) } ?? false }
        case "dns.flags.response": return { p, f in p.dns.map { f(.bool($0.isResponse)) } ?? false }
        case "dns.flags.opcode": return { p, f in p.dns.map { f(.uint(UInt64($0.opcode))) } ?? false }
        case "dns.flags.truncated": return { p, f in p.dns.map { f(.bool($0.truncatedFlag)) } ?? false }
        case "dns.flags.rcode": return { p, f in p.dns.map { $0.isResponse && f(.uint(UInt64($0.rcode.rawValue))) } ?? false }
        case "dns.count.queries": return { p, f in p.dns.map { f(.uint(UInt64($0.questionCount))) } ?? false }
        case "dns.count.answers": return { p, f in p.dns.map { f(.uint(UInt64($0.answerCount))) } ?? false }
        case "dns.count.auth_rr": return { p, f in p.dns.map { f(.uint(UInt64($0.authorityCount))) } ?? false }
        case "dns.count.add_rr": return { p, f in p.dns.map { f(.uint(UInt64($0.additionalCount))) } ?? false }
        case "dns.qry.name":
            return { p, f in
                guard let d = p.dns else { return false }
                var hit = false
                d.forEachQuestion { q in
                    if hit { return }
                    hit = d.withName(at: q.nameOffset) { f(.bytes($0 ?? emptyBytes)) }
                }
                return hit
            }
        case "dns.qry.type":
            return { p, f in
                guard let d = p.dns else { return false }
                var hit = false
                d.forEachQuestion { q in if !hit { hit = f(.uint(UInt64(q.type.rawValue))) } }
                return hit
            }
        // Wireshark lists the OPT pseudo-record (RFC 6891) in dns.resp.name (`<Root>`) and
        // dns.resp.type (41), not in dns.resp.ttl; the JSON leaves it out of all three.
        case "dns.resp.name":
            return record { d, r, f in d.withName(at: r.nameOffset) { f(.bytes($0 ?? emptyBytes)) } }
        case "dns.resp.type": return record { _, r, f in f(.uint(UInt64(r.type.rawValue))) }
        case "dns.resp.ttl": return record { _, r, f in r.type != .opt && f(.uint(UInt64(r.ttl))) }
        case "dns.a":
            return record { d, r, f in
                guard r.type == .a, r.rdataLength == 4, let a = IPAddress(v4In: d.bytes, at: r.rdataOffset) else { return false }
                return f(.ip(a))
            }
        case "dns.aaaa":
            return record { d, r, f in
                guard r.type == .aaaa, r.rdataLength == 16, let a = IPAddress(v6In: d.bytes, at: r.rdataOffset) else { return false }
                return f(.ip(a))
            }
        case "dns.cname": return recordName(.cname, skip: 0)
        case "dns.ptr.domain_name": return recordName(.ptr, skip: 0)
        case "dns.ns": return recordName(.ns, skip: 0)
        case "dns.mx.mail_exchange": return recordName(.mx, skip: 2, minLength: 3)
        case "dns.srv.target": return recordName(.srv, skip: 6, minLength: 7)
        case "dns.rr.udp_payload_size":
            return { p, f in
                guard let d = p.dns else { return false }
                var hit = false, seen = false
                d.forEachRecord { r in
                    guard r.type == .opt, !seen else { return true }
                    seen = true  // the JSON writes the first OPT record's size only
                    hit = f(.uint(UInt64(r.rrclass)))
                    return false
                }
                return hit
            }
        case "dns.time": return { p, f in p.dns != nil && p.tracked.dnsTime.map { f(.ns($0)) } ?? false }
        // HTTP (heads, reassembled across segments by CaptureState)
        case "http":
            return { p, f in
                guard p.tracked.http != nil else { return false }
                return f(.bytes((p.tcp?.payload ?? p.bytes).base))
            }
        case "http.request": return { p, f in p.tracked.http.map { $0.isRequest && f(.bool(true)) } ?? false }
        case "http.response": return { p, f in p.tracked.http.map { !$0.isRequest && f(.bool(true)) } ?? false }
        case "http.request.method":
            return http { m in if case .request(let v, _, _) = m.start { return v } else { return nil } }
        case "http.request.uri":
            return http { m in if case .request(_, let v, _) = m.start { return v } else { return nil } }
        case "http.request.version":
            return http { m in if case .request(_, _, let v) = m.start { return v } else { return nil } }
        case "http.response.version":
            return http { m in if case .response(let v, _, _) = m.start { return v } else { return nil } }
        case "http.response.phrase":
            return http { m in if case .response(_, _, let v) = m.start { return v } else { return nil } }
        case "http.response.code": return { p, f in p.tracked.http?.statusCode.map { f(.uint(UInt64($0))) } ?? false }
        case "http.host": return http { $0.host }
        case "http.user_agent": return http { $0.userAgent }
        case "http.content_type": return http { $0.contentType }
        case "http.connection": return http { $0.connection }
        case "http.content_length": return { p, f in p.tracked.http?.contentLength.map { f(.uint($0)) } ?? false }
        // knetcap's own
        case "knetcap.truncated":
            return { p, f in
                guard case .truncated(let e) = p.stop else { return false }
                return e.layer.withUTF8Buffer { f(.bytes(UnsafeRawBufferPointer($0))) }
            }
        case "knetcap.malformed":
            return { p, f in
                guard case .malformed(let e) = p.stop else { return false }
                return withText(e.description, f)
            }
        default:
            return nil
        }
    }

    // MARK: helpers

    static func flag(_ bit: TCPFlags) -> Accessor {
        { p, f in p.tcp.map { f(.bool($0.flags.contains(bit))) } ?? false }
    }

    static func tcpOption(_ pick: @escaping (TCPOption) -> FValue?) -> Accessor {
        { p, f in
            guard let t = p.tcp else { return false }
            var hit = false
            t.forEachOption { o in if !hit, let v = pick(o) { hit = f(v) } }
            return hit
        }
    }

    /// Resource records of all sections, in order (OPT included; the body decides).
    static func record(_ body: @escaping (DNSView, DNSRecord, (FValue) -> Bool) -> Bool) -> Accessor {
        { p, f in
            guard let d = p.dns else { return false }
            var hit = false
            d.forEachRecord { r in
                hit = body(d, r, f)
                return !hit
            }
            return hit
        }
    }

    static func recordName(_ type: DNSType, skip: Int, minLength: Int = 0) -> Accessor {
        record { d, r, f in
            guard r.type == type, r.rdataLength >= minLength else { return false }
            return d.withName(at: r.rdataOffset + skip) { f(.bytes($0 ?? emptyBytes)) }
        }
    }

    static func http(_ pick: @escaping (HTTPMessage) -> String?) -> Accessor {
        { p, f in
            guard let m = p.tracked.http, let s = pick(m) else { return false }
            return withText(s, f)
        }
    }
}

/// Which protocol name Wireshark gives a DNS message: by the lower of the two ports first
/// (`dns` on 53, `mdns` on 5353, `llmnr` on 5355), as its UDP "try low port first".
enum DNSFlavor { case dns, mdns, llmnr }

func dnsFlavor(_ p: Packet) -> DNSFlavor? {
    guard let a = p.sourcePort, let b = p.destinationPort else { return nil }
    for port in [min(a, b), max(a, b)] {
        switch port {
        case 53: return .dns
        case 5353: return .mdns
        case 5355: return .llmnr
        default: continue
        }
    }
    return nil
}

nonisolated(unsafe) let emptyBytes = UnsafeRawBufferPointer(start: nil, count: 0)

/// Calls `f` with the UTF-8 bytes of `s` (no copy for native strings).
func withText(_ s: String, _ f: (FValue) -> Bool) -> Bool {
    var s = s
    return s.withUTF8 { f(.bytes(UnsafeRawBufferPointer($0))) }
}
