import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// `--stats` (and the HTML report's numbers): what a capture's traffic looked like, as tshark's
/// `-z` statistics show it. Encoded into the `--json` summary as `"stats"`; `knetcap diff` reads
/// it back. Times are seconds (decimals); servers and endpoints are `ADDR:PORT` (`[v6]:PORT`).
public struct CaptureStats: Codable, Sendable, Equatable {
    /// DNS response times of one server (and query type; `qtype` "all" for the server's total),
    /// measured from the **first** transmission of a query to its answer (tshark's `dns.time`
    /// measures from a retry sent 5 s or more after it, which opens a new transaction there). Percentiles are nearest-rank over the answered
    /// queries (`nil` when none was answered).
    public struct DNSRow: Codable, Sendable, Equatable {
        public var server: String
        /// `udp` or `tcp`.
        public var transport: String
        public var qtype: String
        /// Queries sent (a retransmission with the same id, socket and server is the same query).
        public var queries: Int
        /// Queries answered (any rcode), NXDOMAIN and SERVFAIL answers among them.
        public var answered: Int
        public var nxdomain: Int
        public var servfail: Int
        /// Queries never answered (at the end of the capture, or 30 s of capture after their
        /// last transmission).
        public var timeouts: Int
        /// Queries sent more than once (the resolver retried).
        public var retransmitted: Int
        public var p50_s: Double?
        public var p90_s: Double?
        public var p99_s: Double?
        public var max_s: Double?
    }

    /// One TCP or UDP conversation (both directions), as tshark's `-z conv,tcp`: `a` is the
    /// endpoint that sent the first packet. Bytes are frame lengths on the wire.
    public struct Conversation: Codable, Sendable, Equatable {
        public var proto: String
        public var a: String
        public var b: String
        public var packets: Int
        public var bytes: Int
        /// Capture time of the first packet (seconds since the epoch) and seconds to the last.
        public var start: Double
        public var duration_s: Double
        /// Seconds from the capture's first packet to this conversation's first (tshark's
        /// "Relative Start").
        public var rel_start_s: Double
    }

    /// TCP connection attempts to one server endpoint: a SYN (its retransmissions are the same
    /// attempt) answered by the server's SYN-ACK (completed), by its RST/ACK (refused), or by
    /// neither (unanswered).
    public struct HandshakeRow: Codable, Sendable, Equatable {
        public var server: String
        public var attempts: Int
        public var completed: Int
        public var refused: Int
        public var unanswered: Int
        public init(server: String, attempts: Int, completed: Int, refused: Int, unanswered: Int) {
            self.server = server; self.attempts = attempts; self.completed = completed; self.refused = refused; self.unanswered = unanswered
        }
    }

    /// Per server, transport and query type, then per server (`qtype` "all"): the servers
    /// with the most queries, at most `StatsCollector.serversListed`, in name order.
    public var dns: [DNSRow]
    public var dns_servers: [DNSRow]
    /// The largest conversations by bytes (at most `StatsCollector.conversationsListed`).
    public var conversations: [Conversation]
    /// How many conversations the capture had (all of them, not only those listed; at most
    /// `StatsCollector.maxConversations` are counted).
    public var conversations_total: Int
    /// Per server endpoint, most attempts first (at most `StatsCollector.serversListed`).
    public var handshakes: [HandshakeRow]
    /// How many DNS servers and handshake server endpoints the capture had (the tables list at
    /// most `StatsCollector.serversListed` of each: those with the most queries or attempts).
    public var dns_servers_total: Int
    public var handshakes_total: Int
}

/// One DNS query as `StatsCollector` keeps it for the HTML timeline (32 bytes): first
/// transmission (epoch seconds), response time from it (`nil`: never answered), how many times
/// it was sent (saturating at 65535).
public struct DNSQuerySample: Sendable {
    public var sent: Double
    public var latency: Double?
    public var transmissions: UInt16
    public var rcode: UInt16
    /// Index into `StatsCollector.serverNames`.
    public var server: Int32
}

/// Gathers `CaptureStats` from every packet read (displayed or not), as a `Reporter` placed
/// before the reporters that print it. Only built with `--stats`, `--html` or `knetcap diff`,
/// so the default path pays nothing. State is bounded: at most `maxPending` unanswered queries
/// and handshakes, `maxConversations` conversations and `maxSamples` queries (32 bytes each for
/// the timeline, 8 for the percentiles) are held; past those, counts stay exact and percentiles
/// come from the first `maxSamples` answers.
///
/// A copy of a query less than `DNSTransactionTracker.minRetransmitGap` (0.5 s) after its last
/// transmission is the same packet captured twice (`-i any` on a bridge), not a retry.
public final class StatsCollector: Reporter {
    public static let conversationsListed = 20
    /// DNS servers and handshake servers listed at most (a scan or a flood of distinct servers
    /// made a 60 MB report and 40,000 text lines).
    public static let serversListed = 100
    public var maxPending = 1_000_000
    public var maxConversations = 200_000
    public var maxSamples = 1_000_000
    /// A query unanswered this many capture seconds after its last transmission is a timeout.
    public static let queryExpiry = 30.0

