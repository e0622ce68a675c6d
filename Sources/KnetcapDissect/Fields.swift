import KnetcapWire

/// A field's value as output and filters see it.
public enum FieldValue: Sendable, Equatable {
    case uint(UInt64)
    case bool(Bool)
    case string(String)
    /// Seconds (durations such as `dns.time`), as a decimal.
    case seconds(Double)
    /// An absolute capture time, exact to the nanosecond (`frame.time_epoch`).
    case time(Timestamp)
}

/// The type of a field, as Wireshark's `-G fields` names them loosely.
public enum FieldType: String, Sendable {
    case unsigned = "unsigned integer", boolean, string = "character string", address = "IPv4 address",
         ipv6 = "IPv6 address", ether = "Ethernet address", bytes = "byte sequence",
         time = "absolute time (seconds since the epoch)", relativeTime = "time offset (seconds)",
         proto = "protocol"
}

/// A field knetcap knows, by its Wireshark name (`dns.qry.name`). `repeated` fields may occur
/// several times in one packet (`dns.a`); JSON gives them as arrays. `filterOnly` fields are
/// for display filters and not written to JSON: protocols (`tcp`), the either-direction
/// aliases (`ip.addr`, `tcp.port`) and raw bytes (`tcp.payload`). `maxValue` is the largest
/// value an unsigned field can hold (its width on the wire).
public struct FieldDescriptor: Sendable {
    public let name: String
    public let type: FieldType
    public let repeated: Bool
    public let filterOnly: Bool
    public let maxValue: UInt64
    public let blurb: String
    init(_ name: String, _ type: FieldType, _ blurb: String, bits: Int = 64, repeated: Bool = false,
         filterOnly: Bool = false) {
        self.name = name; self.type = type; self.blurb = blurb; self.repeated = repeated
        self.filterOnly = filterOnly || type == .proto
        maxValue = bits >= 64 ? .max : (UInt64(1) << UInt64(bits)) - 1
    }
}

/// Receives a packet's fields in protocol order.
public protocol FieldVisitor {
    mutating func visit(_ name: StaticString, _ value: FieldValue)
}

