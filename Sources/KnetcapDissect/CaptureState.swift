import KnetcapWire

/// Values of a packet that depend on the packets before it, filled in by `CaptureState.track`
/// (all empty when the packet was not tracked). Times are nanoseconds.
public struct TrackedFields: Sendable {
    /// `CaptureState.track` saw this packet.
    public var isTracked = false
    /// `frame.time_relative`: since the first packet of the capture, ns.
    public var timeRelative: Int64 = 0
    /// `frame.time_delta`: since the previous captured packet, ns (0 for the first).
    public var timeDelta: Int64 = 0
    /// `tcp.stream`: the TCP conversation's index, 0-based in order of first appearance.
    public var tcpStream: UInt32?
    /// `tcp.seq` / `tcp.ack` relative to the connection's first sequence numbers, as tshark
    /// computes them (raw values for IP fragments and headers longer than the datagram).
    public var tcpSeq: UInt32?
    public var tcpAck: UInt32?
    /// `tcp.window_size`: the window field scaled by the sender's Window Scale shift (RFC 7323
    /// §2.2; never on a SYN), and `tcp.window_size_scalefactor`: 2^shift, -1 when the
    /// handshake was not seen, -2 when either side did not offer scaling (as tshark).
    public var tcpWindowSize: UInt32?
    public var tcpWindowScaleFactor: Int32?
    /// `dns.time`: a response's time since the query that opened its transaction (its id in its
    /// conversation; a repeat within 5 s of that query, unanswered, is a retransmission of it, as
    /// tshark's packet-dns.c has it), ns; only on the first response.
    public var dnsTime: Int64?
    /// The HTTP/1.x message head this packet completes (its first segment, or the segment that
    /// ended a head split across segments).
    public var http: HTTPMessage?

    public init() {}
}