    struct QueryKey: Hashable { var client: Endpoint; var server: Endpoint; var id: UInt16; var tcp: Bool }
    struct Pending { var first: Timestamp; var last: Timestamp; var transmissions: Int; var qtype: UInt16 }
    struct TableKey: Hashable { var server: Int; var tcp: Bool; var qtype: UInt16 }
    struct Table { var queries = 0, answered = 0, nxdomain = 0, servfail = 0, timeouts = 0, retransmitted = 0; var latencies: [Double] = [] }
    struct Conv { var a: Endpoint; var b: Endpoint; var tcp: Bool; var packets = 0, bytes = 0; var first: Timestamp; var last: Timestamp }
    struct SynKey: Hashable { var client: Endpoint; var server: Endpoint }
    struct Attempt { var isn: UInt32; var server: Int; var last: Timestamp }
    struct Outcomes { var attempts = 0, completed = 0, refused = 0, unanswered = 0 }

    private var pending: [QueryKey: Pending] = [:]
    private var tables: [TableKey: Table] = [:]
    private var serverIndex: [Endpoint: Int] = [:]
    /// DNS servers and TCP servers seen, by index (`DNSQuerySample.server`).
    public private(set) var serverNames: [String] = []
    /// Every query (up to `maxSamples`), in the order it was settled (answered or timed out).
    public private(set) var samples: [DNSQuerySample] = []
    private var conversations: [FlowKey: Conv] = [:]
    private var attempts: [SynKey: Attempt] = [:]
    private var outcomes: [Int: Outcomes] = [:]
    private var nextSweep: Int64 = .min
    /// The capture's first packet (conversations' relative start counts from it, as tshark's).
    private var captureStart: Timestamp?
    /// The result, after `finish`.
    public private(set) var stats: CaptureStats?

    public init() {}

    public func packet(_ p: Packet) { observe(p) }
    public func skipped(_ p: Packet) { observe(p) }

    func observe(_ p: Packet) {
        let now = p.timestamp
        if captureStart == nil { captureStart = now }
        if now.seconds >= nextSweep {
            sweep(now: now)
            nextSweep = now.seconds < .max ? now.seconds + 1 : .max
        }
        // The outer UDP of a VXLAN or Geneve packet is a conversation of its own (node to node,
        // port 4789 or 6081), as in tshark's -z conv,udp, besides the pods' one inside.
        if let t = p.tunnel, let u = t.udp, let os = t.ipv4?.source ?? t.ipv6?.source, let od = t.ipv4?.destination ?? t.ipv6?.destination {
            countConversation(Endpoint(os, u.sourcePort), Endpoint(od, u.destinationPort), tcp: false, length: p.originalLength, at: now)
        }
        guard let src = p.sourceAddress, let dst = p.destinationAddress, let sp = p.sourcePort, let dp = p.destinationPort else { return }
        let from = Endpoint(src, sp), to = Endpoint(dst, dp)
        countConversation(from, to, tcp: p.tcp != nil, length: p.originalLength, at: now)
        // A query or SYN seen again at another vantage point (a merge of several nodes, several
        // namespaces; NAT may have rewritten it) is one: counted where it was seen first. Its
        // answer is taken at every vantage point: the copy that matches the query's view of
        // the endpoints (the client's, un-NATed) settles it, the others match nothing.
        if let t = p.tcp, !(p.isVantageCopy && t.flags.contains(.syn) && !t.flags.contains(.ack)) { observeTCP(t, from, to, now) }
        if let d = p.dns, !(p.isVantageCopy && !d.isResponse) { observeDNS(d, from, to, tcp: p.dnsOverTCP, now) }
        for d in p.moreDNS { observeDNS(d, from, to, tcp: p.dnsOverTCP, now) }  // several messages in one TCP segment
    }

    private func index(_ e: Endpoint) -> Int {
        if let i = serverIndex[e] { return i }
        serverIndex[e] = serverNames.count
        serverNames.append(e.text)
        return serverNames.count - 1
    }

