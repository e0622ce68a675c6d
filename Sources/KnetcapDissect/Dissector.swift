import KnetcapWire

/// Link type → layer chain → `Packet`.
///
/// Ethernet (with 802.1Q/802.1ad tags), Linux SLL and SLL2, RAW, IPV4/IPV6, NULL/LOOP and NFLOG
/// link headers; IPv4 and IPv6 (extension headers); ICMP/ICMPv6; TCP; UDP; DNS on port 53, mDNS
/// (5353) and LLMNR (5355), over UDP and TCP; overlay tunnels (VXLAN, Geneve, IP-in-IP, GRE),
/// whose inner packet becomes the packet's layers (`Tunnel.swift`). The dissector is stateless and never throws:
/// a layer that does not fit sets `Packet.stop` and keeps every outer layer. HTTP/1.x is
/// recognised by content in the TCP payload (`HTTP.startsMessage`); its fields, whose head may
/// span segments, and the other fields that need earlier packets come from `CaptureState`.
public struct Dissector: Sendable {
    public let linkType: LinkType

    public init(linkType: LinkType) { self.linkType = linkType }

    /// Dissects `bytes` (one captured frame). `acceptsCaplenAboveLen`: a frame whose
    /// captured bytes exceed its length on the wire is dissected (tshark's reading of formats
    /// tcpdump does not read), not refused as tcpdump refuses such a pcap record.
    public func dissect(_ bytes: ByteView, number: Int, timestamp: Timestamp, originalLength: Int,
                        acceptsCaplenAboveLen: Bool = false) -> Packet {
        var p = Packet(number: number, timestamp: timestamp, capturedLength: bytes.count,
                       originalLength: originalLength, linkType: linkType, bytes: bytes)
        if originalLength < bytes.count && acceptsCaplenAboveLen { p.caplenAboveLenAccepted = true }
        // A record claiming more bytes captured than were on the wire is a bad file, not a
        // packet (tcpdump: `[Invalid header: len(L) < caplen(C)]`): no layer is read from it.
        if originalLength < bytes.count && !acceptsCaplenAboveLen {
            p.stop = .malformed(WireError("frame", .malformed, need: bytes.count, have: originalLength, reason: "caplen > len"))
            return p
        }
        do throws(WireError) {
            let net: ByteView
            switch linkType {
            case .ethernet:
                let e = try EthernetView(bytes)
                p.ethernet = e
                if e.isLengthField { return p }  // 802.3/LLC: not dissected further
                p.etherType = e.etherType
                net = e.payload
            case .linuxSLL, .linuxSLL2:
                let c = try LinuxCookedView(bytes, version: linkType == .linuxSLL ? .v1 : .v2)
                p.cooked = c
                p.etherType = c.protocolType
                net = c.payload
            case .raw, .rawOpenBSD, .rawLinktype, .ipv4, .ipv6:
                guard let v = bytes.u8(at: 0) else { throw WireError("raw", .truncated, need: 1, have: 0) }
                p.etherType = v >> 4 == 6 ? .ipv6 : (v >> 4 == 4 ? .ipv4 : EtherType(rawValue: 0))
                net = bytes
            case .null, .loop:
                let n = try NullLoopbackView(bytes, networkOrder: linkType == .loop)
                p.etherType = n.isIPv4 ? .ipv4 : (n.isIPv6 ? .ipv6 : EtherType(rawValue: 0))
                net = n.payload
            case .nflog:
                let n = try NFLOGView(bytes)
                guard let payload = n.payload else { return p }
                p.etherType = n.isIPv4 ? .ipv4 : (n.isIPv6 ? .ipv6 : EtherType(rawValue: 0))
                net = payload
            default:
                return p
            }
            try dissectNetwork(&p, net)
        } catch {
            p.stop = error.kind == .truncated ? .truncated(error) : .malformed(error)
        }
        return p
    }

    // MARK: Dispatch tables (gopacket's LayerType maps, as switches the compiler turns into
    // jump tables): a new protocol is one line in one of these three.

    /// Network layers by EtherType.
    private func dissectNetwork(_ p: inout Packet, _ net: ByteView) throws(WireError) {
        switch p.etherType {
        case EtherType.ipv4?: try Self.dissectIPv4(&p, net)
        case EtherType.ipv6?: try Self.dissectIPv6(&p, net)
        default: return
        }
    }

