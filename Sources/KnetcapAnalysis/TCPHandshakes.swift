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
    /// The same SYN (client endpoint and ISN) seen again to another destination within
    /// `minRetransmitGap`: its copy after a DNAT (a bridge or router capture sees both).
    public var dnatCopy: (to: Endpoint, frame: FrameRef)?
    /// The UDP answer with TC=1 this TCP connection to port 53 is the retry of.
    public var dnsTruncatedAnswer: FrameRef?
    /// An earlier segment on the same 4-tuple (same client address and port, same server; its
    /// SYN or any later segment within 60 s) with a larger TSval: a peer still holding that connection in TIME_WAIT (or one with per-host
    /// timestamp checks, `tcp_tw_recycle`) rejects this SYN by PAWS (RFC 7323 §5). Linux picks
    /// the timestamp offset per 4-tuple, so one host's TSval on one tuple only grows; going
    /// backwards means another host behind the same NAT reused the tuple.
    public var earlierTS: (tsval: UInt32, frame: FrameRef)?
    /// The IPv4 TTL / IPv6 hop limit of the RST in `refused`, as captured.
    public var resetTTL: UInt8?
    /// The TTL (hop limit) of the last SYN-ACK the server's address sent before the RST, seen at
    /// the same vantage point, with that SYN-ACK: the same host's kernel sets both from one default (ip_default_ttl), so a
    /// RST arriving with a higher TTL was built fewer hops away (`NoEndpointsAnalyzer`).
    public var serverTTL: (ttl: UInt8, frame: FrameRef)?
    /// The ICMP destination unreachable that rejected the SYN (`HandshakeOutcome.unreachable`).
    public var unreachable: FrameRef?
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
    /// SYN answered by an ICMP/ICMPv6 destination unreachable quoting it (`Unreachable`).
    case unreachable(Handshake, Unreachable)
    /// The handshake completed at the client (its ACK of the SYN-ACK seen), but the server
    /// never took it: it re-sent the SYN-ACK after the client's ACKs (the request socket still
    /// in SYN_RECV), or answered the client's ACK with a bare RST while it had sent nothing
    /// else: the listener's accept queue was full when the ACK arrived (tcp_check_req,
    /// `listen_overflow`; `tcp_abort_on_overflow` 0 or 1).
    case ackNotTaken(Handshake, UnacceptedACK)
    /// Inside a connection the client opened to `Handshake.server`, a segment came from another
    /// address or port acknowledging the client's bytes (the same connection, its source not
    /// translated back), and the client reset it: it has no socket for that source.
    case escapedSegment(Handshake, EscapedSegment)
}

/// A segment of a connection that arrived from the wrong source (`HandshakeOutcome.escapedSegment`).
public struct EscapedSegment: Sendable {
    /// Where it came from (not the server the client connected to).
    public var from: Endpoint
    public var segment: FrameRef
    public var seq: UInt32
    public var ack: UInt32
    /// The client's ACK of the SYN-ACK from the server it asked (the connection's start).
    public var established: FrameRef
    /// The client's RST to `from`.
    public var reset: FrameRef
}

/// A handshake complete at the client that the server did not take (`HandshakeOutcome.ackNotTaken`).
public struct UnacceptedACK: Sendable {
    /// The server's initial sequence number (its SYN-ACK's seq).
    public var serverISN: UInt32
    /// The client's ACK of the SYN-ACK (ack = server ISN + 1).
    public var ack: FrameRef
    /// The client's first data segment, if it sent one.
    public var data: FrameRef?
    /// SYN-ACKs the server re-sent after the client's ACK (same seq, ack = client ISN + 1);
    /// at most the first `TCPHandshakeTracker.resendsToJudge` kept.
    public var resentSYNAcks: [FrameRef] = []
    /// The server's bare RST (no ACK flag, seq = server ISN + 1: the reset of a segment that
    /// found no socket, tcp_v4_send_reset) while it had sent nothing else.
    public var reset: FrameRef?
    /// After `reset`: a SYN-ACK from the same port (the listener still there), or a SYN
    /// refused by it (RST/ACK: the listener was gone).
    public var answeredLater: FrameRef?
    public var refusedLater: FrameRef?
}

/// An ICMP destination unreachable (RFC 792 type 3) or ICMPv6 destination unreachable (RFC
/// 4443 type 1) quoting a TCP or UDP datagram: who sent it, with which TTL, and what it quotes.
public struct Unreachable: Sendable {
    public var frame: FrameRef
    /// The ICMP packet's IP source (the host or router that answered).
    public var sender: IPAddress
    /// The ICMP packet's IPv4 TTL / IPv6 hop limit.
    public var ttl: UInt8
    public var isV6: Bool
    public var type: UInt8
    public var code: UInt8
    /// The quoted datagram's source (the client) and destination (the address it was sent to).
    public var client: Endpoint
    public var server: Endpoint
    public var proto: IPProtocol
    /// The quoted TCP sequence number (the 8 bytes every ICMP error quotes hold it), if captured.
    public var quotedSequence: UInt32?

    /// The ICMP came from the address the datagram was sent to.
    public var fromDestination: Bool { sender == server.address }
    /// Port unreachable: ICMP 3/3, ICMPv6 1/4 (kube-proxy's `-j REJECT` / nftables `reject`).
    public var isPortUnreachable: Bool { isV6 ? code == 4 : code == 3 }
    /// A code a reject rule sends: port unreachable, or administratively prohibited (ICMP 3/9,
    /// 3/10, 3/13; ICMPv6 1/1, 1/5 source address failed policy, 1/6 reject route). Net/host
    /// unreachable (no route, no ARP answer) and need-to-fragment are not rejects.
    public var isReject: Bool { isV6 ? [1, 4, 5, 6].contains(code) : [3, 9, 10, 13].contains(code) }
    /// tcpdump's words for the code.
    public var codeText: String {
        if isV6 {
            switch code {
            case 1: return "ICMPv6 administratively prohibited (1/1)"
            case 4: return "ICMPv6 port unreachable (1/4)"
            case 5: return "ICMPv6 source address failed policy (1/5)"
            case 6: return "ICMPv6 reject route (1/6)"
            default: return "ICMPv6 destination unreachable (1/\(code))"
            }
        }
        switch code {
        case 3: return "ICMP port unreachable (3/3)"
        case 9: return "ICMP network administratively prohibited (3/9)"
        case 10: return "ICMP host administratively prohibited (3/10)"
        case 13: return "ICMP communication administratively prohibited (3/13)"
        default: return "ICMP destination unreachable (3/\(code))"
        }
    }

