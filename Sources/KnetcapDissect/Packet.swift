import KnetcapWire

/// libpcap's link-layer header type (the `DLT_` value `pcap_datalink` returns; see
/// tcpdump.org/linktypes.html). Open: unknown values are kept and reported by name.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let null = Self(rawValue: 0)          // DLT_NULL (BSD loopback, host order)
    public static let ethernet = Self(rawValue: 1)      // DLT_EN10MB
    public static let raw = Self(rawValue: 12)          // DLT_RAW (LINKTYPE_RAW 101)
    public static let rawOpenBSD = Self(rawValue: 14)   // DLT_RAW on OpenBSD
    public static let rawLinktype = Self(rawValue: 101) // LINKTYPE_RAW as written in files
    public static let loop = Self(rawValue: 108)        // DLT_LOOP (network order)
    public static let linuxSLL = Self(rawValue: 113)    // DLT_LINUX_SLL
    public static let ipv4 = Self(rawValue: 228)        // DLT_IPV4
    public static let ipv6 = Self(rawValue: 229)        // DLT_IPV6
    public static let linuxSLL2 = Self(rawValue: 276)   // DLT_LINUX_SLL2
    public static let nflog = Self(rawValue: 239)       // DLT_NFLOG

    /// Whether knetcap dissects this link type.
    public var isSupported: Bool {
        switch self {
        case .null, .ethernet, .raw, .rawOpenBSD, .rawLinktype, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2, .nflog: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .raw, .rawOpenBSD, .rawLinktype: return "RAW"
        case .loop: return "LOOP"
        case .linuxSLL: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxSLL2: return "LINUX_SLL2"
        case .nflog: return "NFLOG"
        default: return "DLT \(rawValue)"
        }
    }
}

/// A capture timestamp: seconds since the Unix epoch and nanoseconds (0..<1e9).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    public var nanoseconds: Int32
    public init(seconds: Int64, nanoseconds: Int32) { self.seconds = seconds; self.nanoseconds = nanoseconds }
    /// Seconds as a `Double` (for gaps and JSON; ns precision is not kept by a Double).
    public var timeInterval: Double { Double(seconds) + Double(nanoseconds) / 1e9 }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }
    /// `b - a` in seconds. Never traps: when the seconds' difference does not fit an `Int64`
    /// (hostile timestamps near the 64-bit limits) it is taken in `Double`.
    public static func - (b: Timestamp, a: Timestamp) -> Double {
        let (d, overflow) = b.seconds.subtractingReportingOverflow(a.seconds)
        return (overflow ? Double(b.seconds) - Double(a.seconds) : Double(d))
            + Double(Int64(b.nanoseconds) - Int64(a.nanoseconds)) / 1e9
    }
    /// `1700000000.123456789`
    public var description: String {
        var t = TextBuffer(capacity: 24)
        t.append(decimal: seconds); t.append(byte: 46); t.append(decimal: nanoseconds, width: 9)
        return t.string
    }
}

/// Where dissection stopped early and why.
public enum Stop: Sendable, Equatable {
    /// Every layer present was dissected (or knetcap does not dissect the next protocol).
    case complete
    /// The capture ended inside this layer (snaplen cut): outer layers are valid; not a fault.
    case truncated(WireError)
    /// The bytes of this layer contradict themselves.
    case malformed(WireError)
}

/// One dissected packet: frame metadata plus checked views of each layer found.
///
/// A `Packet` is a view over the packet source's buffer and is valid only inside the callback
/// that received it (DESIGN.md, example 4): analysers copy the small values they keep.
/// Layers that were not present, or not captured, are `nil`.
public struct Packet {
    /// 1-based, like Wireshark's `frame.number`.
    public var number: Int
    public var timestamp: Timestamp
    /// Bytes captured (`frame.cap_len`) and on the wire (`frame.len`).
    public var capturedLength: Int
    public var originalLength: Int
    public var linkType: LinkType
    public var bytes: ByteView