    private func countConversation(_ from: Endpoint, _ to: Endpoint, tcp: Bool, length: Int, at now: Timestamp) {
        let key = FlowKey(from, to, proto: tcp ? .tcp : .udp)
        if let i = conversations.index(forKey: key) {  // one lookup, updated in place
            conversations.values[i].packets += 1
            conversations.values[i].bytes += length
            if conversations.values[i].last < now { conversations.values[i].last = now }
            if now < conversations.values[i].first { conversations.values[i].first = now }  // tshark: min to max
        } else if conversations.count < maxConversations {
            conversations[key] = Conv(a: from, b: to, tcp: tcp, packets: 1, bytes: length, first: now, last: now)
        }
    }

    private func observeDNS(_ d: DNSView, _ from: Endpoint, _ to: Endpoint, tcp: Bool, _ now: Timestamp) {
        if !d.isResponse {
            // The queries the diagnosis follows (DNSTransactionTracker): DNS on any port where it
            // was recognised (53, --dns-port, by content), but not mDNS or LLMNR.
            guard DNSTransactionTracker.isUnicastDNSPort(to.port), !to.address.isMulticastOrBroadcast, d.opcode == 0, let q = d.firstQuestion else { return }
            let key = QueryKey(client: from, server: to, id: d.id, tcp: tcp)
            if var old = pending[key] {
                if old.qtype == q.type.rawValue {  // the same query again: a retransmission, or a copy
                    if now - old.last >= DNSTransactionTracker.minRetransmitGap { old.transmissions += 1 }
                    old.last = now
                    pending[key] = old
                    return
                }
                pending.removeValue(forKey: key)  // the id reused for another question
                settle(key, old, response: nil)
            }
            guard pending.count < maxPending else { return }
            pending[key] = Pending(first: now, last: now, transmissions: 1, qtype: q.type.rawValue)
        } else {
            guard DNSTransactionTracker.isUnicastDNSPort(from.port) else { return }
            let key = QueryKey(client: to, server: from, id: d.id, tcp: tcp)
            guard let q = pending.removeValue(forKey: key) else { return }  // a duplicate or unsolicited answer
            settle(key, q, response: (now, d.rcode.rawValue))
        }
    }

    private func settle(_ key: QueryKey, _ q: Pending, response: (time: Timestamp, rcode: UInt16)?) {
        let server = index(key.server)
        var t = tables[TableKey(server: server, tcp: key.tcp, qtype: q.qtype)] ?? Table()
        t.queries += 1
        if q.transmissions > 1 { t.retransmitted += 1 }
        var latency: Double?
        if let r = response {
            t.answered += 1
            if r.rcode == DNSRCode.nxDomain.rawValue { t.nxdomain += 1 }
            if r.rcode == DNSRCode.servFail.rawValue { t.servfail += 1 }
            // Negative when the answer is stamped before its query (a merged or re-stamped
            // capture), as tshark's dns.time is: the time is reported, not hidden.
            let l = r.time - q.first
            latency = l
            if t.latencies.count < maxSamples { t.latencies.append(l) }
        } else {
            t.timeouts += 1
        }
        tables[TableKey(server: server, tcp: key.tcp, qtype: q.qtype)] = t
        if samples.count < maxSamples {
            samples.append(DNSQuerySample(sent: q.first.timeInterval, latency: latency, transmissions: UInt16(min(q.transmissions, 65535)),
                                          rcode: response?.rcode ?? 0, server: Int32(server)))
        }
    }

    private func observeTCP(_ t: TCPView, _ from: Endpoint, _ to: Endpoint, _ now: Timestamp) {
        let f = t.flags
        if f.contains(.syn) && !f.contains(.ack) {
            let key = SynKey(client: from, server: to)
            if let a = attempts[key], a.isn == t.sequence { attempts[key]?.last = now; return }  // retransmitted SYN
            if let old = attempts.removeValue(forKey: key) { outcomes[old.server, default: Outcomes()].unanswered += 1 }
            guard attempts.count < maxPending else { return }
            let s = index(to)
            outcomes[s, default: Outcomes()].attempts += 1
            attempts[key] = Attempt(isn: t.sequence, server: s, last: now)
        } else if f.contains(.syn) || f.contains(.rst), f.contains(.ack) {
            let key = SynKey(client: to, server: from)
            guard let a = attempts[key], t.acknowledgment == a.isn &+ 1 else { return }
            attempts.removeValue(forKey: key)
            if f.contains(.syn) { outcomes[a.server, default: Outcomes()].completed += 1 } else { outcomes[a.server, default: Outcomes()].refused += 1 }
        }
    }