    /// The destination unreachable in `p`, if it quotes TCP or UDP with both ports.
    public init?(_ p: Packet) {
        guard let i = p.icmp, i.type == (i.isV6 ? 1 : 3), let q = i.quoted, q.proto == .tcp || q.proto == .udp,
              let sp = q.sourcePort, let dp = q.destinationPort, let sender = p.sourceAddress else { return nil }
        frame = FrameRef(frame: p.number, time: p.timestamp)
        self.sender = sender
        ttl = p.ipv4?.ttl ?? p.ipv6?.hopLimit ?? 0
        isV6 = i.isV6; type = i.type; code = i.code
        client = Endpoint(q.source, sp); server = Endpoint(q.destination, dp); proto = q.proto
        quotedSequence = q.proto == .tcp ? Self.quotedTCPSequence(i) : nil
    }

    /// Bytes 4..<8 of the quoted transport header (TCP's sequence number), bounds-checked.
    static func quotedTCPSequence(_ i: ICMPView) -> UInt32? {
        let inner = i.bytes.suffix(from: 8)
        if i.isV6 {
            // the quoted IPv6 header is 40 bytes; extension headers before TCP are rare in a SYN
            guard let nh = inner.u8(at: 6), nh == 6 else { return nil }
            return inner.u32(at: 40 + 4)
        }
        guard let vihl = inner.u8(at: 0) else { return nil }
        return inner.u32(at: Int(vihl & 0x0f) * 4 + 4)
    }
}

/// The SYNs one server endpoint received over the capture, for `tcp.syn-flood`
/// (`SYNFloodAnalyzer`): how many handshakes began, how many were answered, and the most that
/// waited for an answer at once (half-open, as the server's SYN queue would hold them).
/// Counted for every SYN, tracked or dropped from tracking past the state limit.
public struct SYNLoad: Sendable {
    public var server: Endpoint
    /// Handshakes begun (a new client endpoint or a new ISN on it).
    public var handshakes = 0
    /// Of those, handshakes whose SYN was sent again (RTO backoff: a real client stack).
    public var retransmitted = 0
    /// Answered by a SYN-ACK from the server acknowledging the SYN (ack = ISN + 1).
    public var answered = 0
    /// Answered by RST/ACK from the server.
    public var refused = 0
    /// Completed: the client's ACK of the SYN-ACK (the kernel then frees the request socket).
    public var completed = 0
    /// Handshakes waiting for an answer now, and the most at once (with the SYN that reached it).
    public var halfOpen = 0
    public var peakHalfOpen = 0
    public var peak: FrameRef
    public var first: FrameRef
    public var last: FrameRef
    /// The first SYN-ACK the server sent, if any.
    public var firstAnswer: FrameRef?
    /// The last SYN-ACK it sent and the last SYN it refused (RST/ACK), if any.
    public var lastAnswer: FrameRef?
    public var lastRefusal: FrameRef?
    /// A few of the first clients, with their SYN (evidence).
    public var examples: [(client: Endpoint, frame: FrameRef)] = []
    /// 256-bit linear-counting sketch of the clients' addresses (Whang et al. 1990).
    var sourceBits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var serial: UInt32 = 0

    static let examplesKept = 3

    init(server: Endpoint, frame: FrameRef) { self.server = server; peak = frame; first = frame; last = frame }

    mutating func noteSYN(_ client: Endpoint, _ frame: FrameRef) {
        handshakes += 1
        halfOpen += 1
        last = frame
        noteSource(client.address)
        if halfOpen > peakHalfOpen { peakHalfOpen = halfOpen; peak = frame }
        if examples.count < Self.examplesKept { examples.append((client, frame)) }
    }

    /// A handshake left the tracker (answered, refused, judged or dropped from tracking). A
    /// load made anew after its server's was judged early never goes below zero.
    mutating func noteGone() { if halfOpen > 0 { halfOpen -= 1 } }

    mutating func noteCompleted() { completed += 1; noteGone() }

    mutating func noteAnswer(_ frame: FrameRef) {
        answered += 1
        if firstAnswer == nil { firstAnswer = frame }
        lastAnswer = frame
    }

    mutating func noteSource(_ a: IPAddress) {
        var z = a.hi ^ a.lo &+ 0x9E37_79B9_7F4A_7C15  // splitmix64's finaliser: every bit of the address counts
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        let h = (z ^ (z >> 31)) >> 56  // 0...255
        let bit = UInt64(1) << (h & 63)
        switch h >> 6 {
        case 0: sourceBits.0 |= bit
        case 1: sourceBits.1 |= bit
        case 2: sourceBits.2 |= bit
        default: sourceBits.3 |= bit
        }
    }

    /// Distinct client addresses, estimated (exact enough below ~100; `nil` when the sketch is
    /// full: more than about 1400).
    public var sourceAddressEstimate: Int? {
        let ones = sourceBits.0.nonzeroBitCount + sourceBits.1.nonzeroBitCount + sourceBits.2.nonzeroBitCount + sourceBits.3.nonzeroBitCount
        let zeros = 256 - ones
        guard zeros > 0 else { return nil }
        return Int((-256.0 * log(Double(zeros) / 256.0)).rounded())
    }
}

/// Natural logarithm without Foundation (for the sketch's estimate): ln x = 2 atanh((x-1)/(x+1))
/// after scaling x into [0.5, 1].
private func log(_ x: Double) -> Double {
    guard x > 0 else { return -.infinity }
    var m = x, e = 0.0
    while m > 1 { m /= 2; e += 1 }
    while m < 0.5 { m *= 2; e -= 1 }
    let y = (m - 1) / (m + 1), y2 = y * y
    var term = y, sum = 0.0, k = 1.0
    for _ in 0..<40 { sum += term / k; term *= y2; k += 2 }
    return 2 * sum + e * 0.693_147_180_559_945_3
}

