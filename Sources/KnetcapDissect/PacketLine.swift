import KnetcapWire

/// How the packet line's timestamp is written, as tcpdump's `-t` family.
public enum TimestampStyle: Sendable {
    /// `-t`: none.
    case none
    /// default: `HH:MM:SS.ffffff` in local time.
    case timeOfDay
    /// `-tt`: seconds since the epoch, `1700000000.123456`.
    case epoch
    /// `-ttt`: delta from the previous packet, `00:00:00.000123`.
    case deltaPrevious
    /// `-tttt`: `2023-11-14 22:13:20.123456` in local time.
    case dateTime
    /// `-ttttt`: delta from the first packet.
    case deltaFirst
}

/// Writes one line per packet in the style of `tcpdump -nn` (print-ip.c, print-tcp.c,
/// print-udp.c, print-domain.c), e.g.
/// `22:13:20.000123 IP 10.244.1.5.40000 > 10.96.0.10.53: 4242+ A? api.example.com. (33)`.
///
/// Stateful like tcpdump: TCP sequence numbers are printed relative to the first segment
/// with ACK seen in each connection (tcpdump without `-S`), and `-ttt` needs the previous time.
public struct PacketLinePrinter {
    public var timestampStyle: TimestampStyle
    /// Nine fractional digits instead of six (`--nano`).
    public var nanoseconds: Bool
    /// Prefix each line with the 1-based frame number (`--number`, tcpdump `-#`).
    public var printNumber: Bool
    /// Print absolute TCP sequence numbers (tcpdump `-S`).
    public var absoluteSequence: Bool
    /// UTC offset in seconds for a given epoch second (local time zone), asked once per hour
    /// of capture time, never per packet.
    public var utcOffset: (Int64) -> Int
    /// Interface index → name (a live capture's, `PcapSource.interfaceNames`): SLL2 packets
    /// print `eth0  In  IP ...` as tcpdump 4.99; without a name, `ifindex 3 In IP ...`.
    public var interfaceNames: [UInt32: String] = [:]

    private var offsetHour: Int64 = .min
    private var cachedOffset = 0
    private var previous: Timestamp?
    private var first: Timestamp?
    private var tcpBases: [FlowKey: SequenceBases] = [:]

    public init(timestampStyle: TimestampStyle = .timeOfDay, nanoseconds: Bool = false, printNumber: Bool = false,
                absoluteSequence: Bool = false, utcOffset: @escaping (Int64) -> Int = { _ in 0 },
                interfaceNames: [UInt32: String] = [:]) {
        self.interfaceNames = interfaceNames
        self.timestampStyle = timestampStyle
        self.nanoseconds = nanoseconds
        self.printNumber = printNumber
        self.absoluteSequence = absoluteSequence
        self.utcOffset = utcOffset
    }

    /// Appends the packet's line (with a trailing newline) to `out`.
    public mutating func write(_ p: Packet, to out: inout TextBuffer) {
        if p.wire != nil { return write(p.asCaptured, to: &out) }  // a reassembled fragment: as captured
        if printNumber { out.append(decimal: p.number, widthSpaces: 5); out.append("  ") }
        if p.originalLength < p.capturedLength && !p.caplenAboveLenAccepted {  // as tcpdump: the record header is invalid, no timestamp
            out.append("[Invalid header: len("); out.append(decimal: p.originalLength); out.append(") < caplen(")
            out.append(decimal: p.capturedLength); out.append(")]\n")
            return
        }
        writeTimestamp(p.timestamp, to: &out)
        if let c = p.cooked, c.version == .v2 {
            if let name = interfaceNames[c.interfaceIndex] {  // tcpdump: "%-5s " then the direction in 4
                out.append(name); for _ in name.utf8.count..<max(5, name.utf8.count) { out.append(byte: 32) }
                out.append(" ")
                let d = c.directionName
                out.append(d); for _ in d.utf8.count..<max(4, d.utf8.count) { out.append(byte: 32) }
            } else {
                out.append("ifindex "); out.append(decimal: c.interfaceIndex); out.append(" ")
                out.append(c.directionName); out.append(" ")
            }
        }
        writeNetwork(p, to: &out)
        out.append(byte: 10)
    }

