import KnetcapWire
import KnetcapDissect

/// A TCP sender's segment that the path would not carry: sent at one size again and again by
/// retransmission timeout and never acknowledged, while smaller segments of the same sender on
/// the same connection were (`PathMTUTracker`, for `tcp.mtu-blackhole`). Sizes are IP total
/// lengths (IPv4 total length; IPv6 40 + payload length), bytes: what the path must carry.
public struct SegmentStall: Sendable {
    public var sender: Endpoint
    public var receiver: Endpoint
    /// The stalled segment: its sequence number, TCP payload length and IP length.
    public var sequence: UInt32
    public var payload: Int
    public var size: Int
    /// IPv4 DF set on it (routers may not fragment: RFC 1191); always true for IPv6.
    public var dontFragment: Bool
    /// Its transmissions at `size` (at most `PathMTUTracker.maxSendsKept` kept; `sendCount` counts all).
    public var sends: [FrameRef]
    public var sendCount: Int
    /// The largest segment of the sender acknowledged (cumulatively or by SACK) at the size it
    /// was sent: the size that gets through, with its frame and the acknowledging frame.
    public var delivered: Delivery?
    /// A smaller segment sent after the stalled one's first transmission and acknowledged: the
    /// path still carried small packets while the big one failed.
    public var smallAfter: Delivery?
    /// An ICMP "fragmentation needed" (3/4) or ICMPv6 "packet too big" quoting this connection
    /// seen in the capture, with the MTU it announced and its sender.
    public var icmp: (mtu: Int, frame: FrameRef, from: IPAddress)?
    /// The stalled data re-sent in smaller segments and acknowledged (the sender lowered its
    /// MSS: RFC 4821 probing, `net.ipv4.tcp_mtu_probing`, or a late ICMP).
    public var recovered: Delivery?

    public struct Delivery: Sendable {
        public var size: Int
        public var frame: FrameRef
        public var ack: FrameRef
    }
}

/// Follows the data segments of each TCP sender and the receiver's acknowledgements (cumulative
/// ACK and SACK blocks, RFC 2018) to find segments the path drops by size: a segment re-sent at
/// the same size by retransmission timeout `minSends` - 1 times (Linux's black-hole detection
/// point: tcp_write_timeout calls tcp_mtu_probing after `tcp_retries1` = 3 timeouts, RFC 1122
/// R1), never acknowledged, larger than every segment that was acknowledged at its first
/// transmission size. A segment acknowledged after being re-sent at the same size proves that
/// size passes (ordinary loss: nothing reported). Published when the connection ends (RST,
/// idle `idleHorizon` s, or the capture's end), so recovery and ICMP are known; a sender whose
/// FIN is sent and everything acknowledged is dropped then (nothing of it can stall any more).
///
/// Bounded: `budgetBytes` of connections (least recently active dropped and counted, except one
/// with a stall, which is judged), each holding at most `maxSegments` unacknowledged segments
/// (past it the oldest but the first is forgotten: never a finding, at most a missed one).
public struct PathMTUTracker {
    public static let minSends = 4
    public static let maxSegments = 8
    public static let maxSendsKept = 8
    public static let idleHorizon = 120.0
    public static let budgetBytes = 16 << 20