/// Follows TCP handshakes over the whole capture: SYN, SYN retransmissions with their gaps,
/// SYN-ACK, RST, and SYN-ACKs from an unexpected source. Both directions meet on the client
/// endpoint. State is expired by capture time through insertion-ordered queues (O(1)
/// amortised per packet) and bounded in bytes (`budgetBytes`): past it the oldest pending
/// handshake is dropped from tracking and counted (`limits`), never reported as a fault.
/// Reports outcomes that are faults; completed handshakes are dropped. Per server endpoint it
/// counts every SYN and answer (`SYNLoad`, published at the end for `tcp.syn-flood`).
public struct TCPHandshakeTracker {
    public static let maxSYNsKept = 8
    /// SYN copies closer than this (seconds) are one transmission captured twice.
    public static let minRetransmitGap = 0.5
    /// An unanswered handshake is judged after this long (capture seconds) without a new SYN
    /// (Linux backs off 1, 2, 4 ... 64 s; 70 s covers every gap).
    public var unansweredHorizon = 70.0
    /// A reply-source mismatch is reported after this long without activity.
    public var mismatchHorizon = 3.0
    /// Byte budgets: pending handshakes, handshakes waiting for the end of the capture to know
    /// whether their port listens, the TSval memory (PAWS), listening ports, per-server loads.
    public static let budgetBytes = 64 << 20
    public static let undecidedBudgetBytes = 16 << 20
    public static let timestampBudgetBytes = 16 << 20
    public static let listeningBudgetBytes = 4 << 20
    public static let loadBudgetBytes = 8 << 20
    public let maxHandshakes: Int
    let maxUndecided: Int, maxTimestamps: Int, maxListening: Int, maxLoads: Int

    /// One pending handshake, keyed by the client endpoint: the first SYN inline, anything
    /// rarer (retransmissions, answers, mismatch, TC=1, an earlier TSval) in a box.
    struct Open {
        var server: Endpoint
        var isn: UInt32
        var tsval: UInt32
        var synCount: UInt32
        var serial: UInt32
        var first: FrameRef
        var lastActivity: Timestamp
        var hasTS: Bool
        var inMismatchQueue = false
        /// The vantage point (`Packet.vantage`) of its first SYN: only packets seen there are
        /// its retransmissions and answers; copies at other vantage points (a merge of nodes'
        /// captures, whose clocks differ) are the same packets seen again (`VantageLedger`).
        var home: UInt16 = 0
        var rare: RareBox?
    }
    struct Rare {
        var resent: [FrameRef] = []
        var synAck: FrameRef?
        var refused: FrameRef?
        var mismatch: (from: Endpoint, frame: FrameRef)?
        var clientReset: FrameRef?
        var dnsTruncatedAnswer: FrameRef?
        var earlierTS: (tsval: UInt32, frame: FrameRef)?
        var unreachable: FrameRef?
        var dnatCopy: (to: Endpoint, frame: FrameRef)?
    }
    /// Immutable once made: a change makes a new box (the entry stays a value).
    final class RareBox: @unchecked Sendable { let v: Rare; init(_ v: Rare) { self.v = v } }

    private var open: [Endpoint: Open] = [:]  // keyed by the client endpoint
    private var queue = EvictionQueue<Endpoint>()          // by last activity
    private var mismatchQueue = EvictionQueue<Endpoint>()  // entries with a mismatch, by last activity
    /// Server endpoints that sent a SYN-ACK: they listen.
    public private(set) var listening: [Endpoint: FrameRef] = [:]
    private var listeningOrder = EvictionQueue<Endpoint>()
    /// Per server address, the TTL (hop limit) of its last SYN-ACK: what its own kernel's
    /// packets look like here (`Handshake.serverTTL`). Bounded like `listening`.
    private var addressTTL: [AddressKey: AddressTTL] = [:]
    private var addressTTLOrder = EvictionQueue<AddressKey>()
    /// An address at one vantage point: the same packet seen at another has another TTL.
    struct AddressKey: Hashable {
        var address: IPAddress; var vantage: UInt16
        func _rawHashValue(seed: Int) -> Int {
            var h = TableHasher(seed: seed)
            h.combine(address); h.combine(UInt64(vantage))
            return h.finalized
        }
    }
    struct AddressTTL { var ttl: UInt8; var serial: UInt32; var frame: FrameRef }
    public static let addressTTLBudgetBytes = 2 << 20
    let maxAddressTTL: Int
    private var undecided: [Handshake] = []
    /// The last (highest) TSval sent on each directed tuple, for 60 s (TIME_WAIT).
    private var lastTS: [TupleKey: LastTS] = [:]
    private var tsQueue = EvictionQueue<TupleKey>()
    private var truncatedDNS: [PairKey: FrameRef] = [:]
    private var loads: [Endpoint: SYNLoad] = [:]
    private var loadQueue = EvictionQueue<Endpoint>()
    /// Handshakes answered by SYN-ACK, waiting for the client's ACK that completes them (for
    /// the per-server half-open count): client endpoint → server, for `synAckHorizon` seconds.
    private var awaitingACK: [Endpoint: AwaitingACK] = [:]
    private var ackQueue = EvictionQueue<Endpoint>()
    struct AwaitingACK { var server: Endpoint; var serial: UInt32; var time: Timestamp
        var clientISN: UInt32; var serverISN: UInt32; var syn: FrameRef; var synAck: FrameRef; var home: UInt16 }
    /// Handshakes complete at the client (its ACK seen) while the server has sent nothing but
    /// its SYN-ACK since: client endpoint → what the server did, for `synAckHorizon` seconds.
    /// Dropped as soon as the server sends any other segment (it took the connection).
    private var unaccepted: [Endpoint: Unaccepted] = [:]
    private var unacceptedQueue = EvictionQueue<Endpoint>()
    struct Unaccepted { var server: Endpoint; var serial: UInt32; var clientISN: UInt32; var syn: FrameRef
        var synAck: FrameRef; var ack: UnacceptedACK; var last: Timestamp; var home: UInt16 }
    /// Bare resets of unaccepted handshakes, judged at the end (did the port answer later?).
    private var resets: [(client: Endpoint, u: Unaccepted)] = []
    /// Re-sent SYN-ACKs after the client's ACK that make a finding: two in a row mean two of
    /// the client's ACKs were not taken, the second sent after the server had re-sent (one
    /// lost ACK is answered by the first re-sent SYN-ACK and then taken).
    public static let resendsToJudge = 2
    public static let unacceptedBudgetBytes = 8 << 20
    let maxUnaccepted: Int
    static let maxResets = 4096
    /// Connections the client completed (its ACK seen): client endpoint → the server it asked,
    /// in insertion order, for a segment of one arriving from another source. Never expired
    /// by time (a connection lives as long as it likes); the oldest dropped past the budget.
    private var peers: [Endpoint: Peer] = [:]
    private var peerQueue = EvictionQueue<Endpoint>()
    struct Peer { var server: Endpoint; var clientISN: UInt32; var serial: UInt32; var syn: FrameRef; var established: FrameRef; var home: UInt16 }
    /// Segments from a wrong source awaiting the client's RST (client endpoint → it).
    private var escaped: [Endpoint: (from: Endpoint, frame: FrameRef, seq: UInt32, ack: UInt32)] = [:]
    static let maxEscaped = 4096
    public static let peerBudgetBytes = 16 << 20
    let maxPeers: Int
    /// How long a server keeps a request socket answered by SYN-ACK (tcp_synack_retries 5:
    /// 1 + 2 + 4 + 8 + 16 + 32 s).
    public static let synAckHorizon = 63.0
    public static let awaitingBudgetBytes = 16 << 20
    let maxAwaiting: Int
    private var nextSweep: Int64 = .min
    private var nextPrune: Int64 = .min
    /// Dropped from tracking at the state limits.
    private var droppedHandshakes = 0, droppedTimestamps = 0, droppedListening = 0, droppedLoads = 0, droppedUnaccepted = 0