    private mutating func writeTimestamp(_ t: Timestamp, to out: inout TextBuffer) {
        defer { previous = t; if first == nil { first = t } }
        switch timestampStyle {
        case .none: return
        case .epoch:
            out.append(decimal: t.seconds); out.append(byte: 46); writeFraction(t.nanoseconds, to: &out)
        case .timeOfDay, .dateTime:
            // Beyond ±2^40 s (35,000 years) no calendar time is meant: tcpdump's words, no trap.
            guard t.seconds.magnitude < 1 << 40 else { out.append("[Error converting time] "); return }
            let hour = t.seconds >= 0 ? t.seconds / 3600 : (t.seconds - 3599) / 3600
            if hour != offsetHour { offsetHour = hour; cachedOffset = utcOffset(t.seconds) }
            let local = t.seconds + Int64(cachedOffset)
            var days = local / 86400
            var sod = local % 86400
            if sod < 0 { sod += 86400; days -= 1 }
            if timestampStyle == .dateTime {
                let (y, m, d) = Self.civil(fromDays: days)
                out.append(decimal: y, width: 4); out.append("-"); out.append(decimal: m, width: 2)
                out.append("-"); out.append(decimal: d, width: 2); out.append(" ")
            }
            writeClock(sod, t.nanoseconds, to: &out)
        case .deltaPrevious, .deltaFirst:
            // tcpdump: a sign column (space or `-`), and in microsecond mode the delta of the
            // microsecond-truncated times.
            let base = (timestampStyle == .deltaPrevious ? previous : first) ?? t
            let unit: Int64 = nanoseconds ? 1 : 1000
            let u = Int32(unit)
            // Saturating at ±292 years (hostile timestamps), as tcpdump's own subtraction.
            let ns = KnetcapDissect.nanoseconds(Timestamp(seconds: t.seconds, nanoseconds: t.nanoseconds / u * u),
                                 since: Timestamp(seconds: base.seconds, nanoseconds: base.nanoseconds / u * u))
            out.append(ns < 0 ? "-" : " ")
            let m = ns.magnitude  // -Int64.min does not fit an Int64
            writeClock(Int64(m / 1_000_000_000), Int32(m % 1_000_000_000), to: &out)
        }
        out.append(" ")
    }

    private func writeClock(_ secs: Int64, _ nanos: Int32, to out: inout TextBuffer) {
        out.append(decimal: secs / 3600, width: 2); out.append(":")
        out.append(decimal: secs / 60 % 60, width: 2); out.append(":")
        out.append(decimal: secs % 60, width: 2); out.append(".")
        writeFraction(nanos, to: &out)
    }