    /// Transport layers by IP protocol number (after IPv6 extension headers).
    static func dissectTransport(_ p: inout Packet, _ proto: IPProtocol, _ data: ByteView, ipTruncated: Bool) throws(WireError) {
        switch proto {
        case .udp: try dissectUDP(&p, data, ipTruncated: ipTruncated)
        case .tcp: try dissectTCP(&p, data)
        case .icmp, .icmpv6:
            let m = try ICMPView(data, v6: proto == .icmpv6)
            p.icmp = m
            if m.isError { p.icmpQuote = ICMPQuote(m) }  // for the fields only (ICMPQuote.swift)
        case .ipip where !isLoneFragment(p): try decapsulate(&p, .ipip, header: data.prefix(0), vni: nil, inner: data, innerType: .ipv4)
        case .ipv6InIP where !isLoneFragment(p): try decapsulate(&p, .ipip, header: data.prefix(0), vni: nil, inner: data, innerType: .ipv6)
        case .gre where !isLoneFragment(p):
            let g = try GREView(data)
            if g.version == 0, let inner = tunnelPayload(g.protocolType) {
                try decapsulate(&p, .gre, header: g.bytes.prefix(g.headerLength), vni: g.key, inner: g.payload, innerType: inner)
            } else {
                p.gre = g  // not a tunnel knetcap follows: PPTP's enhanced GRE (PPP), another payload
            }
        default: return
        }
    }

    /// Application protocols recognised by UDP/TCP port (either port). HTTP/1.x is
    /// recognised by content instead (`CaptureState`).
    enum Application { case dns }

    static func application(port: UInt16) -> Application? {
        switch port {
        case 53, 5353, 5355: return .dns  // DNS, mDNS, LLMNR (all dns.* fields)
        default: return isDNSPort(port) ? .dns : nil
        }
    }

    /// Whether a UDP header's ports name DNS (mDNS, LLMNR, a `--dns-port`): how tshark picks
    /// the DNS dissector for the UDP header an ICMP error quotes (by port; no content test).
    static func carriesDNS(_ u: UDPView) -> Bool {
        (application(port: u.sourcePort) ?? application(port: u.destinationPort)) == .dns
    }