    public var ethernet: EthernetView?
    public var cooked: LinuxCookedView?
    /// The network-layer protocol (EtherType) carried by the link layer.
    public var etherType: EtherType?
    public var ipv4: IPv4View?
    public var ipv6: IPv6View?
    public var tcp: TCPView?
    public var udp: UDPView?
    public var icmp: ICMPView?
    /// The first DNS message in the UDP datagram or TCP segment (over TCP, the first message
    /// this segment completes: `TCPDNSReassembler`).
    public var dns: DNSView?
    /// Over TCP, the further messages this segment completes (tshark shows each as a DNS
    /// layer of the frame); empty otherwise. Kept in `Extras` (rare).
    public var moreDNS: [DNSView] {
        get { extras?.moreDNS ?? [] }
        set { if !newValue.isEmpty || extras?.moreDNS.isEmpty == false { mutableExtras().moreDNS = newValue } }
    }
    /// The pcapng record's interface within its section and its comments (`frame.interface_id`,
    /// `frame.comment`), read only when a field asks for them (`CaptureState.Tracking.record`).
    public var interfaceID: UInt32?
    /// That interface's name and description (`frame.interface_name`,
    /// `frame.interface_description`), read with `interfaceID`; one shared value per interface.
    public var interface: InterfaceLabel?
    /// The record's type, as libwiretap's REC_TYPE_: 0 a packet; a frame that is not a packet
    /// (4 a systemd journal entry, 5 a pcapng custom block) has no layers.
    public var recordType: Int32 = 0
    /// Each comment's bytes as the file has them (UTF-8, or not: tshark prints them as they
    /// are). Kept in `Extras` (most packets have none).
    public var comments: [[UInt8]] {
        get { extras?.comments ?? [] }
        set { if !newValue.isEmpty || extras?.comments.isEmpty == false { mutableExtras().comments = newValue } }
    }
    /// The vantage point: the capture interface the packet was recorded on (its pcapng
    /// interface's index across sections; 0 for pcap and live captures). A `knetcap merge` of
    /// several nodes gives each node's interfaces their own (`VantageLedger`).
    public var vantage: UInt32 = 0
    /// A copy of a DNS message, SYN or SYN-ACK already seen at another vantage point (set by
    /// the session from the diagnosis): counted once by `--stats`.
    public var isVantageCopy = false
    /// False for a frame without a capture time (a pcapng simple packet block): its
    /// `timestamp` is 0, its time fields are empty (as tshark's) and it does not widen the
    /// capture's span.
    public var hasTimestamp = true
    /// A record whose captured length exceeds its length on the wire, dissected all the same
    /// (a format tcpdump does not read, such as Visual Networks', whose records count the
    /// Ethernet FCS in the captured length only; tshark dissects them): not tcpdump's
    /// `[Invalid header: ...]`.
    public var caplenAboveLenAccepted = false
    /// The DNS message length: the UDP payload length, or the value of the TCP length prefix.
    public var dnsLength: Int
    /// DNS carried over TCP (RFC 1035 §4.2.2 two-byte length prefix).
    public var dnsOverTCP: Bool
    public var stop: Stop
    /// Fields that need the packets before this one (`tcp.stream`, `dns.time`, reassembled
    /// HTTP heads, ...): empty until `CaptureState.track` fills them.
    public var tracked = TrackedFields()
    /// Set on IP fragments by `IPReassembler`: the datagram, and on the frame that completes
    /// it, its fragments (`ip.fragment`, `ip.reassembled.length`).
    public var fragment: FragmentInfo? {
        get { extras?.fragment }
        set { if newValue != nil || extras?.fragment != nil { mutableExtras().fragment = newValue } }
        _modify { makeExtrasUnique(); yield &extras!.fragment }
    }
    /// The transport layers as this frame alone carries them, when reassembly replaced them
    /// (a held fragment has none; the completing frame has the datagram's). Packet lines
    /// print these, as tcpdump does not reassemble.
    public var wire: WireLayers? {
        get { extras?.wire }
        set { if newValue != nil || extras?.wire != nil { mutableExtras().wire = newValue } }
        _modify { makeExtrasUnique(); yield &extras!.wire }
    }
    /// The overlay tunnel the packet came in, with its outer layers; the layers above are the
    /// inner packet's (`Tunnel`).
    public var tunnel: Tunnel? {
        get { extras?.tunnel }
        set { if newValue != nil || extras?.tunnel != nil { mutableExtras().tunnel = newValue } }
        _modify { makeExtrasUnique(); yield &extras!.tunnel }
    }