    struct Segment {
        var seq: UInt32
        var len: UInt32
        var size: Int32
        var sends: UInt16
        var resized: Bool
        var first: FrameRef
        /// Its last transmission.
        var latest: FrameRef
        /// Its re-sends at the same size (kept only once it is re-sent; at most `maxSendsKept`).
        var resent: [FrameRef] = []
    }
    struct Flow {
        var segs: [Segment] = []
        var high: UInt32 = 0
        var hasHigh = false
        var delivered: SegmentStall.Delivery?
        /// The last few deliveries (for `smallAfter`).
        var recent: [SegmentStall.Delivery] = []
        /// The first ICMP fragmentation needed / packet too big quoting this sender.
        var icmp: (mtu: Int, frame: FrameRef, from: IPAddress)?
        /// A stall is rare: boxed, so a flow stays small (immutable box, a change makes a new one).
        var stallBox: StallBox?
        var stall: SegmentStall? {
            get { stallBox?.v }
            set { stallBox = newValue.map(StallBox.init) }
        }
        var serial: UInt32 = 0
        var last: Timestamp
        /// The sender's FIN was seen: past it, only re-sends of what it holds can follow.
        var finSent = false
        /// Nothing more can stall: FIN sent, every segment acknowledged, no stall to report.
        var finished: Bool { finSent && segs.isEmpty && stallBox == nil }
    }
    /// A sender towards a receiver, at one vantage point (`Packet.vantage`): the same segment
    /// seen at another (a merge of nodes' captures) is a copy, not a re-send.
    struct Key: Hashable {
        var from: Endpoint; var to: Endpoint; var vantage: UInt16 = 0
        func _rawHashValue(seed: Int) -> Int {
            var h = TableHasher(seed: seed)
            h.combine(from); h.combine(to); h.combine(UInt64(vantage))
            return h.finalized
        }
    }
    final class StallBox: @unchecked Sendable { let v: SegmentStall; init(_ v: SegmentStall) { self.v = v } }

    private var flows: [Key: Flow] = [:]
    private var queue = EvictionQueue<Key>()
    let maxFlows: Int
    private var dropped = 0
    private var nextSweep: Int64 = .min

    public init(budgetBytes: Int = PathMTUTracker.budgetBytes) {
        maxFlows = TableBudget(bytes: budgetBytes, Key.self, Flow.self,
                               heap: 32 + Self.maxSegments * MemoryLayout<Segment>.stride + 32 + 4 * MemoryLayout<SegmentStall.Delivery>.stride).maxEntries
    }

    /// What the state limit dropped from tracking (empty when nothing was).
    public var limits: [StateLimitNote] {
        dropped == 0 ? [] : [StateLimitNote(what: "TCP senders followed for the path MTU", dropped: dropped,
                                            budgetBytes: Self.budgetBytes, maxEntries: maxFlows)]
    }

    public mutating func observe(_ p: Packet, report: (SegmentStall) -> Void) {
        let now = p.timestamp
        if now.seconds >= nextSweep {
            nextSweep = now.seconds.saturatingAdd(10)
            expire(now, report: report)
        }
        let frame = FrameRef(frame: p.number, time: now)
        let v = UInt16(truncatingIfNeeded: p.vantage)
        if let i = p.icmp, p.tcp == nil { noteICMP(i, p, frame, vantage: v); return }
        guard let t = p.tcp, let src = p.sourceAddress, let dst = p.destinationAddress else { return }
        let from = Endpoint(src, t.sourcePort), to = Endpoint(dst, t.destinationPort)
        let flags = t.flags
        if flags.contains(.rst) {
            end(Key(from: from, to: to, vantage: v), report: report)
            end(Key(from: to, to: from, vantage: v), report: report)
            return
        }
        if flags.contains(.ack), !flows.isEmpty {
            let back = Key(from: to, to: from, vantage: v)
            // A sender that sent its FIN and has everything acknowledged sends nothing new: done.
            if flows.modify(back, { Self.acknowledge(&$0, t, frame); return $0.finished }) == true { flows.removeValue(forKey: back) }
        }
        let len = p.tcpSegmentLength ?? 0
        let key = Key(from: from, to: to, vantage: v)
        if len > 0, !flags.contains(.syn) {
            let size = p.ipv4?.totalLength ?? p.ipv6.map { 40 + $0.payloadLength } ?? 0
            let df = p.ipv4?.dontFragment ?? true
            send(key, seq: t.sequence, len: UInt32(truncatingIfNeeded: len), size: size, df: df, frame)
        }
        if flags.contains(.fin), flows.modify(key, { $0.finSent = true; return $0.finished }) == true { flows.removeValue(forKey: key) }
    }

    /// Publishes every stall still open.
    public mutating func finish(report: (SegmentStall) -> Void) {
        let open = flows.compactMap { $0.value.stall }.sorted { $0.sends[0].frame < $1.sends[0].frame }
        flows.removeAll()
        queue.removeAll()
        for s in open where Self.reportable(s) { report(s) }
    }

    /// A stall is a black hole only where something smaller got through.
    static func reportable(_ s: SegmentStall) -> Bool { s.delivered != nil || s.smallAfter != nil }