/// The field registry: every field knetcap writes, with Wireshark's names. Static data.
public enum FieldRegistry {
    public static let all: [FieldDescriptor] = [
        .init("frame", .proto, "the captured frame (its bytes for contains/matches)"),
        .init("frame.number", .unsigned, "1-based frame number", bits: 32),
        .init("frame.time_epoch", .time, "capture time, seconds since the epoch"),
        .init("frame.time_relative", .relativeTime, "seconds since the first frame of the capture"),
        .init("frame.time_delta", .relativeTime, "seconds since the previous captured frame"),
        .init("frame.len", .unsigned, "bytes on the wire", bits: 32),
        .init("frame.cap_len", .unsigned, "bytes captured", bits: 32),
        .init("eth", .proto, "Ethernet II"),
        .init("eth.src", .ether, "Ethernet source"),
        .init("eth.dst", .ether, "Ethernet destination"),
        .init("eth.addr", .ether, "Ethernet source or destination", repeated: true, filterOnly: true),
        .init("eth.type", .unsigned, "EtherType", bits: 16),
        .init("vlan", .proto, "802.1Q VLAN tag"),
        .init("vlan.id", .unsigned, "802.1Q VLAN id", bits: 12, repeated: true),
        .init("sll", .proto, "Linux cooked capture (SLL, SLL2)"),
        .init("sll.pkttype", .unsigned, "Linux cooked packet type (0 in, 4 out)", bits: 16),
        .init("sll.ifindex", .unsigned, "Linux cooked (SLL2) interface index", bits: 32),
        .init("arp", .proto, "ARP"),
        .init("ip", .proto, "IPv4"),
        .init("ip.src", .address, "IPv4 source"),
        .init("ip.dst", .address, "IPv4 destination"),
        .init("ip.addr", .address, "IPv4 source or destination", repeated: true, filterOnly: true),
        .init("ip.proto", .unsigned, "IPv4 protocol", bits: 8),
        .init("ip.ttl", .unsigned, "IPv4 time to live", bits: 8),
        .init("ip.len", .unsigned, "IPv4 total length", bits: 16),
        .init("ip.id", .unsigned, "IPv4 identification", bits: 16),
        .init("ip.flags.mf", .boolean, "IPv4 more fragments"),
        .init("ip.frag_offset", .unsigned, "IPv4 fragment offset, bytes", bits: 16),
        .init("ipv6", .proto, "IPv6"),
        .init("ipv6.src", .ipv6, "IPv6 source"),
        .init("ipv6.dst", .ipv6, "IPv6 destination"),
        .init("ipv6.addr", .ipv6, "IPv6 source or destination", repeated: true, filterOnly: true),
        .init("ipv6.nxt", .unsigned, "IPv6 next header", bits: 8),
        .init("ipv6.hlim", .unsigned, "IPv6 hop limit", bits: 8),
        .init("ipv6.plen", .unsigned, "IPv6 payload length", bits: 32),
        .init("tcp", .proto, "TCP (header and data)"),
        .init("tcp.srcport", .unsigned, "TCP source port", bits: 16),
        .init("tcp.dstport", .unsigned, "TCP destination port", bits: 16),
        .init("tcp.port", .unsigned, "TCP source or destination port", bits: 16, repeated: true, filterOnly: true),
        .init("tcp.stream", .unsigned, "TCP conversation index, from 0 in order of appearance", bits: 32),
        .init("tcp.seq", .unsigned, "TCP sequence number, relative to the connection's first (as tshark)", bits: 32),
        .init("tcp.ack", .unsigned, "TCP acknowledgment number, relative (as tshark)", bits: 32),
        .init("tcp.seq_raw", .unsigned, "TCP sequence number (absolute)", bits: 32),
        .init("tcp.ack_raw", .unsigned, "TCP acknowledgment number (absolute)", bits: 32),
        .init("tcp.flags", .unsigned, "TCP flags", bits: 12),
        .init("tcp.flags.syn", .boolean, "SYN"),
        .init("tcp.flags.ack", .boolean, "ACK"),
        .init("tcp.flags.fin", .boolean, "FIN"),
        .init("tcp.flags.reset", .boolean, "RST"),
        .init("tcp.flags.push", .boolean, "PSH"),
        .init("tcp.window_size_value", .unsigned, "TCP window field (unscaled)", bits: 16),
        .init("tcp.hdr_len", .unsigned, "TCP header length, bytes", bits: 8),
        .init("tcp.len", .unsigned, "TCP segment data length, bytes", bits: 32),
        .init("tcp.payload", .bytes, "TCP segment data as captured", filterOnly: true),
        .init("tcp.options.mss_val", .unsigned, "TCP MSS option", bits: 16),
        .init("tcp.options.wscale.shift", .unsigned, "TCP window scale shift", bits: 8),
        .init("tcp.options.sack_perm", .boolean, "TCP SACK permitted"),
        .init("tcp.options.timestamp.tsval", .unsigned, "TCP TSval", bits: 32),
        .init("tcp.options.timestamp.tsecr", .unsigned, "TCP TSecr", bits: 32),
        .init("udp", .proto, "UDP (header and data)"),
        .init("udp.srcport", .unsigned, "UDP source port", bits: 16),
        .init("udp.dstport", .unsigned, "UDP destination port", bits: 16),
        .init("udp.port", .unsigned, "UDP source or destination port", bits: 16, repeated: true, filterOnly: true),
        .init("udp.length", .unsigned, "UDP length field", bits: 16),
        .init("icmp", .proto, "ICMP"),
        .init("icmp.type", .unsigned, "ICMP type", bits: 8),
        .init("icmp.code", .unsigned, "ICMP code", bits: 8),
        .init("icmpv6", .proto, "ICMPv6"),
        .init("icmpv6.type", .unsigned, "ICMPv6 type", bits: 8),
        .init("icmpv6.code", .unsigned, "ICMPv6 code", bits: 8),
        .init("dns", .proto, "DNS (port 53)"),
        .init("mdns", .proto, "multicast DNS (port 5353); its fields are dns.*"),
        .init("llmnr", .proto, "LLMNR (port 5355); its fields are dns.*"),
        .init("dns.id", .unsigned, "DNS transaction id", bits: 16),
        .init("dns.flags.response", .boolean, "DNS response (QR)"),
        .init("dns.flags.opcode", .unsigned, "DNS opcode", bits: 4),
        .init("dns.flags.truncated", .boolean, "DNS truncated (TC)"),
        .init("dns.flags.rcode", .unsigned, "DNS reply code (responses only)", bits: 4),
        .init("dns.count.queries", .unsigned, "DNS question count", bits: 16),
        .init("dns.count.answers", .unsigned, "DNS answer count", bits: 16),
        .init("dns.count.auth_rr", .unsigned, "DNS authority count", bits: 16),
        .init("dns.count.add_rr", .unsigned, "DNS additional count", bits: 16),
        .init("dns.qry.name", .string, "DNS query name", repeated: true),
        .init("dns.qry.type", .unsigned, "DNS query type", bits: 16, repeated: true),
        .init("dns.resp.name", .string, "DNS record owner name", repeated: true),
        .init("dns.resp.type", .unsigned, "DNS record type", bits: 16, repeated: true),
        .init("dns.resp.ttl", .unsigned, "DNS record TTL, seconds", bits: 32, repeated: true),
        .init("dns.a", .address, "DNS A record address", repeated: true),
        .init("dns.aaaa", .ipv6, "DNS AAAA record address", repeated: true),
        .init("dns.cname", .string, "DNS CNAME target", repeated: true),
        .init("dns.ptr.domain_name", .string, "DNS PTR target", repeated: true),
        .init("dns.ns", .string, "DNS NS target", repeated: true),
        .init("dns.mx.mail_exchange", .string, "DNS MX exchange", repeated: true),
        .init("dns.srv.target", .string, "DNS SRV target", repeated: true),
        .init("dns.rr.udp_payload_size", .unsigned, "EDNS0 UDP payload size", bits: 16),
        .init("dns.time", .relativeTime, "seconds from the query to this response (latest query with this id in the conversation)"),
        .init("http", .proto, "HTTP/1.x message head, recognised by content on any TCP port"),
        .init("http.request", .boolean, "the message is a request"),
        .init("http.response", .boolean, "the message is a response"),
        .init("http.request.method", .string, "HTTP request method (GET, POST, ...)"),
        .init("http.request.uri", .string, "HTTP request target, as sent"),
        .init("http.request.version", .string, "HTTP version of a request (HTTP/1.1)"),
        .init("http.response.version", .string, "HTTP version of a response"),
        .init("http.response.code", .unsigned, "HTTP status code", bits: 16),
        .init("http.response.phrase", .string, "HTTP reason phrase"),
        .init("http.host", .string, "HTTP Host header"),
        .init("http.user_agent", .string, "HTTP User-Agent header"),
        .init("http.content_type", .string, "HTTP Content-Type header"),
        .init("http.content_length", .unsigned, "HTTP Content-Length header, bytes"),
        .init("http.connection", .string, "HTTP Connection header"),
        .init("knetcap.truncated", .string, "layer where the capture was cut (snaplen), if any"),
        .init("knetcap.malformed", .string, "layer whose bytes are invalid, if any"),
    ]