    /// The datagram an ICMP error quotes, dissected for the fields only (`ICMPQuote`): further
    /// occurrences of `ip.*`, `tcp.*` ... as in tshark, never the packet's own layers.
    public var icmpQuote: ICMPQuote? {
        get { extras?.icmpQuote }
        set { if newValue != nil || extras?.icmpQuote != nil { mutableExtras().icmpQuote = newValue } }
        _modify { makeExtrasUnique(); yield &extras!.icmpQuote }
    }

    /// An IPv6 header where the link layer said IPv4 (EtherType 0x0800, version 6): tshark's
    /// IPv4 dissector hands it to IPv6 (packet-ip.c, "Bogus IPv4 version"), so its `ipv6.*`
    /// fields are there and `ip` matches; knetcap's own layers have no IP (tcpdump: `IP
    /// [version 6 != 4] (invalid)`). For the fields only.
    public var ipv6UnderIPv4: IPv6View? {
        get { extras?.ipv6UnderIPv4 }
        set { if newValue != nil || extras?.ipv6UnderIPv4 != nil { mutableExtras().ipv6UnderIPv4 = newValue } }
    }

    /// Whether the packet came in a tunnel: `tunnel != nil` without copying the tunnel's
    /// layers out (the read path asks it of every packet).
    public var hasTunnel: Bool { extras != nil && extras!.tunnel != nil }
    /// Whether any of the rare parts (`Extras`: tunnel, ICMP quote, more DNS messages, ...) is
    /// there: without them a layer's fields are read from its own header alone (the field
    /// readers' fast path, issue 11).
    public var hasRareParts: Bool { extras != nil }

    /// A GRE header whose payload knetcap does not follow (PPTP's enhanced GRE carrying PPP,
    /// a payload type other than IPv4, IPv6, Ethernet); GRE tunnels are `tunnel`.
    public var gre: GREView? {
        get { extras?.gre }
        set { if newValue != nil || extras?.gre != nil { mutableExtras().gre = newValue } }
    }

    /// The parts most packets lack (fragment, wire layers, tunnel, a GRE header, an ICMP error's
    /// quote, an IPv6 header under EtherType IPv4, more DNS messages, record comments), in one
    /// box shared by copies until one changes (copy on write): a `Packet` is passed and copied
    /// a few times per packet on the read path, and every reference it holds is retained on
    /// each copy and released on each destroy (issue 11).
    final class Extras {
        var fragment: FragmentInfo?
        var wire: WireLayers?
        var tunnel: Tunnel?
        var gre: GREView?
        var icmpQuote: ICMPQuote?
        var ipv6UnderIPv4: IPv6View?
        var moreDNS: [DNSView] = []
        var comments: [[UInt8]] = []
        init() {}
        init(copying o: Extras) {
            fragment = o.fragment; wire = o.wire; tunnel = o.tunnel; gre = o.gre; icmpQuote = o.icmpQuote; ipv6UnderIPv4 = o.ipv6UnderIPv4
            moreDNS = o.moreDNS; comments = o.comments
        }
    }
    private var extras: Extras?

    // The setters above store nothing when the value is absent and already absent: assigning
    // nil or [] to a packet whose box is shared would otherwise copy the box to write nothing.

    private mutating func makeExtrasUnique() {
        if extras == nil { extras = Extras() }
        else if !isKnownUniquelyReferenced(&extras) { extras = Extras(copying: extras!) }
    }

    private mutating func mutableExtras() -> Extras {
        makeExtrasUnique()
        return extras!
    }

    public init(number: Int, timestamp: Timestamp, capturedLength: Int, originalLength: Int,
                linkType: LinkType, bytes: ByteView) {
        self.number = number
        self.timestamp = timestamp
        self.capturedLength = capturedLength
        self.originalLength = originalLength
        self.linkType = linkType
        self.bytes = bytes
        dnsLength = 0
        dnsOverTCP = false
        stop = .complete
    }