    private func writeFraction(_ nanos: Int32, to out: inout TextBuffer) {
        if nanoseconds { out.append(decimal: nanos, width: 9) } else { out.append(decimal: nanos / 1000, width: 6) }
    }

    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The outer layers and header of an overlay tunnel, as tcpdump prints them before the
    /// inner packet: `IP a.p > b.4789: VXLAN, flags [I] (0x08), vni 42` and a new line;
    /// `... Geneve, Flags [none], vni 0x7: `; `IP a > b: GREv0, key=0x4d, length 71: `;
    /// `IP a > b: ` for IP-in-IP, and each nested IP header the same way.
    private func writeTunnel(_ t: Tunnel, to out: inout TextBuffer) {
        guard let src = t.ipv4?.source ?? t.ipv6?.source, let dst = t.ipv4?.destination ?? t.ipv6?.destination else { return }
        out.append(t.ipv4 != nil ? "IP " : "IP6 ")
        if let u = t.udp { writeEndpoints(src, u.sourcePort, dst, u.destinationPort, to: &out) }
        else { out.append(src); out.append(" > "); out.append(dst); out.append(": ") }
        switch t.kind {
        case .vxlan:
            let flags = t.header.u8(at: 0) ?? 0
            out.append("VXLAN, flags ["); out.append(flags & 0x08 != 0 ? "I" : "."); out.append("] (0x")
            out.append(hex: flags, width: 2); out.append("), vni "); out.append(decimal: t.vni ?? 0); out.append(byte: 10)
        case .geneve:
            let flags = t.header.u8(at: 1) ?? 0
            out.append("Geneve, Flags [")
            if flags & 0xc0 == 0 { out.append("none") } else {
                if flags & 0x80 != 0 { out.append("O") }
                if flags & 0x40 != 0 { out.append(flags & 0x80 != 0 ? ", C" : "C") }
            }
            out.append("], vni 0x"); out.append(hex: t.vni ?? 0, width: 1)
            if t.header.count > 8 { out.append(", options ["); out.append(decimal: t.header.count - 8); out.append(" bytes]") }
            out.append(": ")
        case .gre:
            out.append("GREv0, ")
            if let k = t.vni { out.append("key=0x"); out.append(hex: k, width: 1); out.append(", ") }
            out.append("length "); out.append(decimal: (t.ipv4.map { $0.totalLength - $0.headerLength } ?? t.ipv6.map { $0.payloadLength } ?? 0))
            out.append(": ")
        case .ipip:
            break
        }
        for m in t.middle {
            switch m {
            case .v4(let ip): out.append("IP "); out.append(ip.source); out.append(" > "); out.append(ip.destination)
            case .v6(let ip): out.append("IP6 "); out.append(ip.source); out.append(" > "); out.append(ip.destination)
            }
            out.append(": ")
        }
    }

    private mutating func writeNetwork(_ p: Packet, to out: inout TextBuffer) {
        if let t = p.tunnel { writeTunnel(t, to: &out) }
        if let ip = p.ipv4 {
            out.append("IP ")
            if ip.fragmentOffset != 0 {
                out.append(ip.source); out.append(" > "); out.append(ip.destination)
                out.append(": ip-proto-"); out.append(decimal: ip.proto.rawValue); out.append(" (frag ")
                out.append(decimal: ip.identification); out.append(":"); out.append(decimal: ip.payload.count)
                out.append("@"); out.append(decimal: ip.fragmentOffset); out.append(ip.moreFragments ? "+)" : ")")
                return
            }
            writeTransport(p, ip.source, ip.destination, ip.proto, ip.payload.count, ipPayloadLength: p.ipPayloadLength ?? 0, to: &out)
        } else if let ip = p.ipv6 {
            out.append("IP6 ")
            if ip.fragmentOffset != 0 {
                out.append(ip.source); out.append(" > "); out.append(ip.destination)
                out.append(": frag ("); out.append(decimal: ip.fragmentOffset); out.append("|")
                out.append(decimal: ip.payload.count); out.append(")")
                return
            }
            writeTransport(p, ip.source, ip.destination, ip.upperProtocol, ip.payload.count,
                           ipPayloadLength: max(0, p.ipPayloadLength ?? 0), to: &out)
        } else {
            writeLinkOnly(p, to: &out)
        }
    }

    private func writeLinkOnly(_ p: Packet, to out: inout TextBuffer) {
        guard let type = p.etherType else {
            if let e = p.ethernet, e.isLengthField { out.append("802.3, length "); out.append(decimal: p.originalLength); return }
            writeStop(p, to: &out, fallback: "unknown link")
            return
        }
        if type == .arp {
            let b: ByteView
            // Inside a tunnel the ARP is in the inner Ethernet frame, not the outer one.
            if let e = p.tunnel?.innerEthernet ?? p.ethernet { b = e.payload } else if let c = p.cooked { b = c.payload } else { b = p.bytes }
            if let op = b.u16(at: 6), let spa = IPAddress(v4In: b, at: 14), let tpa = IPAddress(v4In: b, at: 24) {
                if op == 1 { out.append("ARP, Request who-has "); out.append(tpa); out.append(" tell "); out.append(spa) }
                else if op == 2 { out.append("ARP, Reply "); out.append(spa); out.append(" is-at "); out.append(MACAddress(in: b, at: 8)?.description ?? "?") }
                else { out.append("ARP, op "); out.append(decimal: op) }
                out.append(", length "); out.append(decimal: b.count)
            } else {
                out.append("ARP [|arp]")
            }
            return
        }
        if case .complete = p.stop {
            out.append(type.name); out.append(", length "); out.append(decimal: p.originalLength)
        } else {
            writeStop(p, to: &out, fallback: "")
        }
    }

