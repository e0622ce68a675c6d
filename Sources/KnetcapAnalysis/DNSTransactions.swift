import KnetcapWire
import KnetcapDissect

/// Identifies one DNS transaction: client socket, server socket, message ID and transport
/// (RFC 1035 §7.3: a resolver matches a reply by ID, address and port).
public struct DNSTransactionKey: Hashable, Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var id: UInt16
    public var overTCP: Bool

    public func hash(into h: inout Hasher) {
        h.combine(client.address.mix ^ server.address.mix &* 31
            ^ (UInt64(client.port) << 32 | UInt64(server.port) << 16 | UInt64(id)) &* 0x94D0_49BB_1331_11EB
            ^ (overTCP ? 1 : 0))
    }
}

/// One packet of a transaction: 1-based frame number and capture time.
public struct FrameRef: Sendable, Equatable {
    public var frame: Int
    public var time: Timestamp
}

/// A DNS query as the tracker keeps it: small owned values, never views.
public struct DNSTransaction: Sendable {
    public var key: DNSTransactionKey
    public var qname: String
    public var qtype: DNSType
    /// Every transmission of the query (the first, then retransmissions: same ID, same socket);
    /// at most `DNSTransactionTracker.maxTransmissionsKept` are kept, `transmissionCount` counts all.
    public var transmissions: [FrameRef]
    public var transmissionCount: Int
    public var response: FrameRef?
    public var rcode: DNSRCode?
    /// Another query sent from the same socket while this one was in flight (the A/AAAA pair
    /// glibc and musl send in parallel), its type and when it was answered.
    public var partner: DNSTransactionKey?
    public var partnerType: DNSType?
    public var partnerSent: FrameRef?
    public var partnerAnswered: FrameRef?
    /// The partner query sent again (same ID) after it had been answered, while this one was
    /// still unanswered: glibc does this when its parallel A/AAAA send times out (it falls
    /// back to one query at a time and repeats both).
    public var partnerResent: FrameRef?

    /// Time of the first transmission.
    public var firstSent: FrameRef { transmissions[0] }
    public var lastSent: FrameRef { transmissions[transmissions.count - 1] }
}

/// Matches DNS queries with responses over the whole capture (UDP and TCP, any server port
/// where the dissector found DNS but mDNS's and LLMNR's, unicast servers), tracks retransmissions and parallel queries on one socket, and hands
/// transactions that went wrong — retransmitted, or never answered — to `onProblem`.
/// Healthy transactions are dropped as soon as they are answered. State is expired by
/// capture time (`expiry` seconds after the last packet of a transaction), never the clock.
public struct DNSTransactionTracker {
    public static let maxTransmissionsKept = 8
    /// Two queries from one socket at most this far apart (seconds) are "in parallel"
    /// (glibc and musl send them microseconds apart; a sequential resolver waits a round trip).
    public static let parallelWindow = 0.010
    /// Copies of one query closer than this (seconds) are one transmission captured twice;
    /// resolvers retry after a second or more.
    public static let minRetransmitGap = 0.5
    /// A query with no reply after this many seconds of capture is unanswered (≥ glibc's 5 s).
    public static let unansweredAfter = 5.0
    /// How long (capture seconds) an unanswered transaction is kept waiting for a late reply.
    public var expiry = 30.0
    /// Upper bound on transactions held at once; the oldest are evaluated early past it.
    public var maxPending = 1_000_000

    private var pending: [DNSTransactionKey: DNSTransaction] = [:]
    private var lastQueryOnSocket: [SocketKey: LastQuery] = [:]

    /// The most recent new query on a socket, and whether it was already paired or answered.
    struct LastQuery { var key: DNSTransactionKey; var sent: FrameRef; var type: DNSType; var partnered: Bool; var answered: FrameRef? }
    private var nextSweep: Int64 = .min
    /// Capture seconds in which any packet was seen (appended in order): a query is only
    /// called unanswered when the capture was demonstrably running after it.
    private var activeSeconds: [Int64] = []
    /// Answered queries whose parallel partner is still waiting: answered key → waiting key.
    private var waitingPartner: [DNSTransactionKey: DNSTransactionKey] = [:]

