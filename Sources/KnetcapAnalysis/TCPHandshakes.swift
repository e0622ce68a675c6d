import KnetcapWire
import KnetcapDissect

/// One TCP connection attempt as the tracker keeps it: the client's SYNs and how (or whether)
/// the server answered. Small owned values only.
public struct Handshake: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    /// The client's initial sequence number.
    public var isn: UInt32
    /// The SYN and its retransmissions (same ISN, at least `minRetransmitGap` apart); at most
    /// `maxSYNsKept` kept, `synCount` counts all.
    public var syns: [FrameRef]
    public var synCount: Int
    /// TSval of the first SYN (RFC 7323), if it carried the option.
    public var tsval: UInt32?
    /// A SYN-ACK from the server acknowledging the SYN (ack = ISN + 1).
    public var synAck: FrameRef?
    /// A RST/ACK from the server acknowledging the SYN: nothing listens.
    public var refused: FrameRef?
    /// A SYN-ACK acknowledging the SYN from another address or port (reply-source mismatch).
    public var mismatch: (from: Endpoint, frame: FrameRef)?
    /// The client's RST to the mismatched source (its kernel rejects the unexpected SYN-ACK).
    public var clientReset: FrameRef?
    /// The UDP answer with TC=1 this TCP connection to port 53 is the retry of.
    public var dnsTruncatedAnswer: FrameRef?
    /// An earlier segment on the same 4-tuple (same client address and port, same server; its
    /// SYN or any later segment within 60 s) with a larger TSval: a peer still holding that connection in TIME_WAIT (or one with per-host
    /// timestamp checks, `tcp_tw_recycle`) rejects this SYN by PAWS (RFC 7323 §5). Linux picks
    /// the timestamp offset per 4-tuple, so one host's TSval on one tuple only grows; going
    /// backwards means another host behind the same NAT reused the tuple.
    public var earlierTS: (tsval: UInt32, frame: FrameRef)?
    public var lastActivity: Timestamp
}

extension Handshake {
    /// The client's first SYN as evidence (`SYN 10.0.0.2:40000 -> 10.0.0.3:80, seq 123`, or `note`).
    func synEvidence(_ note: String? = nil) -> Evidence {
        Evidence(frame: syns[0].frame, time: syns[0].time, note: note ?? "SYN \(client.text) -> \(server.text), seq \(isn)")
    }

    /// Each retransmission of the SYN as evidence; `note` gets its gap to the previous SYN (seconds).
    func resentSYNEvidence(_ note: (Double) -> String) -> [Evidence] {
        syns.indices.dropFirst().map { i in
            Evidence(frame: syns[i].frame, time: syns[i].time, note: note(syns[i].time - syns[i - 1].time))
        }
    }
}

/// What became of a handshake.
public enum HandshakeOutcome: Sendable {
    /// SYN answered by RST/ACK from the destination.
    case refused(Handshake)
    /// SYN retransmitted and never answered; `listening` is a frame proving the server port
    /// accepts connections (a SYN-ACK from it), when the capture has one.
    case unanswered(Handshake, listening: FrameRef?)
    /// SYN answered by a SYN-ACK from another address or port.
    case replyMismatch(Handshake)
}

/// Follows TCP handshakes over the whole capture: SYN, SYN retransmissions with their gaps,
/// SYN-ACK, RST, and SYN-ACKs from an unexpected source. Both directions meet on the client
/// endpoint. State is expired by capture time; `maxHandshakes` caps memory (oldest evaluated
/// early). Reports outcomes that are faults; completed handshakes are dropped.
public struct TCPHandshakeTracker {
    public static let maxSYNsKept = 8
    /// SYN copies closer than this (seconds) are one transmission captured twice.
    public static let minRetransmitGap = 0.5
    /// An unanswered handshake is judged after this long (capture seconds) without a new SYN
    /// (Linux backs off 1, 2, 4 ... 64 s; 70 s covers every gap).
    public var unansweredHorizon = 70.0
    /// A reply-source mismatch is reported after this long without activity.
    public var mismatchHorizon = 3.0
    public var maxHandshakes = 500_000

    private var open: [Endpoint: Handshake] = [:]  // keyed by the client endpoint
    /// Server endpoints that sent a SYN-ACK: they listen.
    public private(set) var listening: [Endpoint: FrameRef] = [:]
    private var undecided: [Handshake] = []
    /// The last (highest) TSval sent on each directed tuple, for 60 s (TIME_WAIT).
    private var lastTS: [TupleKey: (tsval: UInt32, frame: FrameRef)] = [:]
    private var truncatedDNS: [PairKey: FrameRef] = [:]
    private var nextSweep: Int64 = .min
    private var nextPrune: Int64 = .min

    struct PairKey: Hashable { var a: IPAddress; var b: IPAddress }
    struct TupleKey: Hashable { var client: Endpoint; var server: Endpoint }

    public init() {}

    /// Notes a UDP DNS answer with TC=1 (server → client) so a following TCP connection to
    /// the server's port 53 is known as the fallback.
    public mutating func noteTruncatedDNS(server: IPAddress, client: IPAddress, frame: FrameRef) {
        truncatedDNS[PairKey(a: client, b: server)] = frame
    }