    /// Queries unanswered for `queryExpiry` capture seconds are timeouts; SYNs unanswered for 70 s
    /// (Linux's whole SYN backoff) are unanswered attempts.
    private func sweep(now: Timestamp) {
        var expired: [(QueryKey, Pending)] = []
        for (k, q) in pending where now - q.last > Self.queryExpiry { expired.append((k, q)) }
        expired.sort { $0.1.first < $1.1.first }
        for (k, q) in expired { pending.removeValue(forKey: k); settle(k, q, response: nil) }
        for (k, a) in attempts where now - a.last > 70 {
            attempts.removeValue(forKey: k)
            outcomes[a.server, default: Outcomes()].unanswered += 1
        }
    }

    public func finish(_ report: Report) {
        let left = pending.sorted { $0.value.first < $1.value.first }
        pending.removeAll()
        for (k, q) in left { settle(k, q, response: nil) }
        for a in attempts.values { outcomes[a.server, default: Outcomes()].unanswered += 1 }
        attempts.removeAll()
        stats = makeStats()
    }

    private func makeStats() -> CaptureStats {
        func row(_ server: Int, tcp: Bool, qtype: String, _ t: Table) -> CaptureStats.DNSRow {
            let l = t.latencies.sorted()
            return CaptureStats.DNSRow(server: serverNames[server], transport: tcp ? "tcp" : "udp", qtype: qtype, queries: t.queries,
                                       answered: t.answered, nxdomain: t.nxdomain, servfail: t.servfail, timeouts: t.timeouts,
                                       retransmitted: t.retransmitted, p50_s: percentile(l, 50), p90_s: percentile(l, 90),
                                       p99_s: percentile(l, 99), max_s: l.last)
        }
        var perServer: [TableKey: Table] = [:]
        for (k, t) in tables {
            var s = perServer[TableKey(server: k.server, tcp: k.tcp, qtype: 0)] ?? Table()
            s.queries += t.queries; s.answered += t.answered; s.nxdomain += t.nxdomain; s.servfail += t.servfail
            s.timeouts += t.timeouts; s.retransmitted += t.retransmitted; s.latencies += t.latencies
            perServer[TableKey(server: k.server, tcp: k.tcp, qtype: 0)] = s
        }
        // The busiest servers (most queries; ties by name), listed in name order.
        let busiest = Set(perServer.sorted { a, b in
            a.value.queries != b.value.queries ? a.value.queries > b.value.queries : (serverNames[a.key.server], a.key.tcp ? 1 : 0) < (serverNames[b.key.server], b.key.tcp ? 1 : 0)
        }.prefix(Self.serversListed).map(\.key))
        let keys = tables.keys.filter { busiest.contains(TableKey(server: $0.server, tcp: $0.tcp, qtype: 0)) }.sorted { a, b in
            (serverNames[a.server], a.tcp ? 1 : 0, a.qtype) < (serverNames[b.server], b.tcp ? 1 : 0, b.qtype)
        }
        let dns = keys.map { k in row(k.server, tcp: k.tcp, qtype: DNSType(rawValue: k.qtype).name, tables[k] ?? Table()) }
        let servers = busiest.sorted { a, b in (serverNames[a.server], a.tcp ? 1 : 0) < (serverNames[b.server], b.tcp ? 1 : 0) }
            .map { k in row(k.server, tcp: k.tcp, qtype: "all", perServer[k] ?? Table()) }
        let convs = conversations.values.sorted { a, b in
            a.bytes != b.bytes ? a.bytes > b.bytes : a.first < b.first
        }.prefix(Self.conversationsListed).map { c in
            CaptureStats.Conversation(proto: c.tcp ? "tcp" : "udp", a: c.a.text, b: c.b.text, packets: c.packets, bytes: c.bytes,
                                      start: c.first.timeInterval, duration_s: c.last - c.first,
                                      rel_start_s: captureStart.map { c.first - $0 } ?? 0)
        }
        let hs = outcomes.map { s, o in
            CaptureStats.HandshakeRow(server: serverNames[s], attempts: o.attempts, completed: o.completed, refused: o.refused,
                                      unanswered: o.unanswered)
        }.sorted { a, b in a.attempts != b.attempts ? a.attempts > b.attempts : a.server < b.server }
        return CaptureStats(dns: dns, dns_servers: servers, conversations: Array(convs),
                            conversations_total: conversations.count, handshakes: Array(hs.prefix(Self.serversListed)),
                            dns_servers_total: perServer.count, handshakes_total: hs.count)
    }
}

/// The nearest-rank `p`th percentile of `sorted` (ascending): the value at rank ⌈p/100 · n⌉;
/// `nil` when empty.
public func percentile(_ sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count, max(1, rank)) - 1]
}