    struct PairKey: Hashable { var a: IPAddress; var b: IPAddress }
    struct TupleKey: Hashable {
        var client: Endpoint; var server: Endpoint
        func _rawHashValue(seed: Int) -> Int {
            var h = TableHasher(seed: seed)
            h.combine(client); h.combine(server)
            return h.finalized
        }
    }
    struct LastTS { var tsval: UInt32; var serial: UInt32; var frame: FrameRef }

    /// This tracker's budget for pending handshakes (`budgetBytes` unless a test asks less).
    public let budget: Int

    public init(budgetBytes: Int = TCPHandshakeTracker.budgetBytes) {
        budget = budgetBytes
        maxHandshakes = TableBudget(bytes: budgetBytes, Endpoint.self, Open.self).maxEntries
        maxUndecided = Self.undecidedBudgetBytes / (MemoryLayout<Handshake>.stride + 64)
        maxTimestamps = TableBudget(bytes: Self.timestampBudgetBytes, TupleKey.self, LastTS.self).maxEntries
        maxListening = TableBudget(bytes: Self.listeningBudgetBytes, Endpoint.self, FrameRef.self, queueItems: 1).maxEntries
        maxAwaiting = TableBudget(bytes: Self.awaitingBudgetBytes, Endpoint.self, AwaitingACK.self).maxEntries
        maxAddressTTL = TableBudget(bytes: Self.addressTTLBudgetBytes, AddressKey.self, AddressTTL.self, queueItems: 1).maxEntries
        maxPeers = TableBudget(bytes: Self.peerBudgetBytes, Endpoint.self, Peer.self).maxEntries
        maxUnaccepted = TableBudget(bytes: Self.unacceptedBudgetBytes, Endpoint.self, Unaccepted.self,
                                    heap: 32 + Self.resendsToJudge * MemoryLayout<FrameRef>.stride).maxEntries
        maxLoads = TableBudget(bytes: Self.loadBudgetBytes, Endpoint.self, SYNLoad.self, queueItems: 1,
                               heap: 32 + SYNLoad.examplesKept * 48).maxEntries
    }

    /// What the state limits dropped from tracking (empty when nothing was).
    public var limits: [StateLimitNote] {
        var n: [StateLimitNote] = []
        if droppedHandshakes > 0 {
            n.append(StateLimitNote(what: "pending SYNs", dropped: droppedHandshakes, budgetBytes: budget, maxEntries: maxHandshakes))
        }
        if droppedTimestamps > 0 {
            n.append(StateLimitNote(what: "TCP timestamp records (PAWS)", dropped: droppedTimestamps,
                                    budgetBytes: Self.timestampBudgetBytes, maxEntries: maxTimestamps))
        }
        if droppedListening > 0 {
            n.append(StateLimitNote(what: "listening ports", dropped: droppedListening, budgetBytes: Self.listeningBudgetBytes, maxEntries: maxListening))
        }
        if droppedUnaccepted > 0 {
            n.append(StateLimitNote(what: "completed handshakes watched for an accept-queue drop", dropped: droppedUnaccepted,
                                    budgetBytes: Self.unacceptedBudgetBytes, maxEntries: maxUnaccepted))
        }
        if droppedLoads > 0 {
            n.append(StateLimitNote(what: "per-server SYN counts (judged early)", dropped: droppedLoads, budgetBytes: Self.loadBudgetBytes, maxEntries: maxLoads))
        }
        return n
    }

    /// Handshakes being followed now.
    public var pendingCount: Int { open.count }

    /// Notes a UDP DNS answer with TC=1 (server → client) so a following TCP connection to
    /// the server's port 53 is known as the fallback.
    public mutating func noteTruncatedDNS(server: IPAddress, client: IPAddress, frame: FrameRef) {
        if truncatedDNS.count >= 65536 { truncatedDNS.removeAll() }
        truncatedDNS[PairKey(a: client, b: server)] = frame
    }

    public mutating func observe(_ p: Packet, report: (HandshakeOutcome) -> Void) {
        observe(p, report: report, load: { _ in })
    }