    public mutating func observe(_ p: Packet, report: (HandshakeOutcome) -> Void) {
        let now = p.timestamp
        if now.seconds >= nextSweep {
            sweep(now: now, final: false, report: report)
            nextSweep = now.seconds.saturatingAdd(1)
        }
        guard let t = p.tcp else { return }
        let flags = t.flags
        // PAWS compares a new SYN with the last TSval the peer kept for the tuple (ts_recent,
        // RFC 7323 §5.3; Linux keeps it in TIME_WAIT): the highest sent on the directed tuple by
        // any segment, not only by its SYN. Followed for tuples that began or ended in the capture.
        if !flags.contains(.syn), let ts = t.timestampValue, !lastTS.isEmpty || flags.contains(.fin),
           let src = p.sourceAddress, let dst = p.destinationAddress {
            let tuple = TupleKey(client: Endpoint(src, t.sourcePort), server: Endpoint(dst, t.destinationPort))
            if let prev = lastTS[tuple] {
                if Int32(bitPattern: ts &- prev.tsval) > 0 { lastTS[tuple] = (ts, FrameRef(frame: p.number, time: now)) }
            } else if flags.contains(.fin) {
                lastTS[tuple] = (ts, FrameRef(frame: p.number, time: now))
            }
        }
        guard flags.contains(.syn) || flags.contains(.rst) else { return }
        guard let src = p.sourceAddress, let dst = p.destinationAddress else { return }
        let from = Endpoint(src, t.sourcePort), to = Endpoint(dst, t.destinationPort)
        let frame = FrameRef(frame: p.number, time: now)

        if flags.contains(.syn) && !flags.contains(.ack) {
            if var h = open[from], h.server == to, h.isn == t.sequence {
                if let last = h.syns.last, now - last.time >= Self.minRetransmitGap {
                    h.synCount += 1
                    if h.syns.count < Self.maxSYNsKept { h.syns.append(frame) }
                }
                h.lastActivity = now
                open[from] = h
                return
            }
            if let old = open.removeValue(forKey: from) { finish(old, report: report) }
            var h = Handshake(client: from, server: to, isn: t.sequence, syns: [frame], synCount: 1,
                              lastActivity: now)
            let pair = PairKey(a: src, b: dst)
            if let ts = t.timestampValue {
                h.tsval = ts
                let tuple = TupleKey(client: from, server: to)
                if let prev = lastTS[tuple], now - prev.frame.time <= 60, Int32(bitPattern: prev.tsval &- ts) > 0 {
                    h.earlierTS = prev
                }
                lastTS[tuple] = (ts, frame)
            }
            if to.port == 53, let tc = truncatedDNS[pair], now - tc.time <= 10 { h.dnsTruncatedAnswer = tc }
            open[from] = h
            if open.count > maxHandshakes { sweep(now: now, final: false, report: report, force: true) }
            return
        }

        if flags.contains(.syn) && flags.contains(.ack) {
            if listening[from] == nil { listening[from] = frame }
            guard var h = open[to], t.acknowledgment == h.isn &+ 1 else { return }
            if h.server == from {
                h.synAck = frame
                if h.mismatch == nil { open.removeValue(forKey: to); return }  // healthy
                open[to] = h
            } else if h.mismatch == nil {
                h.mismatch = (from, frame)
                h.lastActivity = now
                open[to] = h
            }
            return
        }

        // RST
        if flags.contains(.ack), var h = open[to], h.server == from, h.synAck == nil, t.acknowledgment == h.isn &+ 1 {
            h.refused = frame
            open.removeValue(forKey: to)
            if h.mismatch != nil { report(.replyMismatch(h)) } else { report(.refused(h)) }
            return
        }
        if var h = open[from], let m = h.mismatch, m.from == to, h.clientReset == nil {
            h.clientReset = frame
            h.lastActivity = now
            open[from] = h
        }
    }

    /// Evaluates everything still open at the end of the capture.
    public mutating func finish(at end: Timestamp?, report: (HandshakeOutcome) -> Void) {
        sweep(now: end ?? Timestamp(seconds: .max / 2, nanoseconds: 0), final: true, report: report)
        let pending = undecided
        undecided.removeAll()
        for h in pending.sorted(by: { $0.syns[0].frame < $1.syns[0].frame }) {
            report(.unanswered(h, listening: listening[h.server]))
        }
    }

    private mutating func finish(_ h: Handshake, report: (HandshakeOutcome) -> Void) {
        if h.mismatch != nil { report(.replyMismatch(h)); return }
        guard h.synAck == nil, h.refused == nil, h.synCount >= 2 else { return }
        if let l = listening[h.server] { report(.unanswered(h, listening: l)) } else { undecided.append(h) }
    }

    private mutating func sweep(now: Timestamp, final: Bool, report: (HandshakeOutcome) -> Void, force: Bool = false) {
        var done: [Handshake] = []
        for (k, h) in open {
            let idle = now - h.lastActivity
            if final || (h.mismatch != nil && idle > mismatchHorizon) || idle > (force ? unansweredHorizon / 4 : unansweredHorizon) {
                done.append(h)
                open.removeValue(forKey: k)
            }
        }
        done.sort { $0.syns[0].frame < $1.syns[0].frame }
        for h in done { finish(h, report: report) }
        // The TSval and TC=1 memories only need trimming now and then, not every second.
        if !final && now.seconds >= nextPrune {
            nextPrune = now.seconds.saturatingAdd(10)
            lastTS = lastTS.filter { now - $0.value.frame.time <= 60 }
            truncatedDNS = truncatedDNS.filter { now - $0.value.time <= 10 }
        }
    }
}
