import KnetcapWire

/// The datagram an ICMP or ICMPv6 error message quotes (RFC 792: destination unreachable,
/// source quench, redirect, time exceeded, parameter problem; RFC 4443 §3: ICMPv6 types 1–4),
/// dissected as tshark 4.0 dissects it (packet-icmp.c and packet-icmpv6.c hand the bytes from
/// offset 8 to the IP dissector with `in_error_pkt` set): its IPv4 or IPv6 header, then its TCP
/// header, its UDP header and a DNS message in the UDP data, or its ICMP message.
///
/// For the fields only (`-T fields`, `-Y`, `--json`): these are further occurrences of
/// `ip.*`/`ipv6.*`/`tcp.*`/`udp.*`/`dns.*`/`icmp.*` after the packet's own layers, and never the
/// packet's own layers (`Packet.ipv4`, `.tcp` ...), which the diagnosis reads (its analysers
/// read the quote through `ICMPView.quoted`). Kept in `Packet`'s extras box: only ICMP errors
/// carry one.
public struct ICMPQuote {
    /// The quoted IP header (one of the two).
    public var ipv4: IPv4View?, ipv6: IPv6View?
    /// The quoted TCP header when its 20 fixed bytes were quoted (and its data offset is sane).
    public var tcp: TCPView?
    /// The quoted TCP bytes, header and data (4 or more, else no TCP): what
    /// tshark shows of a cut one depends on how many (`TCPFields`: the ports from 4; the
    /// sequence number from 8 under IPv4; from 16 the whole fixed header but the checksum and
    /// urgent pointer). A router quoting the 8 bytes RFC 792 asks for gives ports and sequence.
    public var tcpBytes: ByteView?
    public var udp: UDPView?
    /// A quoted ICMP or ICMPv6 message (an echo request whose TTL ran out): further
    /// occurrences of `icmp.*`/`icmpv6.*`. Its own quote, if it is an error, is not read: no
    /// ICMP error is sent about one (RFC 1122 §3.2.2).
    public var icmp: ICMPView?
    /// A DNS message in the quoted UDP data (a query a Service VIP rejected).
    public var dns: DNSView?
    /// `tcp.stream` of the quoted TCP header: the conversation it belongs to, as tshark finds
    /// (or starts) it; set by `CaptureState.track`.
    public var tcpStream: UInt32?

    /// The quoted datagram of `message`, or nil when it is not an error or quotes no IP header.
    init?(_ message: ICMPView) {
        guard message.isError else { return nil }
        let inner = message.bytes.suffix(from: 8)
        let proto: IPProtocol, data: ByteView
        if message.isV6 {
            guard let ip = try? IPv6View(inner) else { return nil }
            ipv6 = ip
            guard ip.fragmentOffset == 0, ip.upperOffset <= ip.end else { return }
            proto = ip.upperProtocol
            data = ip.payload
        } else {
            guard let ip = try? IPv4View(inner) else { return nil }
            ipv4 = ip
            guard ip.fragmentOffset == 0 else { return }
            proto = ip.proto
            data = ip.payload
        }
        switch proto {
        case .tcp:
            guard data.count >= 4 else { return }
            tcpBytes = data
            tcp = try? TCPView(data)
        case .udp:
            guard let u = try? UDPView(data) else { return }
            udp = u
            let payload = u.payload
            if Dissector.carriesDNS(u), payload.count >= DNSView.headerLength, let d = try? DNSView(payload) { dns = d }
        case .icmp, .icmpv6: self.icmp = try? ICMPView(data, v6: proto == .icmpv6)
        default: return
        }
    }

    /// Source and destination of the quoted datagram.
    var source: IPAddress? { ipv4?.source ?? ipv6?.source }
    var destination: IPAddress? { ipv4?.destination ?? ipv6?.destination }
}