    /// `load` gets a server's `SYNLoad` when it leaves the table early (past its limit).
    public mutating func observe(_ p: Packet, report: (HandshakeOutcome) -> Void, load: (SYNLoad) -> Void) {
        let now = p.timestamp
        if now.seconds >= nextSweep {
            sweep(now: now, final: false, report: report)
            nextSweep = now.seconds.saturatingAdd(1)
        }
        if p.icmp != nil, p.tcp == nil, let u = Unreachable(p), u.proto == .tcp {
            noteUnreachable(u, vantage: UInt16(truncatingIfNeeded: p.vantage), report: report)
            return
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
                if Int32(bitPattern: ts &- prev.tsval) > 0 { storeTS(tuple, ts, FrameRef(frame: p.number, time: now)) }
            } else if flags.contains(.fin) {
                storeTS(tuple, ts, FrameRef(frame: p.number, time: now))
            }
        }
        // The client's ACK completing a handshake its server answered (only while one waits).
        if !awaitingACK.isEmpty, flags.contains(.ack), !flags.contains(.syn), !flags.contains(.rst),
           let src = p.sourceAddress, let dst = p.destinationAddress {
            let from = Endpoint(src, t.sourcePort)
            if let w = awaitingACK[from], w.server == Endpoint(dst, t.destinationPort) {
                awaitingACK.removeValue(forKey: from)
                loads.modify(w.server) { $0.noteCompleted() }
                if t.acknowledgment == w.serverISN &+ 1, w.home == UInt16(truncatingIfNeeded: p.vantage) {
                    watchUnaccepted(from, w, FrameRef(frame: p.number, time: now))
                    notePeer(from, w, FrameRef(frame: p.number, time: now))
                }
            }
        }
        if !unaccepted.isEmpty, let src = p.sourceAddress, let dst = p.destinationAddress {
            followUnaccepted(p, t, Endpoint(src, t.sourcePort), Endpoint(dst, t.destinationPort), report: report)
        }
        if !peers.isEmpty, !flags.contains(.syn), let src = p.sourceAddress, let dst = p.destinationAddress {
            checkSource(p, t, Endpoint(src, t.sourcePort), Endpoint(dst, t.destinationPort), report: report)
        }
        guard flags.contains(.syn) || flags.contains(.rst) else { return }
        guard let src = p.sourceAddress, let dst = p.destinationAddress else { return }
        let from = Endpoint(src, t.sourcePort), to = Endpoint(dst, t.destinationPort)
        let frame = FrameRef(frame: p.number, time: now)
        let vantage = UInt16(truncatingIfNeeded: p.vantage)
        // A handshake is followed at the vantage point of its first SYN: the same client's
        // packets seen at another one (before or after NAT) are copies, never retransmissions,
        // answers or new handshakes.
        if let h = open[from], h.home != vantage { return }
        if let h = open[to], h.home != vantage { return }
        if flags.contains(.rst), let w = awaitingACK[from], w.server == to {  // the client gave up
            awaitingACK.removeValue(forKey: from)
            loads.modify(to) { $0.noteGone() }
        }

        if flags.contains(.syn) && !flags.contains(.ack) {
            if var h = open[from], h.server == to, h.isn == t.sequence {
                if now - lastSYN(h).time >= Self.minRetransmitGap {
                    h.synCount &+= 1
                    if h.synCount == 2 { loads.modify(to) { $0.retransmitted += 1 } }
                    var r = h.rare?.v ?? Rare()
                    if r.resent.count + 1 < Self.maxSYNsKept { r.resent.append(frame); h.rare = RareBox(r) }
                }
                h.lastActivity = now
                restamp(from, &h)
                open[from] = h
                return
            }
            if var h = open[from], h.isn == t.sequence, h.server != to, now - lastSYN(h).time < Self.minRetransmitGap {
                // the same SYN after a DNAT, not a new handshake: the client asked h.server
                var r = h.rare?.v ?? Rare()
                if r.dnatCopy == nil { r.dnatCopy = (to, frame); h.rare = RareBox(r); open[from] = h }
                return
            }
            if let old = remove(from) { finish(handshake(from, old), report: report) }
            var h = Open(server: to, isn: t.sequence, tsval: 0, synCount: 1, serial: 0, first: frame, lastActivity: now, hasTS: false, home: vantage)
            var r = Rare()
            let pair = PairKey(a: src, b: dst)
            if let ts = t.timestampValue {
                h.tsval = ts
                h.hasTS = true
                let tuple = TupleKey(client: from, server: to)
                if let prev = lastTS[tuple], now - prev.frame.time <= 60, Int32(bitPattern: prev.tsval &- ts) > 0 {
                    r.earlierTS = (prev.tsval, prev.frame)
                }
                storeTS(tuple, ts, frame)
            }
            if to.port == 53, let tc = truncatedDNS[pair], now - tc.time <= 10 { r.dnsTruncatedAnswer = tc }
            if r.earlierTS != nil || r.dnsTruncatedAnswer != nil { h.rare = RareBox(r) }
            restamp(from, &h)
            // Room first: a Swift Dictionary doubles past 3/4 full, and the budget is that 3/4.
            while open.count >= maxHandshakes, evictOldest() {}
            open[from] = h
            countSYN(to, from, frame, load: load)
            let table = open
            queue.compact(live: table.count) { table[$0.key]?.serial == $0.serial && table[$0.key]?.inMismatchQueue == false }
            return
        }

        if flags.contains(.syn) && flags.contains(.ack) {
            if listening[from] == nil { noteListening(from, frame) }
            noteTTL(AddressKey(address: src, vantage: vantage), p.ipv4?.ttl ?? p.ipv6?.hopLimit, frame)
            guard var h = open[to], t.acknowledgment == h.isn &+ 1 else { return }
            var r = h.rare?.v ?? Rare()
            if h.server == from {
                loads.modify(from) { $0.noteAnswer(frame) }
                // healthy: half-open at the server until the client's ACK. An earlier SYN-ACK from
                // the DNAT target that the client did not reset was this one before its reverse NAT.
                if r.mismatch == nil || (r.mismatch?.from == r.dnatCopy?.to && r.clientReset == nil) {
                    remove(to, halfOpen: loads[from] != nil)
                    if loads[from] != nil {
                        awaitACK(to, AwaitingACK(server: from, serial: 0, time: now, clientISN: h.isn, serverISN: t.sequence,
                                                 syn: h.first, synAck: frame, home: h.home))
                    }
                    return
                }
                r.synAck = frame
                h.rare = RareBox(r)
                open[to] = h
            } else if r.mismatch == nil {
                r.mismatch = (from, frame)
                h.rare = RareBox(r)
                h.lastActivity = now
                h.inMismatchQueue = true
                restamp(to, &h)
                open[to] = h
            }
            return
        }