    public static func descriptor(named n: String) -> FieldDescriptor? { byName[n] }
    static let byName: [String: FieldDescriptor] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
}

extension Packet {
    /// Calls `v.visit` for every field of the packet, in protocol order, with Wireshark's names.
    public func visitFields<V: FieldVisitor>(_ v: inout V) {
        v.visit("frame.number", .uint(UInt64(number)))
        v.visit("frame.time_epoch", .time(timestamp))
        if tracked.isTracked {
            v.visit("frame.time_relative", .seconds(Double(tracked.timeRelative) / 1e9))
            v.visit("frame.time_delta", .seconds(Double(tracked.timeDelta) / 1e9))
        }
        v.visit("frame.len", .uint(UInt64(originalLength)))
        v.visit("frame.cap_len", .uint(UInt64(capturedLength)))
        if let e = ethernet {
            v.visit("eth.src", .string(e.source.description))
            v.visit("eth.dst", .string(e.destination.description))
            v.visit("eth.type", .uint(UInt64(e.etherType.rawValue)))
            if e.vlanCount > 0 { v.visit("vlan.id", .uint(UInt64(e.vlanIDs.0))) }
            if e.vlanCount > 1 { v.visit("vlan.id", .uint(UInt64(e.vlanIDs.1))) }
        }
        if let c = cooked {
            v.visit("sll.pkttype", .uint(UInt64(c.packetType)))
            if c.version == .v2 { v.visit("sll.ifindex", .uint(UInt64(c.interfaceIndex))) }
        }
        if let ip = ipv4 {
            v.visit("ip.src", .string(ip.source.description))
            v.visit("ip.dst", .string(ip.destination.description))
            v.visit("ip.proto", .uint(UInt64(ip.proto.rawValue)))
            v.visit("ip.ttl", .uint(UInt64(ip.ttl)))
            v.visit("ip.len", .uint(UInt64(ip.totalLength)))
            v.visit("ip.id", .uint(UInt64(ip.identification)))
            if ip.isFragment {
                v.visit("ip.flags.mf", .bool(ip.moreFragments))
                v.visit("ip.frag_offset", .uint(UInt64(ip.fragmentOffset)))
            }
        }
        if let ip = ipv6 {
            v.visit("ipv6.src", .string(ip.source.description))
            v.visit("ipv6.dst", .string(ip.destination.description))
            v.visit("ipv6.nxt", .uint(UInt64(ip.nextHeader.rawValue)))
            v.visit("ipv6.hlim", .uint(UInt64(ip.hopLimit)))
            v.visit("ipv6.plen", .uint(UInt64(ip.payloadLength)))
        }
        if let t = tcp {
            v.visit("tcp.srcport", .uint(UInt64(t.sourcePort)))
            v.visit("tcp.dstport", .uint(UInt64(t.destinationPort)))
            if let s = tracked.tcpStream { v.visit("tcp.stream", .uint(UInt64(s))) }
            if let s = tracked.tcpSeq { v.visit("tcp.seq", .uint(UInt64(s))) }
            if let a = tracked.tcpAck { v.visit("tcp.ack", .uint(UInt64(a))) }
            v.visit("tcp.seq_raw", .uint(UInt64(t.sequence)))
            v.visit("tcp.ack_raw", .uint(UInt64(t.acknowledgment)))
            let f = t.flags
            v.visit("tcp.flags", .uint(UInt64(f.rawValue)))
            v.visit("tcp.flags.syn", .bool(f.contains(.syn)))
            v.visit("tcp.flags.ack", .bool(f.contains(.ack)))
            v.visit("tcp.flags.fin", .bool(f.contains(.fin)))
            v.visit("tcp.flags.reset", .bool(f.contains(.rst)))
            v.visit("tcp.flags.push", .bool(f.contains(.psh)))
            v.visit("tcp.window_size_value", .uint(UInt64(t.window)))
            v.visit("tcp.hdr_len", .uint(UInt64(t.headerLength)))
            v.visit("tcp.len", .uint(UInt64(tcpSegmentLength ?? 0)))
            t.forEachOption { o in
                switch o {
                case .mss(let m): v.visit("tcp.options.mss_val", .uint(UInt64(m)))
                case .windowScale(let s): v.visit("tcp.options.wscale.shift", .uint(UInt64(s)))
                case .sackPermitted: v.visit("tcp.options.sack_perm", .bool(true))
                case .timestamp(let a, let b):
                    v.visit("tcp.options.timestamp.tsval", .uint(UInt64(a)))
                    v.visit("tcp.options.timestamp.tsecr", .uint(UInt64(b)))
                default: break
                }
            }
        }
        if let u = udp {
            v.visit("udp.srcport", .uint(UInt64(u.sourcePort)))
            v.visit("udp.dstport", .uint(UInt64(u.destinationPort)))
            v.visit("udp.length", .uint(UInt64(u.length)))
        }
        if let i = icmp {
            v.visit(i.isV6 ? "icmpv6.type" : "icmp.type", .uint(UInt64(i.type)))
            v.visit(i.isV6 ? "icmpv6.code" : "icmp.code", .uint(UInt64(i.code)))
        }
        if let d = dns {
            d.visitFields(&v)
            if let t = tracked.dnsTime { v.visit("dns.time", .seconds(Double(t) / 1e9)) }
        }
        if let h = tracked.http { h.visitFields(&v) }
        switch stop {
        case .complete: break
        case .truncated(let e): v.visit("knetcap.truncated", .string(e.layer.description))
        case .malformed(let e): v.visit("knetcap.malformed", .string(e.description))
        }
    }