    private mutating func send(_ key: Key, seq: UInt32, len: UInt32, size: Int, df: Bool, _ frame: FrameRef) {
        let serial = queue.serial()
        // In place: a known flow's segment array is changed where it is stored, never copied
        // (one lookup); a new flow is made, then stored.
        if flows.modify(key, { Self.send(&$0, key, seq: seq, len: len, size: size, df: df, frame, serial: serial) }) == nil {
            while flows.count >= maxFlows, evictOldest() {}
            var f = Flow(last: frame.time)
            Self.send(&f, key, seq: seq, len: len, size: size, df: df, frame, serial: serial)
            flows[key] = f
        }
        queue.push(key, serial)
        let table = flows
        queue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    private static func send(_ f: inout Flow, _ key: Key, seq: UInt32, len: UInt32, size: Int, df: Bool, _ frame: FrameRef, serial: UInt32) {
        f.last = frame.time
        let size32 = Int32(clamping: size)
        if let i = f.segs.firstIndex(where: { $0.seq == seq }) {
            var s = f.segs[i]
            s.sends &+= 1
            s.latest = frame
            if s.size != size32 { s.resized = true; s.len = len; s.size = size32 }
            if !s.resized, s.resent.count + 1 < Self.maxSendsKept { s.resent.append(frame) }
            f.segs[i] = s
            let bigger = Int(s.size) > (f.delivered?.size ?? 0)
            if var st = f.stall, st.sequence == seq {
                if !s.resized {
                    st.sendCount += 1
                    if st.sends.count < Self.maxSendsKept { st.sends.append(frame) }
                    f.stall = st
                }
            } else if f.stall == nil, !s.resized, bigger, Int(s.sends) >= Self.minSends {
                var st = SegmentStall(sender: key.from, receiver: key.to, sequence: seq, payload: Int(len), size: Int(s.size),
                                      dontFragment: df, sends: [s.first] + s.resent, sendCount: Int(s.sends), delivered: f.delivered)
                st.icmp = f.icmp
                for d in f.recent where d.frame.frame > s.first.frame && d.size < st.size {
                    st.smallAfter = d; break
                }
                f.stall = st
            }
        } else {
            let old = f.hasHigh && Int32(bitPattern: seq &- f.high) < 0
            // Full: the oldest after the first goes. The first unacknowledged segment is the
            // one a timeout re-sends (tcp_retransmit_timer re-sends the head of the queue).
            if f.segs.count >= Self.maxSegments { f.segs.remove(at: 1) }
            f.segs.append(Segment(seq: seq, len: len, size: size32, sends: old ? 2 : 1, resized: false, first: frame, latest: frame))
        }
        let endSeq = seq &+ len
        if !f.hasHigh || Int32(bitPattern: endSeq &- f.high) > 0 { f.high = endSeq; f.hasHigh = true }
        f.serial = serial
    }

    /// The receiver's ACK (and SACK blocks) for flow `f`: segments wholly covered are delivered.
    /// SACK blocks of one segment (RFC 2018 §3: at most 4 fit in 40 option bytes), without an allocation.
    struct SACKBlocks {
        var edges: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        mutating func append(_ left: UInt32, _ right: UInt32) {
            switch count {
            case 0: edges.0 = left; edges.1 = right
            case 1: edges.2 = left; edges.3 = right
            case 2: edges.4 = left; edges.5 = right
            case 3: edges.6 = left; edges.7 = right
            default: return
            }
            count += 1
        }
        func covers(_ seq: UInt32, _ end: UInt32) -> Bool {
            func c(_ l: UInt32, _ r: UInt32) -> Bool { Int32(bitPattern: seq &- l) >= 0 && Int32(bitPattern: r &- end) >= 0 }
            return (count > 0 && c(edges.0, edges.1)) || (count > 1 && c(edges.2, edges.3))
                || (count > 2 && c(edges.4, edges.5)) || (count > 3 && c(edges.6, edges.7))
        }
    }

    private static func acknowledge(_ f: inout Flow, _ t: TCPView, _ frame: FrameRef) {
        guard !f.segs.isEmpty else { return }
        let ack = t.acknowledgment
        var blocks = SACKBlocks()
        let o = t.options
        var i = 0
        while i < o.count, let kind = o.u8(at: i) {
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard let l = o.u8(at: i + 1), l >= 2, i + Int(l) <= o.count else { break }
            if kind == 5 {
                var j = i + 2
                while j + 8 <= i + Int(l), let a = o.u32(at: j), let b = o.u32(at: j + 4) { blocks.append(a, b); j += 8 }
            }
            i += Int(l)
        }
        func covered(_ s: Segment) -> Bool {
            let e = s.seq &+ s.len
            if Int32(bitPattern: ack &- e) >= 0 { return true }
            return blocks.covers(s.seq, e)
        }
        // Segments not covered are kept, compacted in place (no new array per ACK).
        var kept = 0
        for k in f.segs.indices {
            let s = f.segs[k]
            guard covered(s) else {
                if kept != k { f.segs[kept] = s }
                kept += 1
                continue
            }
            let d = SegmentStall.Delivery(size: Int(s.size), frame: s.first, ack: frame)
            if var st = f.stall, st.sequence == s.seq || (Int32(bitPattern: s.seq &- st.sequence) >= 0
                                                          && Int32(bitPattern: s.seq &- (st.sequence &+ UInt32(st.payload))) < 0) {
                if !s.resized && Int(s.size) >= st.size {
                    f.stall = nil  // acknowledged at the size it was re-sent at: that size passes
                } else if st.recovered == nil {
                    st.recovered = SegmentStall.Delivery(size: Int(s.size), frame: s.latest, ack: frame)
                    f.stall = st
                }
            } else if var st = f.stall, s.sends == 1, Int(s.size) < st.size, st.smallAfter == nil, s.first.frame > st.sends[0].frame {
                st.smallAfter = d
                f.stall = st
            }
            if !s.resized && Int(s.size) > (f.delivered?.size ?? 0) {
                // every transmission was this size, so this size passed (Karn's ambiguity is moot)
                f.delivered = d
            }
            if s.sends == 1 {
                if f.recent.count >= 4 { f.recent.removeFirst() }
                f.recent.append(d)
            }
        }
        if kept < f.segs.count { f.segs.removeLast(f.segs.count - kept) }
    }

    /// An ICMP fragmentation needed / ICMPv6 packet too big quoting one of the flows.
    private mutating func noteICMP(_ i: ICMPView, _ p: Packet, _ frame: FrameRef, vantage: UInt16) {
        let tooBig = i.isV6 ? i.type == 2 : (i.type == 3 && i.code == 4)
        guard tooBig, let q = i.quoted, q.proto == .tcp, let sp = q.sourcePort, let dp = q.destinationPort,
              let from = p.sourceAddress else { return }
        let key = Key(from: Endpoint(q.source, sp), to: Endpoint(q.destination, dp), vantage: vantage)
        guard var f = flows[key], f.icmp == nil else { return }
        let mtu = i.isV6 ? Int(i.bytes.u32(at: 4) ?? 0) : Int(i.bytes.u16(at: 6) ?? 0)
        f.icmp = (mtu, frame, from)
        if var st = f.stall, st.icmp == nil { st.icmp = f.icmp; f.stall = st }
        flows[key] = f
    }

    private mutating func end(_ key: Key, report: (SegmentStall) -> Void) {
        guard let f = flows.removeValue(forKey: key) else { return }
        if let s = f.stall, Self.reportable(s) { report(s) }
    }

    private mutating func expire(_ now: Timestamp, report: (SegmentStall) -> Void) {
        while let item = queue.first {
            guard let f = flows[item.key], f.serial == item.serial else { queue.removeFirst(); continue }
            guard now - f.last > Self.idleHorizon else { break }
            queue.removeFirst()
            end(item.key, report: report)
        }
    }

    /// Drops the least recently active sender from tracking (counted): false when none is left.
    /// One with a stall is kept (its finding is certain; it goes at its end).
    private mutating func evictOldest() -> Bool {
        while let item = queue.first {
            queue.removeFirst()
            guard let f = flows[item.key], f.serial == item.serial else { continue }
            if f.stall != nil { continue }
            flows.removeValue(forKey: item.key)
            dropped += 1
            return true
        }
        return false
    }
}