        // RST
        if flags.contains(.ack), let h = open[to], h.server == from, h.rare?.v.synAck == nil, t.acknowledgment == h.isn &+ 1 {
            var r = h.rare?.v ?? Rare()
            r.refused = frame
            remove(to)
            loads.modify(from) { $0.refused += 1; $0.lastRefusal = frame }
            var hs = handshake(to, h)
            hs.refused = r.refused
            hs.resetTTL = p.ipv4?.ttl ?? p.ipv6?.hopLimit
            if let a = addressTTL[AddressKey(address: src, vantage: vantage)] { hs.serverTTL = (a.ttl, a.frame) }
            if r.mismatch != nil { report(.replyMismatch(hs)) } else { report(.refused(hs)) }
            return
        }
        if var h = open[from], let m = h.rare?.v.mismatch, m.from == to, h.rare?.v.clientReset == nil {
            var r = h.rare?.v ?? Rare()
            r.clientReset = frame
            h.rare = RareBox(r)
            h.lastActivity = now
            restamp(from, &h)
            open[from] = h
        }
    }

    /// Evaluates everything still open at the end of the capture; then hands every server's
    /// `SYNLoad` to `load`, in order of its first SYN.
    public mutating func finish(at end: Timestamp?, report: (HandshakeOutcome) -> Void, load: (SYNLoad) -> Void = { _ in }) {
        sweep(now: end ?? Timestamp(seconds: .max / 2, nanoseconds: 0), final: true, report: report)
        let pending = undecided
        undecided.removeAll()
        for h in pending.sorted(by: { $0.syns[0].frame < $1.syns[0].frame }) {
            report(.unanswered(h, listening: listening[h.server]))
        }
        judgeResets(report: report)
        let all = loads.values.sorted { $0.first.frame < $1.first.frame }
        loads.removeAll()
        loadQueue.removeAll()
        for l in all { load(l) }
    }

    private func lastSYN(_ h: Open) -> FrameRef { h.rare?.v.resent.last ?? h.first }

    /// The handshake as analysers see it.
    private func handshake(_ client: Endpoint, _ o: Open) -> Handshake {
        let r = o.rare?.v
        var h = Handshake(client: client, server: o.server, isn: o.isn, syns: [o.first] + (r?.resent ?? []),
                          synCount: Int(o.synCount), lastActivity: o.lastActivity)
        if o.hasTS { h.tsval = o.tsval }
        if let r {
            h.synAck = r.synAck; h.refused = r.refused; h.mismatch = r.mismatch; h.clientReset = r.clientReset
            h.dnsTruncatedAnswer = r.dnsTruncatedAnswer; h.earlierTS = r.earlierTS; h.unreachable = r.unreachable; h.dnatCopy = r.dnatCopy
        }
        return h
    }

    /// A new serial for `h`, queued at the back of its queue (its old item goes stale).
    private mutating func restamp(_ client: Endpoint, _ h: inout Open) {
        if h.inMismatchQueue {
            h.serial = mismatchQueue.serial()
            mismatchQueue.push(client, h.serial)
        } else {
            h.serial = queue.serial()
            queue.push(client, h.serial)
        }
    }

    /// Removes a pending handshake (its queue item goes stale) and lowers its server's half-open count.
    /// `halfOpen`: it stays half-open at the server (answered, awaiting the client's ACK).
    @discardableResult
    private mutating func remove(_ client: Endpoint, halfOpen: Bool = false) -> Open? {
        guard let h = open.removeValue(forKey: client) else { return nil }
        if !halfOpen { loads.modify(h.server) { $0.noteGone() } }
        return h
    }

    private mutating func awaitACK(_ client: Endpoint, _ entry: AwaitingACK) {
        var entry = entry
        let serial = ackQueue.serial()
        entry.serial = serial
        while awaitingACK.count >= maxAwaiting, let item = ackQueue.first {
            ackQueue.removeFirst()
            guard let w = awaitingACK[item.key], w.serial == item.serial else { continue }
            awaitingACK.removeValue(forKey: item.key)
            loads.modify(w.server) { $0.noteGone() }
            droppedHandshakes += 1
        }
        if let old = awaitingACK.updateValue(entry, forKey: client) {
            loads.modify(old.server) { $0.noteGone() }
        }
        ackQueue.push(client, serial)
        let table = awaitingACK
        ackQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    /// Drops the least recently active pending handshake from tracking (counted, never
    /// reported); false when nothing is left to drop.
    private mutating func evictOldest() -> Bool {
        for q in 0..<2 {
            while let item = q == 0 ? queue.first : mismatchQueue.first {
                if q == 0 { queue.removeFirst() } else { mismatchQueue.removeFirst() }
                guard let h = open[item.key], h.serial == item.serial, h.inMismatchQueue == (q == 1) else { continue }
                remove(item.key)
                droppedHandshakes += 1
                return true
            }
        }
        return false
    }

    private mutating func countSYN(_ server: Endpoint, _ client: Endpoint, _ frame: FrameRef, load: (SYNLoad) -> Void) {
        // A known server's load is counted in place: one lookup per SYN.
        if loads.modify(server, { $0.noteSYN(client, frame) }) != nil { return }
        while loads.count >= maxLoads, let item = loadQueue.first {
            loadQueue.removeFirst()
            guard let l = loads[item.key], l.serial == item.serial else { continue }
            loads.removeValue(forKey: item.key)
            droppedLoads += 1
            load(l)
        }
        var l = SYNLoad(server: server, frame: frame)
        l.serial = loadQueue.serial()
        l.noteSYN(client, frame)
        loadQueue.push(server, l.serial)
        loads[server] = l
    }

    private mutating func noteListening(_ server: Endpoint, _ frame: FrameRef) {
        while listening.count >= maxListening, let item = listeningOrder.first {
            listeningOrder.removeFirst()
            if listening.removeValue(forKey: item.key) != nil { droppedListening += 1 }
        }
        listening[server] = frame
        listeningOrder.push(server, 0)
    }

    /// An ICMP destination unreachable quoting a pending SYN (same client endpoint, same
    /// server, and the SYN's ISN when the quote holds it), reported at once. Linux's
    /// tcp_v4_err / tcp_v6_err abort a SYN_SENT connection on it (need-to-fragment aside) — but
    /// an error that arrives while connect() still holds the socket only sets sk_err_soft, and
    /// the SYN is re-sent: the handshake stays open, its re-sent SYNs and their ICMP belong to
    /// the same finding, and it is never judged unanswered.
    private mutating func noteUnreachable(_ u: Unreachable, vantage: UInt16, report: (HandshakeOutcome) -> Void) {
        guard u.isReject, var h = open[u.client], h.home == vantage, h.server == u.server,
              h.rare?.v.synAck == nil, h.rare?.v.mismatch == nil, u.quotedSequence.map({ $0 == h.isn }) ?? true else { return }
        h.lastActivity = u.frame.time
        if h.rare?.v.unreachable == nil {
            var r = h.rare?.v ?? Rare()
            r.unreachable = u.frame
            h.rare = RareBox(r)
            loads.modify(u.server) { $0.refused += 1 }
            report(.unreachable(handshake(u.client, h), u))
        }
        restamp(u.client, &h)
        open[u.client] = h
    }

    private mutating func noteTTL(_ a: AddressKey, _ ttl: UInt8?, _ frame: FrameRef) {
        guard let ttl else { return }
        let serial = addressTTLOrder.serial()
        while addressTTL.count >= maxAddressTTL, addressTTL[a] == nil, let item = addressTTLOrder.first {
            addressTTLOrder.removeFirst()
            if addressTTL[item.key]?.serial == item.serial { addressTTL.removeValue(forKey: item.key) }
        }
        addressTTL[a] = AddressTTL(ttl: ttl, serial: serial, frame: frame)
        addressTTLOrder.push(a, serial)
        let table = addressTTL
        addressTTLOrder.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    private mutating func storeTS(_ tuple: TupleKey, _ ts: UInt32, _ frame: FrameRef) {
        let serial = tsQueue.serial()
        while lastTS.count >= maxTimestamps, lastTS[tuple] == nil, let item = tsQueue.first {
            tsQueue.removeFirst()
            if lastTS[item.key]?.serial == item.serial { lastTS.removeValue(forKey: item.key); droppedTimestamps += 1 }
        }
        lastTS[tuple] = LastTS(tsval: ts, serial: serial, frame: frame)
        tsQueue.push(tuple, serial)
        let table = lastTS
        tsQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    private mutating func finish(_ h: Handshake, report: (HandshakeOutcome) -> Void) {
        if h.mismatch != nil { report(.replyMismatch(h)); return }
        guard h.synAck == nil, h.refused == nil, h.unreachable == nil, h.synCount >= 2 else { return }
        if let l = listening[h.server] { report(.unanswered(h, listening: l)) }
        else if undecided.count < maxUndecided { undecided.append(h) }
        else { droppedHandshakes += 1 }  // past the limit: dropped from tracking, not reported
    }

    /// Starts watching a handshake the client completed: until the server sends a segment
    /// other than its SYN-ACK or a bare RST, it has not taken the connection.
    private mutating func watchUnaccepted(_ client: Endpoint, _ w: AwaitingACK, _ ack: FrameRef) {
        while unaccepted.count >= maxUnaccepted, unaccepted[client] == nil, let item = unacceptedQueue.first {
            unacceptedQueue.removeFirst()
            if unaccepted[item.key]?.serial == item.serial { unaccepted.removeValue(forKey: item.key); droppedUnaccepted += 1 }
        }
        let serial = unacceptedQueue.serial()
        unaccepted[client] = Unaccepted(server: w.server, serial: serial, clientISN: w.clientISN, syn: w.syn, synAck: w.synAck,
                                        ack: UnacceptedACK(serverISN: w.serverISN, ack: ack), last: ack.time, home: w.home)
        unacceptedQueue.push(client, serial)
        let table = unaccepted
        unacceptedQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    /// A segment between an unaccepted handshake's client and server: the server's re-sent
    /// SYN-ACK or bare RST is kept (the second re-sent SYN-ACK is reported), anything else it
    /// sends means it took the connection; the client's RST or a new SYN ends the watch.
    private mutating func followUnaccepted(_ p: Packet, _ t: TCPView, _ from: Endpoint, _ to: Endpoint,
                                           report: (HandshakeOutcome) -> Void) {
        let frame = FrameRef(frame: p.number, time: p.timestamp)
        let f = t.flags, vantage = UInt16(truncatingIfNeeded: p.vantage)
        if var u = unaccepted[to], u.server == from, u.home == vantage {  // server → client
            if f.contains(.syn) && f.contains(.ack) && t.sequence == u.ack.serverISN && t.acknowledgment == u.clientISN &+ 1 {
                // copies closer than a retransmission (the same SYN-ACK captured twice) are one
                guard frame.time - (u.ack.resentSYNAcks.last ?? u.synAck).time >= Self.minRetransmitGap else { return }
                u.ack.resentSYNAcks.append(frame)
                u.last = frame.time
                if u.ack.resentSYNAcks.count >= Self.resendsToJudge {
                    unaccepted.removeValue(forKey: to)
                    report(.ackNotTaken(handshake(to, u), u.ack))
                } else {
                    unaccepted[to] = u
                }
            } else if f.contains(.rst) && !f.contains(.ack) && t.sequence == u.ack.serverISN &+ 1 {
                unaccepted.removeValue(forKey: to)
                u.ack.reset = frame
                if resets.count < Self.maxResets { resets.append((to, u)) }
            } else {
                unaccepted.removeValue(forKey: to)
            }
        } else if var u = unaccepted[from], u.server == to, u.home == vantage {  // client → server
            if f.contains(.rst) || f.contains(.syn) {
                unaccepted.removeValue(forKey: from)
            } else if u.ack.data == nil, t.payload.count > 0 {
                u.ack.data = frame
                unaccepted[from] = u
            }
        }
    }

    private mutating func notePeer(_ client: Endpoint, _ w: AwaitingACK, _ ack: FrameRef) {
        while peers.count >= maxPeers, peers[client] == nil, let item = peerQueue.first {
            peerQueue.removeFirst()
            if peers[item.key]?.serial == item.serial { peers.removeValue(forKey: item.key) }
        }
        let serial = peerQueue.serial()
        peers[client] = Peer(server: w.server, clientISN: w.clientISN, serial: serial, syn: w.syn, established: ack, home: w.home)
        peerQueue.push(client, serial)
        let table = peers
        peerQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    /// A segment to a client endpoint from a source other than the server its connection was
    /// opened to, acknowledging the client's bytes (ack within 2^30 past its ISN: the same
    /// sequence space, not another connection sharing the local port), is kept; the client's
    /// RST to that source confirms it had no socket for it.
    private mutating func checkSource(_ p: Packet, _ t: TCPView, _ from: Endpoint, _ to: Endpoint,
                                      report: (HandshakeOutcome) -> Void) {
        let vantage = UInt16(truncatingIfNeeded: p.vantage)
        let frame = FrameRef(frame: p.number, time: p.timestamp)
        if t.flags.contains(.rst) {
            guard let e = escaped[from], e.from == to, let peer = peers[from], peer.home == vantage else { return }
            escaped.removeValue(forKey: from)
            var h = Handshake(client: from, server: peer.server, isn: peer.clientISN, syns: [peer.syn], synCount: 1, lastActivity: frame.time)
            h.clientReset = frame
            report(.escapedSegment(h, EscapedSegment(from: to, segment: e.frame, seq: e.seq, ack: e.ack,
                                                     established: peer.established, reset: frame)))
            return
        }
        guard t.flags.contains(.ack), let peer = peers[to], peer.server != from, peer.home == vantage, escaped[to] == nil else { return }
        let advance = t.acknowledgment &- peer.clientISN
        guard advance >= 1, advance < 1 << 30 else { return }
        if escaped.count >= Self.maxEscaped { escaped.removeAll() }
        escaped[to] = (from, frame, t.sequence, t.acknowledgment)
    }

    /// The handshake an unaccepted entry stands for, its SYN-ACK kept.
    private func handshake(_ client: Endpoint, _ u: Unaccepted) -> Handshake {
        var h = Handshake(client: client, server: u.server, isn: u.clientISN, syns: [u.syn], synCount: 1, lastActivity: u.last)
        h.synAck = u.synAck
        return h
    }

    /// Reports the bare resets of unaccepted handshakes, with what the capture shows of their
    /// port afterwards (`UnacceptedACK.answeredLater`, `refusedLater`).
    private mutating func judgeResets(report: (HandshakeOutcome) -> Void) {
        let pending = resets
        resets.removeAll()
        for (client, u) in pending {
            var a = u.ack
            guard let r = a.reset else { continue }
            if let l = loads[u.server] {
                if let x = l.lastAnswer, x.frame > r.frame { a.answeredLater = x }
                if let x = l.lastRefusal, x.frame > r.frame { a.refusedLater = x }
            }
            report(.ackNotTaken(handshake(client, u), a))
        }
    }

    /// Judges the handshakes idle past their horizon (all of them when `final`), from the
    /// fronts of the queues: O(expired) per sweep.
    private mutating func sweep(now: Timestamp, final: Bool, report: (HandshakeOutcome) -> Void) {
        var done: [Handshake] = []
        if final {
            // Only the ones `finish` may report are made into `Handshake`s (a flood leaves
            // hundreds of thousands of single SYNs open: they are no finding).
            for (k, h) in open where h.rare?.v.mismatch != nil || (h.synCount >= 2 && h.rare?.v.synAck == nil) {
                done.append(handshake(k, h))
            }
            open.removeAll()
            queue.removeAll()
            mismatchQueue.removeAll()
        } else {
            for q in 0..<2 {
                let horizon = q == 0 ? unansweredHorizon : mismatchHorizon
                while let item = q == 0 ? queue.first : mismatchQueue.first {
                    guard let h = open[item.key], h.serial == item.serial, h.inMismatchQueue == (q == 1) else {
                        if q == 0 { queue.removeFirst() } else { mismatchQueue.removeFirst() }
                        continue
                    }
                    guard now - h.lastActivity > horizon else { break }
                    if q == 0 { queue.removeFirst() } else { mismatchQueue.removeFirst() }
                    remove(item.key)
                    done.append(handshake(item.key, h))
                }
            }
        }
        done.sort { $0.syns[0].frame < $1.syns[0].frame }
        for h in done { finish(h, report: report) }
        // Answered handshakes never completed: the server's request socket times out.
        while !final, let item = ackQueue.first {
            guard let w = awaitingACK[item.key], w.serial == item.serial else { ackQueue.removeFirst(); continue }
            guard now - w.time > Self.synAckHorizon else { break }
            ackQueue.removeFirst()
            awaitingACK.removeValue(forKey: item.key)
            loads.modify(w.server) { $0.noteGone() }
        }
        while !final, let item = unacceptedQueue.first {
            guard let u = unaccepted[item.key], u.serial == item.serial else { unacceptedQueue.removeFirst(); continue }
            guard now - u.last > Self.synAckHorizon else { break }
            unacceptedQueue.removeFirst()
            unaccepted.removeValue(forKey: item.key)
        }
        if !final && resets.count >= Self.maxResets / 2 { judgeResets(report: report) }
        // The TSval and TC=1 memories only need trimming now and then, not every second.
        if !final && now.seconds >= nextPrune {
            nextPrune = now.seconds.saturatingAdd(10)
            while let item = tsQueue.first {
                guard let v = lastTS[item.key], v.serial == item.serial else { tsQueue.removeFirst(); continue }
                guard now - v.frame.time > 60 else { break }
                tsQueue.removeFirst()
                lastTS.removeValue(forKey: item.key)
            }
            truncatedDNS = truncatedDNS.filter { now - $0.value.time <= 10 }
        }
    }
}