    /// TCP data length from the IP lengths (`tcp.len`), or `nil` without TCP.
    public var tcpSegmentLength: Int? {
        guard let t = tcp else { return nil }
        if let ip = ipv4 { return max(0, ip.totalLength - ip.headerLength - t.headerLength) }
        if let ip = ipv6 {
            let ipPayload = ip.payloadLength == 0 ? ip.end - 40 : ip.payloadLength
            return max(0, ipPayload - (ip.upperOffset - 40) - t.headerLength)
        }
        return max(0, t.bytes.count - t.headerLength)
    }
}

extension DNSView {
    /// Visits the DNS fields with Wireshark's names (`dns.id`, `dns.qry.name`, `dns.a`, ...).
    public func visitFields<V: FieldVisitor>(_ v: inout V) {
        v.visit("dns.id", .uint(UInt64(id)))
        v.visit("dns.flags.response", .bool(isResponse))
        v.visit("dns.flags.opcode", .uint(UInt64(opcode)))
        v.visit("dns.flags.truncated", .bool(truncatedFlag))
        if isResponse { v.visit("dns.flags.rcode", .uint(UInt64(rcode.rawValue))) }
        v.visit("dns.count.queries", .uint(UInt64(questionCount)))
        v.visit("dns.count.answers", .uint(UInt64(answerCount)))
        v.visit("dns.count.auth_rr", .uint(UInt64(authorityCount)))
        v.visit("dns.count.add_rr", .uint(UInt64(additionalCount)))
        forEachQuestion { q in
            v.visit("dns.qry.name", .string(name(at: q.nameOffset) ?? ""))
            v.visit("dns.qry.type", .uint(UInt64(q.type.rawValue)))
        }
        forEachRecord { r in
            if r.type == .opt {
                v.visit("dns.rr.udp_payload_size", .uint(UInt64(r.rrclass)))
                return true
            }
            v.visit("dns.resp.name", .string(name(at: r.nameOffset) ?? ""))
            v.visit("dns.resp.type", .uint(UInt64(r.type.rawValue)))
            v.visit("dns.resp.ttl", .uint(UInt64(r.ttl)))
            switch r.type {
            case .a where r.rdataLength == 4:
                if let a = IPAddress(v4In: bytes, at: r.rdataOffset) { v.visit("dns.a", .string(a.description)) }
            case .aaaa where r.rdataLength == 16:
                if let a = IPAddress(v6In: bytes, at: r.rdataOffset) { v.visit("dns.aaaa", .string(a.description)) }
            case .cname: v.visit("dns.cname", .string(name(at: r.rdataOffset) ?? ""))
            case .ptr: v.visit("dns.ptr.domain_name", .string(name(at: r.rdataOffset) ?? ""))
            case .ns: v.visit("dns.ns", .string(name(at: r.rdataOffset) ?? ""))
            case .mx where r.rdataLength >= 3: v.visit("dns.mx.mail_exchange", .string(name(at: r.rdataOffset + 2) ?? ""))
            case .srv where r.rdataLength >= 7: v.visit("dns.srv.target", .string(name(at: r.rdataOffset + 6) ?? ""))
            default: break
            }
            return true
        }
    }
}

extension HTTPMessage {
    /// Visits the HTTP fields with Wireshark's names (`http.request.method`, `http.host`, ...).
    public func visitFields<V: FieldVisitor>(_ v: inout V) {
        switch start {
        case .request(let method, let uri, let version):
            v.visit("http.request", .bool(true))
            v.visit("http.request.method", .string(method))
            v.visit("http.request.uri", .string(uri))
            v.visit("http.request.version", .string(version))
        case .response(let version, let code, let phrase):
            v.visit("http.response", .bool(true))
            v.visit("http.response.version", .string(version))
            v.visit("http.response.code", .uint(UInt64(code)))
            v.visit("http.response.phrase", .string(phrase))
        }
        if let h = host { v.visit("http.host", .string(h)) }
        if let u = userAgent { v.visit("http.user_agent", .string(u)) }
        if let c = contentType { v.visit("http.content_type", .string(c)) }
        if let l = contentLength { v.visit("http.content_length", .uint(l)) }
        if let c = connection { v.visit("http.connection", .string(c)) }
    }
}