    /// More ports where UDP and TCP carry DNS (`--dns-port`), set once before a capture is
    /// read. On other ports a UDP payload is DNS when `DNSView.isPlausibleMessage` says so.
    public static var dnsPorts: Set<UInt16> {
        get { Set((0...UInt16.max).filter(isDNSPort)) }
        set {
            dnsPortBits.update(repeating: 0, count: 1024)
            for p in newValue { dnsPortBits[Int(p >> 6)] |= 1 << (p & 63) }
        }
    }
    static func isDNSPort(_ port: UInt16) -> Bool { dnsPortBits[Int(port >> 6)] & (1 << (port & 63)) != 0 }
    /// `dnsPorts` as a bitmap, one bit per port (1024 words): a global `Set` cost a dynamic
    /// exclusivity check and a SipHash per packet (issue 11).
    nonisolated(unsafe) static let dnsPortBits: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
        p.initialize(repeating: 0, count: 1024)
        return p
    }()

    static func dissectIPv4(_ p: inout Packet, _ net: ByteView) throws(WireError) {
        let ip: IPv4View
        do throws(WireError) { ip = try IPv4View(net) } catch {
            // Version 6 where IPv4 was announced: tshark dissects it as IPv6 (for the fields only).
            if let v = net.u8(at: 0), v >> 4 == 6 { p.ipv6UnderIPv4 = try? IPv6View(net) }
            throw error
        }
        p.ipv4 = ip
        if net.count < ip.headerLength { throw WireError("ip", .truncated, need: ip.headerLength, have: net.count) }
        if ip.fragmentOffset != 0 { return }  // not the first fragment: no transport header
        try dissectTransport(&p, ip.proto, ip.payload, ipTruncated: ip.isTruncated)
    }

    static func dissectIPv6(_ p: inout Packet, _ net: ByteView) throws(WireError) {
        let ip = try IPv6View(net)
        p.ipv6 = ip
        if ip.fragmentOffset != 0 { return }
        if ip.upperOffset > ip.end { throw WireError("ip6", .truncated, need: ip.upperOffset, have: ip.end) }
        try dissectTransport(&p, ip.upperProtocol, ip.payload, ipTruncated: ip.isTruncated)
    }

    static func dissectUDP(_ p: inout Packet, _ data: ByteView, ipTruncated: Bool) throws(WireError) {
        let u = try UDPView(data)
        p.udp = u
        // RFC 768: the length covers the 8-byte header; below that the datagram is bogus.
        guard u.length >= 8 else { throw WireError("udp", .malformed, need: 8, have: Int(u.length), reason: "length") }
        // Overlay tunnels by destination port (the source port is the flow's hash, RFC 7348 §5).
        if VXLANView.isPort(u.destinationPort), !isLoneFragment(p) {
            let v = try VXLANView(u.payload)
            return try decapsulate(&p, .vxlan, header: v.bytes.prefix(8), vni: v.vni, inner: v.payload, innerType: nil)
        }
        if u.destinationPort == GeneveView.port, !isLoneFragment(p) {
            let g = try GeneveView(u.payload)
            guard let inner = tunnelPayload(g.protocolType) else { return }
            return try decapsulate(&p, .geneve, header: g.bytes.prefix(g.headerLength), vni: g.vni, inner: g.payload, innerType: inner)
        }
        switch application(port: u.sourcePort) ?? application(port: u.destinationPort) {
        case .dns?: try dnsOverUDP(&p, u, data, ipTruncated: ipTruncated)
        case nil:
            // DNS on any other port, recognised by content (never on a lone fragment).
            let payload = u.payload
            // NetBIOS name service (137) has DNS's format but is its own protocol (RFC 1002).
            guard payload.count >= DNSView.headerLength, payload.count == u.payloadLength, !isLoneFragment(p),
                  u.sourcePort != 137, u.destinationPort != 137,
                  let d = try? DNSView(payload), d.isPlausibleMessage else { return }
            try dnsOverUDP(&p, u, data, ipTruncated: ipTruncated)
        }
    }

    static func dissectTCP(_ p: inout Packet, _ data: ByteView) throws(WireError) {
        let t = try TCPView(data)
        p.tcp = t
        if t.isTruncated { throw WireError("tcp", .truncated, need: t.headerLength, have: data.count) }
        switch application(port: t.sourcePort) ?? application(port: t.destinationPort) {
        case .dns?: try dnsOverTCP(&p, t.payload)
        case nil: return
        }
    }
}

extension Dissector {
    /// DNS over UDP (RFC 1035 §4.2.1).
    static func dnsOverUDP(_ p: inout Packet, _ u: UDPView, _ data: ByteView, ipTruncated: Bool) throws(WireError) {
        // A length beyond the IP payload (when the IP datagram was captured whole) is
        // bogus: use what the IP layer carries, as tcpdump does.
        let payload = u.payload
        p.dnsLength = ipTruncated ? u.payloadLength : min(u.payloadLength, max(0, data.count - 8))
        if payload.count == 0 && p.dnsLength > 0 { throw WireError("dns", .truncated, need: 12, have: 0) }
        if payload.count > 0 {
            p.dns = try DNSView(payload)
            if payload.count < p.dnsLength { p.stop = .truncated(WireError("dns", .truncated, need: p.dnsLength, have: payload.count)) }
        }
    }

    /// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): a 2-byte length, then the message.
    static func dnsOverTCP(_ p: inout Packet, _ payload: ByteView) throws(WireError) {
        guard payload.count >= 2, let len = payload.u16(at: 0) else { return }
        let msg = payload.slice(from: 2, length: Int(len))
        guard msg.count >= DNSView.headerLength else { return }  // a continuation or a cut message
        // A segment in the middle of a message starts with arbitrary bytes: decode only
        // what looks like a DNS header (standard opcodes, a sane question count).
        let candidate = try DNSView(msg)
        switch candidate.opcode { case 0, 1, 2, 4, 5: break; default: return }
        guard (1...16).contains(candidate.questionCount) else { return }
        p.dns = candidate
        p.dnsLength = Int(len)
        p.dnsOverTCP = true
        if msg.count < Int(len) { p.stop = .truncated(WireError("dns", .truncated, need: Int(len), have: msg.count)) }
    }
}