/// Per-capture state for the fields that need earlier packets (Wireshark's conversations):
/// `frame.time_relative`, `frame.time_delta`, `tcp.stream`, relative `tcp.seq`/`tcp.ack`,
/// `dns.time`, and HTTP heads split across TCP segments. Feed it every packet in capture order
/// (`track`), whether or not the packet is displayed; it never looks at the clock.
///
/// What it keeps, and its bounds:
/// - one small record per TCP conversation (stream index, base sequence numbers, last time
///   seen), within `conversationBudgetBytes`; past it the conversation seen least recently is
///   dropped, O(1) amortised (a later packet of a dropped conversation starts a new stream
///   index), and counted in `limits`;
/// - the time of the query that opened each unanswered transaction per (conversation, DNS id),
///   within `dnsBudgetBytes` (its first answer removes it); past it the oldest query is dropped
///   (its response gets no `dns.time`), counted too;
/// - per TCP direction, the bytes of an HTTP head still waiting for its end, at most
///   `HTTP.maxHeadLength` bytes each (segments that arrived early, past a gap, held within
///   that, at most 16), `maxPartialHeads` directions at once, each forgotten after 60 s of
///   capture time without a segment.
public struct CaptureState {
    /// Which families of tracked fields to compute; a display filter asks only for what it reads.
    public struct Tracking: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `frame.time_relative`, `frame.time_delta`.
        public static let time = Self(rawValue: 1)
        /// `tcp.stream`, `tcp.seq`, `tcp.ack`.
        public static let tcp = Self(rawValue: 2)
        /// `dns.time`.
        public static let dns = Self(rawValue: 4)
        /// `http` and `http.*` (heads reassembled across segments).
        public static let http = Self(rawValue: 8)
        /// `frame.interface_id`, `frame.comment`: read from a pcapng record (CaptureSession).
        public static let record = Self(rawValue: 16)
        public static let all: Self = [.time, .tcp, .dns, .http, .record]
    }

    public static let conversationBudgetBytes = 64 << 20
    /// 2^18 query times: `dnsBudgetBytes` = entries x bytes per entry (slot, queue items).
    public static let maxDNSQueries = 1 << 18
    public static let dnsBudgetBytes = maxDNSQueries * bytesPerQuery
    static let bytesPerQuery = (MemoryLayout<DNSQueryKey>.stride + MemoryLayout<DNSQueryTime>.stride) * 4 / 3
        + 2 * MemoryLayout<EvictionQueue<DNSQueryKey>.Item>.stride
    /// tshark's `dns.retransmission_timer` (5 s, packet-dns.c): a query repeated sooner than this
    /// after the first transmission of its transaction, unanswered, is a retransmission of it.
    static let dnsRetransmissionTimer: Int64 = 5_000_000_000
    /// Query times older than this (capture seconds) go first when the table is full.
    static let dnsQueryMemory: Int64 = 120
    public static let maxConversations = TableBudget(bytes: CaptureState.conversationBudgetBytes, FlowKey.self, TCPConversation.self).maxEntries
    public static let maxPartialHeads = 4096

    public let tracking: Tracking

    private var first: Timestamp?
    private var previous: Timestamp?
    private var conversations: [FlowKey: TCPConversation] = [:]
    private var nextStream: UInt32 = 0
    private var dnsQueries: [DNSQueryKey: DNSQueryTime] = [:]
    private var conversationQueue = EvictionQueue<FlowKey>()  // by last seen (capture second)
    private var dnsQueue = EvictionQueue<DNSQueryKey>()
    private var droppedConversations = 0, droppedQueries = 0

    /// What the state limits dropped from tracking (empty when nothing was).
    public var limits: [StateLimitNote] {
        var n: [StateLimitNote] = []
        if droppedConversations > 0 {
            n.append(StateLimitNote(what: "TCP conversations (tcp.stream)", dropped: droppedConversations,
                                    budgetBytes: Self.conversationBudgetBytes, maxEntries: Self.maxConversations))
        }
        if droppedQueries > 0 {
            n.append(StateLimitNote(what: "DNS query times (dns.time)", dropped: droppedQueries, budgetBytes: Self.dnsBudgetBytes, maxEntries: Self.maxDNSQueries))
        }
        return n
    }
    private var partialHeads: [DirectedFlow: PartialHead] = [:]

    /// HTTP heads need the TCP conversations: a segment whose bytes were all seen before (a
    /// retransmission) carries no new head.
    public init(tracking: Tracking = .all) { self.tracking = tracking.contains(.http) ? tracking.union(.tcp) : tracking }


    /// Fills `p.tracked` from `p` and the packets tracked before it.
    public mutating func track(_ p: inout Packet) {
        p.tracked.isTracked = true
        let ts = p.timestamp
        if tracking.contains(.time) {
            p.tracked.timeRelative = first.map { nanoseconds(ts, since: $0) } ?? 0
            p.tracked.timeDelta = previous.map { nanoseconds(ts, since: $0) } ?? 0
        }
        if first == nil { first = ts }
        previous = ts
        if let t = p.tcp, let src = p.sourceAddress, let dst = p.destinationAddress {
            let from = Endpoint(src, t.sourcePort), to = Endpoint(dst, t.destinationPort)
            let key = FlowKey(from, to, proto: .tcp)
            // A segment carrying only bytes its direction sent before (a retransmission, tshark's
            // `tcp.analysis.retransmission` when whole): tshark hands them to no dissector
            // again, so they give no `http.*` fields.
            let repeated = tracking.contains(.tcp) ? trackTCP(&p, t, key, fromA: key.a == from) : false
            if tracking.contains(.http), !repeated { trackHTTP(&p, t, DirectedFlow(key: key, fromA: key.a == from)) }
        }
        if p.icmp != nil, tracking.contains(.tcp), let q = p.icmpQuote, let h = q.tcpBytes, let src = q.source, let dst = q.destination,
           let sp = h.u16(at: 0), let dp = h.u16(at: 2), let seq = h.u32(at: 4), let flags = h.u16(at: 12), h.count >= 16 {
            // The TCP header an ICMP error quotes (16 bytes or more: tshark reads that far
            // first): its conversation, found or started as tshark's (no analysis:
            // in_error_pkt), for its `tcp.stream`.
            let from = Endpoint(src, sp), key = FlowKey(from, Endpoint(dst, dp), proto: .tcp)
            var c = conversation(key, TCPFlags(rawValue: flags & 0x01ff), seq: seq, fromA: key.a == from, now: ts.seconds)
            c.lastSeen = ts.seconds
            p.icmpQuote?.tcpStream = c.stream
            conversations[key] = c
        }
        if tracking.contains(.dns), let d = p.dns, let src = p.sourceAddress, let dst = p.destinationAddress,
           let sp = p.sourcePort, let dp = p.destinationPort {
            let key = DNSQueryKey(flow: FlowKey(Endpoint(src, sp), Endpoint(dst, dp), proto: p.tcp != nil ? .tcp : .udp), id: d.id)
            func query(_ key: DNSQueryKey) {
                // A repeat of an unanswered query less than `dnsRetransmissionTimer` after the
                // one that opened it is a retransmission: its answer is timed from that first one.
                if let q = dnsQueries[key], nanoseconds(ts, since: q.time) < Self.dnsRetransmissionTimer { return }
                let serial = dnsQueue.serial()
                // Full: the oldest go, and with them every query older than `dnsQueryMemory`.
                if dnsQueries.count >= Self.maxDNSQueries && dnsQueries[key] == nil {
                    var evicted = 0
                    while let item = dnsQueue.first {
                        guard let q = dnsQueries[item.key], q.serial == item.serial else { dnsQueue.removeFirst(); continue }
                        let (age, overflow) = ts.seconds.subtractingReportingOverflow(q.time.seconds)
                        guard evicted == 0 || overflow || age >= Self.dnsQueryMemory, item.key != key else { break }
                        dnsQueue.removeFirst()
                        dnsQueries.removeValue(forKey: item.key)
                        droppedQueries += 1
                        evicted += 1
                    }
                }
                dnsQueries[key] = DNSQueryTime(time: ts, serial: serial)
                dnsQueue.push(key, serial)
                let table = dnsQueries
                dnsQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
            }
            if d.isResponse {
                // The first answer closes the transaction: a repeated answer gets no dns.time
                // (tshark: a retransmitted response), a later query with the id opens a new one.
                // A response whose records do not all fit (cut by the snaplen, or malformed) gets
                // none and leaves the query open: tshark's DNS dissector stops at the record
                // that runs past the bytes, before it times the response.
                if d.forEachRecord({ _ in true }), let q = dnsQueries.removeValue(forKey: key) {
                    p.tracked.dnsTime = nanoseconds(ts, since: q.time)
                }
            } else {
                query(key)
            }
            // Further queries one TCP segment completed (their responses' dns.time starts here).
            for m in p.moreDNS where !m.isResponse { var k = key; k.id = m.id; query(k) }
        }
    }

    // MARK: TCP conversations (Wireshark packet-tcp.c: conversation per address/port pair,
    // a new one when a SYN's sequence number differs from the base of the existing one;
    // base sequence numbers from the first segment each way, or from the SYN-ACK's ack).

    private struct TCPConversation {
        var stream: UInt32
        var bases = SequenceBases()
        var setA = false, setB = false
        /// Window Scale shift each way from its SYN: -1 not seen, -2 not offered.
        var scaleA: Int8 = -1, scaleB: Int8 = -1
        /// Each direction's next sequence number with every byte before it seen (advanced by
        /// segments that start at or before it: one past a gap does not move it, so the late
        /// segment that fills the gap is new bytes, not a retransmission).
        var nextA: UInt32 = 0, nextB: UInt32 = 0
        var nextSetA = false, nextSetB = false
        var lastSeen: Int64
        /// Its item in `conversationQueue`, re-queued at most once per capture second.
        var serial: UInt32 = 0
    }

    /// The conversation of `key` for a segment (its flags and sequence number) seen at capture
    /// second `now`: the one known,
    /// a new one for a SYN whose sequence number is not its direction's base (port reuse), or
    /// a new one; queued again when seen in a new second. The caller stores it back.
    private mutating func conversation(_ key: FlowKey, _ flags: TCPFlags, seq: UInt32, fromA: Bool, now: Int64) -> TCPConversation {
        var c: TCPConversation
        if let existing = conversations[key] {
            c = existing
            let fwdSet = fromA ? c.setA : c.setB, fwdBase = fromA ? c.bases.a : c.bases.b
            if flags.contains(.syn) && !flags.contains(.ack) && fwdSet && seq != fwdBase {
                c = TCPConversation(stream: nextStream, lastSeen: now)  // port reuse
                c.serial = conversationQueue.serial()
                conversationQueue.push(key, c.serial)
                nextStream &+= 1
            }
        } else {
            c = TCPConversation(stream: nextStream, lastSeen: now)
            c.serial = conversationQueue.serial()
            conversationQueue.push(key, c.serial)
            nextStream &+= 1
            if conversations.count >= Self.maxConversations { evictConversation() }
        }
        if c.lastSeen != now {  // seen in a new second: to the back of the queue
            c.serial = conversationQueue.serial()
            conversationQueue.push(key, c.serial)
            let table = conversations
            conversationQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
        }
        return c
    }

    /// Returns whether the segment's bytes were all seen before in its direction.
    private mutating func trackTCP(_ p: inout Packet, _ t: TCPView, _ key: FlowKey, fromA: Bool) -> Bool {
        var repeated = false
        let flags = t.flags
        let seq = t.sequence, ack = t.acknowledgment
        var c = conversation(key, flags, seq: seq, fromA: fromA, now: p.timestamp.seconds)
        c.lastSeen = p.timestamp.seconds
        p.tracked.tcpStream = c.stream
        if flags.contains(.syn) {
            var shift: Int8 = -2
            t.forEachOption { if case .windowScale(let v) = $0 { shift = Int8(min(v, 14)) } }  // RFC 7323 §2.3: at most 14
            if fromA { c.scaleA = shift } else { c.scaleB = shift }
            if c.scaleA == -2 || c.scaleB == -2 { c.scaleA = -2; c.scaleB = -2 }  // scaling needs both sides
        }
        let shift = fromA ? c.scaleA : c.scaleB
        p.tracked.tcpWindowScaleFactor = shift >= 0 ? 1 << Int32(shift) : Int32(shift)
        p.tracked.tcpWindowSize = !flags.contains(.syn) && shift >= 0 ? UInt32(t.window) << UInt32(shift) : UInt32(t.window)
        p.tracked.tcpSeq = seq
        p.tracked.tcpAck = ack
        // Wireshark analyses sequence numbers only when the segment length is known: not for
        // IP fragments, nor when the IP payload is shorter than the TCP header.
        let fragment = (p.ipv4?.isFragment ?? false) || (p.ipv6?.isFragment ?? false)
        if !fragment, let ipPayload = p.ipPayloadLength, ipPayload >= t.headerLength {
            // A SYN-ACK with another initial sequence number than its direction's base (the
            // server answered a re-sent SYN afresh: a hairpin retried through NAT) starts that
            // direction again at 0, as tshark's tcp.seq does.
            let synAck = flags.contains(.syn) && flags.contains(.ack)
            if (fromA ? !c.setA : !c.setB) || (synAck && seq != (fromA ? c.bases.a : c.bases.b)) {
                let base = flags.contains(.syn) ? seq : seq &- 1
                if fromA { c.bases.a = base; c.setA = true } else { c.bases.b = base; c.setB = true }
            }
            if flags.contains(.ack), fromA ? !c.setB : !c.setA {
                if fromA { c.bases.b = ack &- 1; c.setB = true } else { c.bases.a = ack &- 1; c.setA = true }
            }
            let r = c.bases.relative(seq: seq, ack: ack, fromA: fromA)
            p.tracked.tcpSeq = r.seq
            if flags.contains(.ack) { p.tracked.tcpAck = r.ack }
            // Bytes seen before: the whole segment at or below its direction's next sequence
            // number (RFC 9293 §3.4: sequence numbers compare modulo 2^32).
            let length = UInt32(truncatingIfNeeded: ipPayload - t.headerLength)
            let end = seq &+ length &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
            let (next, known) = fromA ? (c.nextA, c.nextSetA) : (c.nextB, c.nextSetB)
            repeated = length > 0 && known && Int32(bitPattern: seq &+ length &- next) <= 0
            if !known || (Int32(bitPattern: seq &- next) <= 0 && Int32(bitPattern: end &- next) > 0) {
                if fromA { c.nextA = end; c.nextSetA = true } else { c.nextB = end; c.nextSetB = true }
            }
        }
        conversations[key] = c
        return repeated
    }

    /// Drops the conversation seen least recently (to the second) from tracking.
    private mutating func evictConversation() {
        while let item = conversationQueue.first {
            conversationQueue.removeFirst()
            guard conversations[item.key]?.serial == item.serial else { continue }
            conversations.removeValue(forKey: item.key)
            droppedConversations += 1
            return
        }
    }

    // MARK: HTTP heads split across segments (RFC 9112 §2.1: the head ends at an empty line).

    private struct DirectedFlow: Hashable { var key: FlowKey; var fromA: Bool }

    private struct PartialHead {
        var bytes: [UInt8]
        var nextSeq: UInt32
        /// Segments past `nextSeq` (arrived early), until the gap before them fills; their bytes
        /// and `bytes` together stay within `HTTP.maxHeadLength`.
        var held: [(seq: UInt32, bytes: [UInt8])] = []
        var heldBytes = 0
        /// Capture second of the last segment: a head unfinished `headExpiry` seconds is dropped.
        var last: Int64
    }
    /// Capture seconds an unfinished head waits for its next segment (Linux gives up a
    /// connection's retransmissions after ~15 minutes, tcp_retries2; a client's head stalled a
    /// minute is a fault of its own, not one to reassemble).
    static let headExpiry: Int64 = 60
    static let maxHeldSegments = 16

    private mutating func trackHTTP(_ p: inout Packet, _ t: TCPView, _ dir: DirectedFlow) {
        guard let segmentLength = p.tcpSegmentLength, segmentLength > 0 else { return }
        let payload = t.payload
        let complete = payload.count >= segmentLength  // not cut by the snaplen
        let seq = t.sequence
        let now = p.timestamp.seconds
        if var part = partialHeads[dir] {
            if now &- part.last > Self.headExpiry || part.last &- now > Self.headExpiry {
                partialHeads[dir] = nil  // stalled past the expiry: forgotten
            } else {
                guard complete else { partialHeads[dir] = nil; return }  // a cut segment: the head cannot be followed
                let ahead = Int32(bitPattern: seq &- part.nextSeq)
                if ahead > 0 {
                    // Past a gap (reordered, or the segment before it lost and to be re-sent): held.
                    if part.held.count < Self.maxHeldSegments, part.bytes.count + part.heldBytes + segmentLength <= HTTP.maxHeadLength,
                       !part.held.contains(where: { $0.seq == seq }) {
                        part.held.append((seq, Array(payload.prefix(segmentLength).base)))
                        part.heldBytes += segmentLength
                    }
                    part.last = now
                    partialHeads[dir] = part
                    return
                }
                let skip = -Int(ahead)  // bytes already taken (a retransmission, or an overlap)
                if skip >= segmentLength { return }
                guard part.bytes.count + segmentLength - skip <= HTTP.maxHeadLength else { partialHeads[dir] = nil; return }
                part.bytes.append(contentsOf: payload.prefix(segmentLength).base[skip...])
                part.nextSeq = seq &+ UInt32(truncatingIfNeeded: segmentLength)
                // Held segments the stream has now reached, in sequence order.
                var progressed = true
                while progressed {
                    progressed = false
                    for (i, h) in part.held.enumerated() {
                        let a = Int32(bitPattern: h.seq &- part.nextSeq)
                        guard a <= 0 else { continue }
                        let k = -Int(a)
                        if k < h.bytes.count, part.bytes.count + h.bytes.count - k <= HTTP.maxHeadLength {
                            part.bytes.append(contentsOf: h.bytes[k...])
                            part.nextSeq = h.seq &+ UInt32(truncatingIfNeeded: h.bytes.count)
                        }
                        part.heldBytes -= h.bytes.count
                        part.held.remove(at: i)
                        progressed = true
                        break
                    }
                }
                let message: HTTPMessage?? = part.bytes.withUnsafeBytes { raw in
                    let v = ByteView(raw)
                    return HTTP.headEnd(v) == nil ? .none : .some(HTTP.parse(v))
                }
                if let m = message {
                    p.tracked.http = m  // on the frame that completes the head, as tshark
                    partialHeads[dir] = nil
                } else {
                    part.last = now
                    partialHeads[dir] = part
                }
                return
            }
        }
        guard HTTP.startsMessage(payload) else { return }
        if HTTP.headEnd(payload) != nil {
            p.tracked.http = HTTP.parse(payload)
        } else if complete && segmentLength < HTTP.maxHeadLength {
            if partialHeads.count >= Self.maxPartialHeads { partialHeads.removeAll(keepingCapacity: true) }
            partialHeads[dir] = PartialHead(bytes: Array(payload.prefix(segmentLength).base),
                                            nextSeq: seq &+ UInt32(truncatingIfNeeded: segmentLength), last: now)
        }
    }
}

private struct DNSQueryKey: Hashable {
    var flow: FlowKey
    var id: UInt16
}

private struct DNSQueryTime {
    var time: Timestamp
    var serial: UInt32
}

/// `b - a` in nanoseconds (negative when `b` is earlier), saturating at the ends of `Int64`
/// (±292 years) instead of wrapping or trapping when hostile timestamps lie further apart.
@inline(__always) func nanoseconds(_ b: Timestamp, since a: Timestamp) -> Int64 {
    let (s, o1) = b.seconds.subtractingReportingOverflow(a.seconds)
    let (ns, o2) = s.multipliedReportingOverflow(by: 1_000_000_000)
    let (r, o3) = ns.addingReportingOverflow(Int64(b.nanoseconds) - Int64(a.nanoseconds))
    return o1 || o2 || o3 ? (b < a ? .min : .max) : r
}