    private func writeStop(_ p: Packet, to out: inout TextBuffer, fallback: StaticString) {
        switch p.stop {
        case .complete: out.append(fallback)
        case .truncated(let e): out.append("[|"); out.append(e.layer); out.append("]")
        case .malformed(let e): out.append("["); out.append(e.layer); out.append(" (invalid)]")
        }
    }

    private mutating func writeTransport(_ p: Packet, _ src: IPAddress, _ dst: IPAddress, _ proto: IPProtocol,
                                         _ captured: Int, ipPayloadLength: Int, to out: inout TextBuffer) {
        if let t = p.tcp {
            writeEndpoints(src, t.sourcePort, dst, t.destinationPort, to: &out)
            writeTCP(p, t, src, dst, segmentLength: ipPayloadLength - t.headerLength, to: &out)
        } else if let u = p.udp {
            writeEndpoints(src, u.sourcePort, dst, u.destinationPort, to: &out)
            if let d = p.dns {
                d.summary(into: &out, length: p.dnsLength)
            } else {
                out.append("UDP, length "); out.append(decimal: u.payloadLength)
            }
            if case .truncated = p.stop, p.dns == nil { out.append(" [|udp]") }
        } else if let i = p.icmp {
            out.append(src); out.append(" > "); out.append(dst); out.append(": ")
            i.summary(into: &out, length: ipPayloadLength)
        } else if let g = p.gre, g.version == 1 {
            out.append(src); out.append(" > "); out.append(dst); out.append(": ")
            g.summary(into: &out, length: ipPayloadLength)
        } else if proto == .gre, case .truncated = p.stop, let b = p.ipv4?.payload ?? p.ipv6?.payload, b.u16(at: 0).map({ $0 & 7 == 1 }) ?? false {
            // An enhanced GRE header cut by the snaplen: what was captured of it, as tcpdump.
            out.append(src); out.append(" > "); out.append(dst); out.append(": ")
            GREView.summaryV1(b, length: ipPayloadLength, into: &out)
        } else if proto == .tcp || proto == .udp, let ports = p.ipv4?.payload ?? p.ipv6?.payload,
                  let sp = ports.u16(at: 0), let dp = ports.u16(at: 2) {
            // Transport header cut short: the ports were captured, as tcpdump shows them.
            writeEndpoints(src, sp, dst, dp, to: &out)
            writeStop(p, to: &out, fallback: "")
        } else {
            out.append(src); out.append(" > "); out.append(dst); out.append(": ")
            switch p.stop {
            case .complete:
                out.append("ip-proto-"); out.append(decimal: proto.rawValue); out.append(" "); out.append(decimal: ipPayloadLength)
            default:
                writeStop(p, to: &out, fallback: "")
            }
        }
    }

    private func writeEndpoints(_ src: IPAddress, _ sp: UInt16, _ dst: IPAddress, _ dp: UInt16, to out: inout TextBuffer) {
        out.append(src); out.append(byte: 46); out.append(decimal: sp); out.append(" > ")
        out.append(dst); out.append(byte: 46); out.append(decimal: dp); out.append(": ")
    }