    struct SocketKey: Hashable {
        var client: Endpoint; var server: Endpoint; var overTCP: Bool
        func hash(into h: inout Hasher) {
            h.combine(client.address.mix ^ server.address.mix &* 31 ^ (UInt64(client.port) << 16 | UInt64(server.port)) &* 0x94D0_49BB_1331_11EB ^ (overTCP ? 1 : 0))
        }
    }

    public init() {}

    /// A server port the DNS diagnosis follows: any port where DNS was recognised (53, a
    /// `--dns-port`, or by content) except mDNS (5353) and LLMNR (5355), multicast and
    /// unanswered by design.
    public static func isUnicastDNSPort(_ port: UInt16) -> Bool { port != 5353 && port != 5355 }

    /// Number of transactions waiting for a reply.
    public var pendingCount: Int { pending.count }

    /// Follows one packet. Returns the transaction a response answered (with `response` set),
    /// so other analysers reuse its decoded query name and times; `nil` otherwise.
    @discardableResult
    public mutating func observe(_ p: Packet, onProblem: (DNSTransaction, _ end: Timestamp) -> Void) -> DNSTransaction? {
        let now = p.timestamp
        if activeSeconds.last.map({ $0 < now.seconds }) ?? true { activeSeconds.append(now.seconds) }
        if now.seconds >= nextSweep {
            sweep(now: now, force: false, onProblem: onProblem)
            nextSweep = now.seconds.saturatingAdd(5)
        }
        guard let dns = p.dns, let src = p.sourceAddress, let dst = p.destinationAddress,
              let sp = p.sourcePort, let dp = p.destinationPort else { return nil }
        let frame = FrameRef(frame: p.number, time: now)
        if !dns.isResponse {
            guard Self.isUnicastDNSPort(dp), !dst.isMulticastOrBroadcast, dns.opcode == 0 else { return nil }
            let key = DNSTransactionKey(client: Endpoint(src, sp), server: Endpoint(dst, dp), id: dns.id, overTCP: p.dnsOverTCP)
            if var t = pending[key] {
                let q = dns.firstQuestion
                if q?.type == t.qtype, let q, dns.name(at: q.nameOffset, lowercased: true) == t.qname {
                    // Same ID, same socket, same question, still unanswered: a retransmission,
                    // unless it is the same packet seen again on a second interface (`-i any`
                    // on a bridged node sees it on the veth and on the bridge, µs apart).
                    if now - t.lastSent.time >= Self.minRetransmitGap {
                        t.transmissionCount += 1
                        if t.transmissions.count < Self.maxTransmissionsKept { t.transmissions.append(frame) }
                        pending[key] = t
                    }
                    return nil
                }
                // The ID was reused for another question: the old query is over.
                pending.removeValue(forKey: key)
                if isProblem(t, end: now) { onProblem(t, now) }
            }
            if let waiting = waitingPartner.removeValue(forKey: key), var w = pending[waiting], w.partnerResent == nil {
                w.partnerResent = frame
                pending[waiting] = w
            }
            guard let q = dns.firstQuestion else { return nil }
            var t = DNSTransaction(key: key, qname: dns.name(at: q.nameOffset, lowercased: true) ?? "?", qtype: q.type,
                                   transmissions: [frame], transmissionCount: 1)
            let sock = SocketKey(client: key.client, server: key.server, overTCP: key.overTCP)
            // Parallel queries (glibc/musl send A and AAAA with one sendmmsg): a different ID
            // from the same socket within the window. The first may already be answered when
            // the second reaches the wire (a fast server can overtake sendmmsg's second packet).
            if let prev = lastQueryOnSocket[sock], prev.key.id != key.id, now - prev.sent.time <= Self.parallelWindow,
               prev.partnered == false {
                if var other = pending[prev.key] {
                    other.partner = key; other.partnerType = q.type; other.partnerSent = frame
                    pending[prev.key] = other
                }
                t.partner = prev.key; t.partnerType = prev.type; t.partnerSent = prev.sent
                t.partnerAnswered = prev.answered
                if prev.answered != nil { waitingPartner[prev.key] = key }
            }
            lastQueryOnSocket[sock] = LastQuery(key: key, sent: frame, type: q.type, partnered: t.partner != nil, answered: nil)
            pending[key] = t
            if pending.count > maxPending { sweep(now: now, force: true, onProblem: onProblem) }
            return nil
        } else {
            guard Self.isUnicastDNSPort(sp) else { return nil }
            let key = DNSTransactionKey(client: Endpoint(dst, dp), server: Endpoint(src, sp), id: dns.id, overTCP: p.dnsOverTCP)
            guard var t = pending.removeValue(forKey: key) else { return nil }
            t.response = frame
            t.rcode = dns.rcode
            if let pk = t.partner, var other = pending[pk] {
                other.partnerAnswered = frame
                pending[pk] = other
                waitingPartner[key] = pk
            }
            if let pk = t.partner { waitingPartner.removeValue(forKey: pk) }
            let sock = SocketKey(client: key.client, server: key.server, overTCP: key.overTCP)
            if lastQueryOnSocket[sock]?.key == key { lastQueryOnSocket[sock]?.answered = frame }
            if t.transmissionCount > 1 { onProblem(t, now) }
            return t
        }
    }

