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
    public func _rawHashValue(seed: Int) -> Int {
        var h = TableHasher(seed: seed)
        h.combine(client); h.combine(server); h.combine(UInt64(id) | (overTCP ? 1 << 16 : 0))
        return h.finalized
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
    /// The query name as its first transmission wrote it (case kept; compare with
    /// `asciiLowercased`, DNS names are case-insensitive, RFC 4343).
    public var qname: String
    public var qtype: DNSType
    /// The first transmission of the query.
    public var firstSent: FrameRef
    /// Its retransmissions (same ID, same socket), empty for most: with the first, at most
    /// `DNSTransactionTracker.maxTransmissionsKept` are kept (the first ones and the last);
    /// `transmissionCount` counts all.
    public var resent: [FrameRef]
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

    public var lastSent: FrameRef { resent.last ?? firstSent }
}

/// Matches DNS queries with responses over the whole capture (UDP and TCP, any server port
/// where the dissector found DNS but mDNS's and LLMNR's, unicast servers), tracks retransmissions and parallel queries on one socket, and hands
/// transactions that went wrong — retransmitted, or never answered — to `onProblem`.
/// Healthy transactions are dropped as soon as they are answered. State is expired by
/// capture time (`expiry` seconds after the last packet of a transaction), never the clock,
/// through an insertion-ordered queue (O(1) amortised per packet), and bounded in bytes
/// (`budgetBytes`): past it the oldest pending query is dropped from tracking and counted
/// (`limits`), never reported as a timeout.
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
    /// Byte budgets of the pending queries and of the last query per socket (kept
    /// `socketMemory` seconds, for pairing parallel queries).
    public static let budgetBytes = 64 << 20
    public static let socketBudgetBytes = 16 << 20
    static let socketMemory = 1.0
    /// Heap bytes a pending query's name takes beyond its `String` (a name over 15 bytes is
    /// a heap object: 32-byte header plus its UTF-8, rounded by malloc).
    static let nameHeapBytes = 64
    /// Transactions held at once at most (from `budgetBytes`).
    public let maxPending: Int
    let maxSockets: Int

    /// One pending query, keyed by its transaction: the first transmission inline, anything
    /// rarer (retransmissions, the parallel partner) in a box.
    struct Pending {
        var qname: String
        var first: FrameRef
        var transmissionCount: UInt32
        var serial: UInt32
        var qtype: DNSType
        /// The vantage point (`Packet.vantage`) of its first transmission: only packets seen
        /// there are its retransmissions and its answer (copies at other vantage points of a
        /// merged capture are the same packets, on another clock).
        var home: UInt16 = 0
        var rare: RareBox?
        var lastSent: FrameRef { rare?.v.resent.last ?? first }
    }
    struct Rare {
        var resent: [FrameRef] = []
        var partner: DNSTransactionKey?
        var partnerType: DNSType?
        var partnerSent: FrameRef?
        var partnerAnswered: FrameRef?
        var partnerResent: FrameRef?
    }
    /// Immutable once made: a change makes a new box (the entry stays a value).
    final class RareBox: @unchecked Sendable { let v: Rare; init(_ v: Rare) { self.v = v } }

    private var pending: [DNSTransactionKey: Pending] = [:]
    private var queue = EvictionQueue<DNSTransactionKey>()  // by last transmission
    private var lastQueryOnSocket: [SocketKey: LastQuery] = [:]
    private var socketQueue = EvictionQueue<SocketKey>()
    private var dropped = 0, droppedSockets = 0
    private var socketSweepSecond: Int64 = .min

    /// The most recent new query on a socket, and whether it was already paired or answered.
    struct LastQuery { var key: DNSTransactionKey; var sent: FrameRef; var type: DNSType; var partnered: Bool; var answered: FrameRef?; var serial: UInt32 }
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
        func _rawHashValue(seed: Int) -> Int {
            var h = TableHasher(seed: seed)
            h.combine(client); h.combine(server); h.combine(overTCP ? 1 : 0)
            return h.finalized
        }
    }

    /// This tracker's budget for pending queries (`budgetBytes` unless a test asks less).
    public let budget: Int

    public init(budgetBytes: Int = DNSTransactionTracker.budgetBytes) {
        budget = budgetBytes
        maxPending = TableBudget(bytes: budgetBytes, DNSTransactionKey.self, Pending.self, heap: Self.nameHeapBytes).maxEntries
        maxSockets = TableBudget(bytes: Self.socketBudgetBytes, SocketKey.self, LastQuery.self).maxEntries
    }

    /// What the state limits dropped from tracking (empty when nothing was).
    public var limits: [StateLimitNote] {
        var n: [StateLimitNote] = []
        if dropped > 0 { n.append(StateLimitNote(what: "DNS queries", dropped: dropped, budgetBytes: budget, maxEntries: maxPending)) }
        if droppedSockets > 0 {
            n.append(StateLimitNote(what: "recent DNS sockets (A/AAAA pairing)", dropped: droppedSockets,
                                    budgetBytes: Self.socketBudgetBytes, maxEntries: maxSockets))
        }
        return n
    }

    /// A server port the DNS diagnosis follows: any port where DNS was recognised (53, a
    /// `--dns-port`, or by content) except mDNS (5353) and LLMNR (5355), multicast and
    /// unanswered by design.
    public static func isUnicastDNSPort(_ port: UInt16) -> Bool { port != 5353 && port != 5355 }

    /// Number of transactions waiting for a reply.
    public var pendingCount: Int { pending.count }

    /// The transaction as analysers see it.
    private func transaction(_ key: DNSTransactionKey, _ p: consuming Pending) -> DNSTransaction {
        var t = DNSTransaction(key: key, qname: p.qname, qtype: p.qtype, firstSent: p.first, resent: p.rare?.v.resent ?? [],
                               transmissionCount: Int(p.transmissionCount))
        if let r = p.rare?.v {
            t.partner = r.partner; t.partnerType = r.partnerType; t.partnerSent = r.partnerSent
            t.partnerAnswered = r.partnerAnswered; t.partnerResent = r.partnerResent
        }
        return t
    }

    /// Removes a pending query (its queue item goes stale) and the waiting-partner note that points at it.
    @discardableResult
    private mutating func remove(_ key: DNSTransactionKey) -> Pending? {
        guard let p = pending.removeValue(forKey: key) else { return nil }
        if let pk = p.rare?.v.partner, !waitingPartner.isEmpty, waitingPartner[pk] == key { waitingPartner.removeValue(forKey: pk) }
        return p
    }

    /// Changes a pending query's rare part in place (no copy of the entry out and back).
    private mutating func update(_ key: DNSTransactionKey, _ change: (inout Rare) -> Void) {
        pending.modify(key) { p in
            var r = p.rare?.v ?? Rare()
            change(&r)
            p.rare = RareBox(r)
        }
    }

    /// Follows one packet. Returns the transaction a response answered (with `response` set),
    /// so other analysers reuse its decoded query name and times; `nil` otherwise.
    @discardableResult
    public mutating func observe(_ p: Packet, onProblem: (DNSTransaction, _ end: Timestamp) -> Void) -> DNSTransaction? {
        let now = p.timestamp
        if activeSeconds.last.map({ $0 < now.seconds }) ?? true { activeSeconds.append(now.seconds) }
        if now.seconds >= nextSweep {
            sweep(now: now, onProblem: onProblem)
            nextSweep = now.seconds.saturatingAdd(5)
        }
        guard let dns = p.dns, let src = p.sourceAddress, let dst = p.destinationAddress,
              let sp = p.sourcePort, let dp = p.destinationPort else { return nil }
        let frame = FrameRef(frame: p.number, time: now)
        if !dns.isResponse {
            guard Self.isUnicastDNSPort(dp), !dst.isMulticastOrBroadcast, dns.opcode == 0 else { return nil }
            let key = DNSTransactionKey(client: Endpoint(src, sp), server: Endpoint(dst, dp), id: dns.id, overTCP: p.dnsOverTCP)
            let vantage = UInt16(truncatingIfNeeded: p.vantage)
            if var t = pending[key] {
                if t.home != vantage { return nil }  // the query seen again at another vantage point
                let q = dns.firstQuestion
                if q?.type == t.qtype, let q, dns.name(at: q.nameOffset, lowercased: true) == asciiLowercased(t.qname) {
                    // Same ID, same socket, same question, still unanswered: a retransmission,
                    // unless it is the same packet seen again on a second interface (`-i any`
                    // on a bridged node sees it on the veth and on the bridge, µs apart).
                    if now - t.lastSent.time >= Self.minRetransmitGap {
                        t.transmissionCount &+= 1
                        var r = t.rare?.v ?? Rare()
                        // Past the kept number the latest replaces the last kept: the expiry and
                        // "capture went on" count from the real last transmission (a query
                        // retried 60 times was judged 30 s after its 8th, while still retried,
                        // and became two findings).
                        if r.resent.count + 1 < Self.maxTransmissionsKept { r.resent.append(frame) } else { r.resent[r.resent.count - 1] = frame }
                        t.rare = RareBox(r)
                        t.serial = queue.serial()
                        queue.push(key, t.serial)
                        pending[key] = t
                        let table = pending
                        queue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
                    }
                    return nil
                }
                // The ID was reused for another question: the old query is over.
                remove(key)
                let old = transaction(key, t)
                if isProblem(old, end: now) { onProblem(old, now) }
            }
            // (Asked only when a partner waits: a lookup in an empty table still hashes the key.)
            if !waitingPartner.isEmpty, let waiting = waitingPartner.removeValue(forKey: key), pending[waiting]?.rare?.v.partnerResent == nil {
                update(waiting) { $0.partnerResent = frame }
            }
            guard let q = dns.firstQuestion else { return nil }
            // The name as sent (findings show it as tshark does; DNS 0x20 resolvers mix case),
            // compared without case.
            var t = Pending(qname: dns.name(at: q.nameOffset) ?? "?", first: frame, transmissionCount: 1,
                            serial: queue.serial(), qtype: q.type, home: vantage)
            let sock = SocketKey(client: key.client, server: key.server, overTCP: key.overTCP)
            // Parallel queries (glibc/musl send A and AAAA with one sendmmsg): a different ID
            // from the same socket within the window. The first may already be answered when
            // the second reaches the wire (a fast server can overtake sendmmsg's second packet).
            var partnered = false
            if let prev = lastQueryOnSocket[sock], prev.key.id != key.id, now - prev.sent.time <= Self.parallelWindow,
               prev.partnered == false {
                update(prev.key) { $0.partner = key; $0.partnerType = q.type; $0.partnerSent = frame }
                t.rare = RareBox(Rare(partner: prev.key, partnerType: prev.type, partnerSent: prev.sent, partnerAnswered: prev.answered))
                partnered = true
                if prev.answered != nil { waitingPartner[prev.key] = key }
            }
            noteSocket(sock, LastQuery(key: key, sent: frame, type: q.type, partnered: partnered, answered: nil, serial: 0), now: now)
            // Room first: a Swift Dictionary doubles past 3/4 full, and the budget is that 3/4.
            while pending.count >= maxPending, evictOldest() {}
            pending[key] = t
            queue.push(key, t.serial)
            let table = pending
            queue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
            return nil
        } else {
            guard Self.isUnicastDNSPort(sp) else { return nil }
            let key = DNSTransactionKey(client: Endpoint(dst, dp), server: Endpoint(src, sp), id: dns.id, overTCP: p.dnsOverTCP)
            // Answered where it was asked: an answer seen only at another vantage point (lost
            // on its way back) leaves the client waiting, as the client's own vantage shows.
            guard let i = pending.index(forKey: key) else { return nil }
            let stored = pending.remove(at: i).value
            guard stored.home == UInt16(truncatingIfNeeded: p.vantage) else { pending[key] = stored; return nil }
            var t = transaction(key, stored)
            t.response = frame
            t.rcode = dns.rcode
            if let pk = t.partner, pending[pk] != nil {
                update(pk) { $0.partnerAnswered = frame }
                waitingPartner[key] = pk
            }
            if let pk = t.partner, !waitingPartner.isEmpty { waitingPartner.removeValue(forKey: pk) }
            let sock = SocketKey(client: key.client, server: key.server, overTCP: key.overTCP)
            lastQueryOnSocket.modify(sock) { if $0.key == key { $0.answered = frame } }
            if t.transmissionCount > 1 { onProblem(t, now) }
            return t
        }
    }

    /// Drops the query least recently sent from tracking (counted, never reported).
    private mutating func evictOldest() -> Bool {
        while let item = queue.first {
            queue.removeFirst()
            guard pending[item.key]?.serial == item.serial else { continue }
            remove(item.key)
            dropped += 1
            return true
        }
        return false
    }

    /// Remembers the last query on a socket for `socketMemory` seconds (parallel pairs are
    /// `parallelWindow` apart), at most `maxSockets`.
    private mutating func noteSocket(_ sock: SocketKey, _ q: LastQuery, now: Timestamp) {
        var q = q
        q.serial = socketQueue.serial()
        // Expired sockets leave once per capture second (pairing compares the times itself, an
        // older entry only waits a little longer), every query when the table is full: the
        // front's lookup per query was a fifth of the DNS tracker's time (issue 11).
        let full = lastQueryOnSocket.count >= maxSockets
        if full || now.seconds != socketSweepSecond {
            socketSweepSecond = now.seconds
            expireSockets(now: now)
        }
        lastQueryOnSocket[sock] = q
        socketQueue.push(sock, q.serial)
        let table = lastQueryOnSocket
        socketQueue.compact(live: table.count) { table[$0.key]?.serial == $0.serial }
    }

    private mutating func expireSockets(now: Timestamp) {
        while let item = socketQueue.first {
            guard let v = lastQueryOnSocket[item.key], v.serial == item.serial else { socketQueue.removeFirst(); continue }
            let full = lastQueryOnSocket.count >= maxSockets
            guard full || now - v.sent.time > Self.socketMemory else { break }
            socketQueue.removeFirst()
            lastQueryOnSocket.removeValue(forKey: item.key)
            if full && now - v.sent.time <= Self.parallelWindow { droppedSockets += 1 }  // it could still have paired
        }
    }

    /// Evaluates everything still pending at the end of the capture.
    public mutating func finish(at end: Timestamp?, onProblem: (DNSTransaction, _ end: Timestamp) -> Void) {
        let e = end ?? Timestamp(seconds: 0, nanoseconds: 0)
        // Only problems are made into `DNSTransaction`s (a flood leaves hundreds of thousands pending).
        let all = pending.compactMap { isProblem(count: Int($0.value.transmissionCount), lastSent: $0.value.lastSent, end: e) ? transaction($0.key, $0.value) : nil }
            .sorted { $0.firstSent.frame < $1.firstSent.frame }
        pending.removeAll()
        queue.removeAll()
        lastQueryOnSocket.removeAll()
        socketQueue.removeAll()
        waitingPartner.removeAll()
        for t in all where isProblem(t, end: e) { onProblem(t, e) }
    }

    /// An unanswered transaction is a problem when it was retransmitted, or when the capture
    /// went on for `unansweredAfter` seconds after its last transmission and other packets
    /// were captured in the seconds after it (not a gap between two traces).
    func isProblem(_ t: DNSTransaction, end: Timestamp) -> Bool {
        isProblem(count: t.transmissionCount, lastSent: t.lastSent, end: end)
    }

    func isProblem(count: Int, lastSent: FrameRef, end: Timestamp) -> Bool {
        if count > 1 { return true }
        guard end - lastSent.time >= Self.unansweredAfter else { return false }
        let s = lastSent.time.seconds
        guard s < .max else { return false }  // no capture second after it
        let range = (s + 1)...s.saturatingAdd(Int64(Self.unansweredAfter))
        // activeSeconds is sorted; find the first second >= s + 1.
        var lo = 0, hi = activeSeconds.count
        while lo < hi { let mid = (lo + hi) / 2; if activeSeconds[mid] < range.lowerBound { lo = mid + 1 } else { hi = mid } }
        return lo < activeSeconds.count && range.contains(activeSeconds[lo])
    }

    /// Judges the queries whose last transmission is older than `expiry`, from the front of
    /// the queue: O(expired) per sweep.
    private mutating func sweep(now: Timestamp, onProblem: (DNSTransaction, Timestamp) -> Void) {
        var expired: [DNSTransaction] = []
        while let item = queue.first {
            guard let t = pending[item.key], t.serial == item.serial else { queue.removeFirst(); continue }
            guard now - t.lastSent.time > expiry else { break }
            queue.removeFirst()
            remove(item.key)
            expired.append(transaction(item.key, t))
        }
        expired.sort { $0.firstSent.frame < $1.firstSent.frame }
        for t in expired where isProblem(t, end: now) { onProblem(t, now) }
    }
}

/// `name` with ASCII letters lowercased (DNS compares names so, RFC 4343 §3): the same string,
/// without a copy, when it has no capital letter.
public func asciiLowercased(_ name: String) -> String {
    // Over the contiguous UTF-8 storage (`withUTF8`): `utf8.contains` iterated the view.
    var s = name
    let upper = s.withUTF8 { b in
        for c in b where c &- 0x41 < 26 { return true }
        return false
    }
    return upper ? String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self) : name
}