    /// This packet with the layers its frame alone carries (`wire`), as tcpdump sees it.
    public var asCaptured: Packet {
        guard let w = wire else { return self }
        var q = self
        q.tcp = w.tcp; q.udp = w.udp; q.icmp = w.icmp; q.dns = w.dns; q.moreDNS = []
        q.dnsLength = w.dnsLength; q.dnsOverTCP = w.dnsOverTCP; q.stop = w.stop
        q.wire = nil
        return q
    }

    /// Source and destination IP addresses, when an IP layer was dissected (inlinable: every
    /// analyser asks them of every packet, issue 11).
    @inlinable public var sourceAddress: IPAddress? { ipv4?.source ?? ipv6?.source }
    @inlinable public var destinationAddress: IPAddress? { ipv4?.destination ?? ipv6?.destination }
    /// Transport ports (TCP or UDP).
    @inlinable public var sourcePort: UInt16? { tcp?.sourcePort ?? udp?.sourcePort }
    @inlinable public var destinationPort: UInt16? { tcp?.destinationPort ?? udp?.destinationPort }
    /// The packet was cut by the snaplen somewhere (never a network fault).
    /// The IP payload length the IP header claims, bytes (Wireshark's reported length): the
    /// IPv4 total length less its header; the IPv6 payload length less the extension headers
    /// (to the end of the datagram for payload length 0 without a Jumbo option, RFC 2675).
    /// `nil` without IP; may be negative for a bogus header.
    public var ipPayloadLength: Int? {
        if let ip = ipv4 { return ip.totalLength - ip.headerLength }
        if let ip = ipv6 {
            let plen = ip.payloadLength == 0 ? ip.end - 40 : ip.payloadLength
            return plen - (ip.upperOffset - 40)
        }
        return nil
    }

    /// `ipPayloadLength` bounded by the bytes the frame had on the wire, as Wireshark's
    /// reported length bounds each layer (kday4.pcap's 66-byte frame whose IPv4 header says
    /// 820 has `tcp.len` 0, not 768). Packet lines keep the header's claim, as tcpdump prints it.
    public var reportedIPPayloadLength: Int? {
        guard let length = ipPayloadLength, let ip = ipv4?.bytes ?? ipv6?.bytes, let wire = wireLength(from: ip) else { return ipPayloadLength }
        // The datagram the header claims: its headers (IPv4's, IPv6's with its extension
        // headers) and that payload.
        let datagram = (ipv4?.headerLength ?? ipv6?.upperOffset ?? 0) + length
        return datagram > wire ? length - (datagram - wire) : length
    }

    /// The bytes the frame had on the wire from `view`'s first byte on (`frame.len` less the
    /// headers before it), or nil when `view` is not within this frame's bytes (a datagram
    /// reassembled from fragments).
    func wireLength(from view: ByteView) -> Int? {
        guard let frame = bytes.base.baseAddress, let start = view.base.baseAddress,
              start >= frame, start <= frame + bytes.count else { return nil }
        return originalLength - (start - frame)
    }

    /// TCP data length from the IP lengths, bounded by the frame's length on the wire
    /// (`tcp.len`), bytes, or `nil` without TCP.
    public var tcpSegmentLength: Int? {
        guard let t = tcp else { return nil }
        return max(0, (reportedIPPayloadLength ?? t.bytes.count) - t.headerLength)
    }

    public var isTruncated: Bool {
        if case .truncated = stop { return true }
        if capturedLength < originalLength && (ipv4?.lengthFromCapture ?? ipv6?.lengthFromCapture ?? false) { return true }
        return capturedLength < originalLength && (ipv4?.isTruncated ?? ipv6?.isTruncated ?? true)
    }
}

/// A pcapng interface as tshark names it in a frame (epan `cf_get_interface_name` and
/// `cf_get_interface_description`): `name` is its `if_name`, else its `if_description`, else
/// `unknown`; `description` its `if_description` (nil when absent). A class, so a packet
/// holds one reference to its interface's, made once per interface.
public final class InterfaceLabel: Sendable {
    public let name: String
    public let description: String?
    /// - Parameters: `ifName`, `ifDescription`: the block's options, empty when absent.
    public init(ifName: String, ifDescription: String) {
        name = ifName.isEmpty ? (ifDescription.isEmpty ? "unknown" : ifDescription) : ifName
        description = ifDescription.isEmpty ? nil : ifDescription
    }
}