    /// The segment's sequence and acknowledgment numbers as printed: relative to the first
    /// segment with ACK seen in its connection (tcpdump without `-S`), which this learns.
    private mutating func sequenceNumbers(_ t: TCPView, _ src: IPAddress, _ dst: IPAddress) -> (UInt32, UInt32) {
        let flags = t.flags
        var seq = t.sequence
        var ack = t.acknowledgment
        if !absoluteSequence && flags.contains(.ack) {
            let key = FlowKey(Endpoint(src, t.sourcePort), Endpoint(dst, t.destinationPort), proto: .tcp)
            let fromA = key.a == Endpoint(src, t.sourcePort)
            if let base = tcpBases[key], !flags.contains(.syn) {
                (seq, ack) = base.relative(seq: seq, ack: ack, fromA: fromA)
            } else {
                tcpBases[key] = fromA ? SequenceBases(a: seq, b: ack &- 1) : SequenceBases(a: ack &- 1, b: seq)
            }
        }
        return (seq, ack)
    }

    /// Learns from a packet that is not printed (hidden by a display filter) what `write`
    /// would have learned: the previous time (`-ttt`), the first time (`-ttttt`) and TCP
    /// sequence bases. Printed lines then read exactly as they do without the filter.
    public mutating func skip(_ p: Packet) {
        if p.wire != nil { return skip(p.asCaptured) }
        previous = p.timestamp
        if first == nil { first = p.timestamp }
        guard let t = p.tcp else { return }
        if let ip = p.ipv4 {
            if ip.fragmentOffset == 0 { _ = sequenceNumbers(t, ip.source, ip.destination) }
        } else if let ip = p.ipv6, ip.fragmentOffset == 0 {
            _ = sequenceNumbers(t, ip.source, ip.destination)
        }
    }

    private mutating func writeTCP(_ p: Packet, _ t: TCPView, _ src: IPAddress, _ dst: IPAddress, segmentLength: Int,
                                   to out: inout TextBuffer) {
        let flags = t.flags
        out.append("Flags ["); flags.write(to: &out); out.append("]")
        let (seq, ack) = sequenceNumbers(t, src, dst)
        let len = max(segmentLength, 0)
        if len > 0 {
            out.append(", seq "); out.append(decimal: seq); out.append(":"); out.append(decimal: seq &+ UInt32(truncatingIfNeeded: len))
        } else if flags.contains(.syn) || flags.contains(.fin) || flags.contains(.rst) {
            out.append(", seq "); out.append(decimal: seq)
        }
        if flags.contains(.ack) { out.append(", ack "); out.append(decimal: ack) }
        out.append(", win "); out.append(decimal: t.window)
        if flags.contains(.urg) { out.append(", urg "); out.append(decimal: t.urgentPointer) }
        if t.isTruncated {
            // Options cut by the snaplen: the fixed header and the options captured, then
            // where the cut falls, as tcpdump prints it (TCPView.writeCutOptions).
            out.append(", options [")
            guard t.writeCutOptions(to: &out) else { return }
            out.append(", length "); out.append(decimal: len)
            return
        }
        if t.headerLength > 20 {
            out.append(", options [")
            var firstOpt = true
            t.forEachOption { o in
                if !firstOpt { out.append(",") }
                firstOpt = false
                o.write(to: &out)
            }
            out.append("]")
        }
        out.append(", length "); out.append(decimal: len)
        if let d = p.dns, p.dnsOverTCP {
            out.append(" "); d.summary(into: &out, length: p.dnsLength)
        } else if len > 0 {
            // HTTP/1.x by content on any port: `: HTTP: GET /mytest HTTP/1.1` (tcpdump's
            // txtproto_print; tcpdump itself only looks on ports 80, 8080, ...).
            HTTP.writeSummary(t.payload, to: &out)
        }
    }
}

extension TextBuffer {
    /// Appends `v` right-aligned in `widthSpaces` columns (tcpdump `-#`).
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T, widthSpaces: Int) {
        var digits = 1
        var t = UInt64(clamping: v)
        while t >= 10 { t /= 10; digits += 1 }
        if digits < widthSpaces { for _ in 0..<(widthSpaces - digits) { append(byte: 32) } }
        append(decimal: v)
    }
}