    /// Evaluates everything still pending at the end of the capture.
    public mutating func finish(at end: Timestamp?, onProblem: (DNSTransaction, _ end: Timestamp) -> Void) {
        let e = end ?? Timestamp(seconds: 0, nanoseconds: 0)
        let all = pending.values.sorted { $0.firstSent.frame < $1.firstSent.frame }
        pending.removeAll()
        lastQueryOnSocket.removeAll()
        waitingPartner.removeAll()
        for t in all where isProblem(t, end: e) { onProblem(t, e) }
    }

    /// An unanswered transaction is a problem when it was retransmitted, or when the capture
    /// went on for `unansweredAfter` seconds after its last transmission and other packets
    /// were captured in the seconds after it (not a gap between two traces).
    func isProblem(_ t: DNSTransaction, end: Timestamp) -> Bool {
        if t.transmissionCount > 1 { return true }
        guard end - t.lastSent.time >= Self.unansweredAfter else { return false }
        let s = t.lastSent.time.seconds
        guard s < .max else { return false }  // no capture second after it
        let range = (s + 1)...s.saturatingAdd(Int64(Self.unansweredAfter))
        // activeSeconds is sorted; find the first second >= s + 1.
        var lo = 0, hi = activeSeconds.count
        while lo < hi { let mid = (lo + hi) / 2; if activeSeconds[mid] < range.lowerBound { lo = mid + 1 } else { hi = mid } }
        return lo < activeSeconds.count && range.contains(activeSeconds[lo])
    }

    private mutating func sweep(now: Timestamp, force: Bool, onProblem: (DNSTransaction, Timestamp) -> Void) {
        var expired: [DNSTransaction] = []
        let horizon = force ? expiry / 2 : expiry
        for (k, t) in pending where now - t.lastSent.time > horizon {
            expired.append(t)
            pending.removeValue(forKey: k)
        }
        lastQueryOnSocket = lastQueryOnSocket.filter { now - $0.value.sent.time <= horizon }
        waitingPartner = waitingPartner.filter { pending[$0.value] != nil }
        expired.sort { $0.firstSent.frame < $1.firstSent.frame }
        for t in expired where isProblem(t, end: now) { onProblem(t, now) }
    }
}
