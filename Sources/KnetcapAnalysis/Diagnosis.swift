import KnetcapWire
import KnetcapDissect

/// Runs the trackers and every analyser over the packets, in one pass, and keeps the findings.
///
/// Trackers follow protocol state (DNS transactions, TCP handshakes) and publish
/// `TrackerEvent`s; each analyser in `analyzers` turns the events of its fault into findings.
/// Findings that are certain while the capture runs go to `onFinding` at once (live captures
/// stream them); the rest are reported by `finish`.
public struct Diagnosis {
    /// Every analyser, in report order. A new fault kind is one line here.
    public static let analyzers: [any Analyzer.Type] = [
        DNSTimeoutAnalyzer.self,
        DNSFragmentLostAnalyzer.self,
        DNSTCPFallbackAnalyzer.self,
        DNSSearchExpansionAnalyzer.self,
        NoEndpointsAnalyzer.self,
        RSTUnlistenedAnalyzer.self,
        SYNDropAnalyzer.self,
        SYNFloodAnalyzer.self,
        PAWSAnalyzer.self,
        MTUBlackholeAnalyzer.self,
        ReplySourceMismatchAnalyzer.self,
        CrossNodeLossAnalyzer.self,
    ]

    /// Every finding kind, in report order.
    public static let kinds: [String] = analyzers.flatMap { $0.kinds }

    /// Findings in the order made; past `maxFindingsPerKind` of one kind only counted.
    public private(set) var findings: [Finding] = []
    /// Findings of one kind kept (a DNS flood makes one `dns.timeout` per query): the first
    /// ones are kept as examples, the rest counted in `suppressed`.
    public static let maxFindingsPerKind = 1000
    /// Per kind, findings made past `maxFindingsPerKind` and not kept.
    public private(set) var suppressed: [String: Int] = [:]
    /// Per kind, the capture times (epoch seconds) the suppressed findings span, so a kind's
    /// "from ... to ..." covers all of its findings, not only those kept.
    public private(set) var suppressedSpans: [String: ClosedRange<Double>] = [:]
    private var kept: [String: Int] = [:]
    public private(set) var packets = 0
    public private(set) var firstTimestamp: Timestamp?
    public private(set) var lastTimestamp: Timestamp?
    private var dns: DNSTransactionTracker
    private var handshakes: TCPHandshakeTracker
    private var fragments = FragmentLedger()
    private var segments = PathMTUTracker()
    private var vantages = VantageLedger()
    /// The capture's vantage points by `Packet.vantage` (pcapng interface names), for the
    /// cross-vantage findings; set before `finish`.
    public var vantageNames: [UInt32: String] = [:]
    /// Whether the packet `observe` saw last is a copy of one seen before at another vantage
    /// point (`VantageLedger`): `--stats` counts a query or a SYN once.
    public private(set) var lastWasCopy = false
    /// Say, before the first packet, that the capture has several vantage points (interfaces
    /// known up front): copies are then matched from its first packet.
    /// `live`: every vantage point was capturing from the first packet on (several live
    /// handles), not only from its own first packet.
    public mutating func expectSeveralVantagePoints(live: Bool = false) {
        vantages.severalExpected = true
        vantages.allCapturingFromStart = live
    }
    /// Inner endpoint pairs seen in an overlay tunnel → the tunnel, in words (the first one
    /// seen, at most `maxTunnelPairs`): findings about them say which tunnel carried them.
    private var tunnels: [PairKey: String] = [:]
    static let maxTunnelPairs = 4096
    struct PairKey: Hashable { var a: Endpoint, b: Endpoint
        init(_ x: Endpoint, _ y: Endpoint) {
            let xFirst = x.address.hi != y.address.hi ? x.address.hi < y.address.hi
                : x.address.lo != y.address.lo ? x.address.lo < y.address.lo : x.port <= y.port
            (a, b) = xFirst ? (x, y) : (y, x)
        }
    }
    private var running: [any Analyzer] = Diagnosis.analyzers.map { $0.init() }
    /// The analysers (indices into `running`) that take `.dnsAnswered`.
    private let answerTakers: [Int] = Diagnosis.analyzers.indices.filter { Diagnosis.analyzers[$0].takesEveryAnswer }
    /// Addresses known to be load-balancer VIPs or ClusterIPs (`--vip`).
    public var vips: Set<IPAddress>
    /// Called for each finding as soon as it is made (streaming during live capture).
    public var onFinding: ((Finding) -> Void)?
    /// During a live capture: what the live system says now (listener table, counter deltas
    /// since the start, sysctls). Asked when a finding is made, so streamed findings quote it.
    public var liveEvidence: (() -> LiveEvidence)?

    /// The trackers' byte budgets (ARCHITECTURE.md, "What is bounded").
    public struct Budgets: Sendable {
        public var handshakes: Int
        public var dns: Int
        public init(handshakes: Int = TCPHandshakeTracker.budgetBytes, dns: Int = DNSTransactionTracker.budgetBytes) {
            self.handshakes = handshakes; self.dns = dns
        }
    }

    public init(vips: Set<IPAddress> = [], onFinding: ((Finding) -> Void)? = nil, budgets: Budgets = Budgets()) {
        self.vips = vips
        self.onFinding = onFinding
        dns = DNSTransactionTracker(budgetBytes: budgets.dns)
        handshakes = TCPHandshakeTracker(budgetBytes: budgets.handshakes)
    }

    public mutating func observe(_ p: Packet) {
        packets += 1
        // The earliest and the latest capture time (capinfos' first and last packet): packets
        // out of time order (a merged or re-stamped capture) widen the span, never shrink it.
        if p.hasTimestamp {  // a simple packet block has none
            if let f = firstTimestamp, f <= p.timestamp {} else { firstTimestamp = p.timestamp }
            if let l = lastTimestamp, p.timestamp < l {} else { lastTimestamp = p.timestamp }
        }
        // Events are dispatched after each tracker returns (a tracker's callback cannot reach
        // the analysers while the tracker is being mutated); the rare problem and handshake
        // events are collected first, the frequent answered one is not.
        if p.fragment != nil { fragments.observe(p) }
        lastWasCopy = vantages.observe(p)
        if p.hasTunnel, let t = p.tunnel, tunnels.count < Self.maxTunnelPairs, let src = p.sourceAddress, let dst = p.destinationAddress,
           let sp = p.sourcePort, let dp = p.destinationPort {
            let k = PairKey(Endpoint(src, sp), Endpoint(dst, dp))
            if tunnels[k] == nil { tunnels[k] = t.text }
        }
        if p.dns != nil {
            observeDNS(p)
            // A TCP segment that completed several DNS messages (RFC 7766 §6.2.1: pipelined
            // queries, or answers sent together): each is a query or an answer of its own.
            for m in p.moreDNS {
                var q = p
                q.dns = m
                q.moreDNS = []
                observeDNS(q)
            }
        }
        var outcomes: [TrackerEvent] = []
        if p.icmp != nil, p.tcp == nil, let u = Unreachable(p), u.proto == .udp { outcomes.append(.datagramUnreachable(u)) }
        if p.tcp != nil || p.icmp != nil { segments.observe(p) { outcomes.append(.segmentStall($0)) } }
        handshakes.observe(p, report: { outcomes.append(.handshake($0)) }, load: { outcomes.append(.synLoad($0)) })
        if !outcomes.isEmpty { publish(outcomes, context) }
    }

    /// The DNS message `p.dns`: its transaction, and a truncated UDP answer for the TCP retry.
    private mutating func observeDNS(_ p: Packet) {
        guard let d = p.dns else { return }
        var problems: [(DNSTransaction, Timestamp)] = []
        let answered = dns.observe(p, onProblem: { problems.append(($0, $1)) })
        if !problems.isEmpty { publish(problems.map { problem($0.0, end: $0.1) }, context) }
        if let answered, !answerTakers.isEmpty {
            var new: [Finding] = []
            let context = context
            for i in answerTakers { running[i].answered(answered, context) { new.append($0) } }
            if !new.isEmpty { record(new) }
        }
        if d.isResponse, d.truncatedFlag, p.udp != nil, let s = p.sourceAddress, let c = p.destinationAddress {
            handshakes.noteTruncatedDNS(server: s, client: c, frame: FrameRef(frame: p.number, time: p.timestamp))
        }
    }

    /// Reports what is left at the end of the capture. `live` is what the live system said
    /// (listener table, counters, sysctls) when capturing live; it decides SYN drops whose
    /// port the capture alone does not show listening, and is quoted in the findings.
    public mutating func finish(live given: LiveEvidence? = nil) {
        let live = given ?? liveEvidence?()
        let context = AnalysisContext(vips: vips, live: live.map { l in { l } }, vantageNames: vantageNames)
        var problems: [(DNSTransaction, Timestamp)] = []
        dns.finish(at: lastTimestamp) { problems.append(($0, $1)) }
        var events = problems.map { problem($0.0, end: $0.1) }
        handshakes.finish(at: lastTimestamp, report: { events.append(.handshake($0)) }, load: { events.append(.synLoad($0)) })
        segments.finish { events.append(.segmentStall($0)) }
        let (losses, offsets) = vantages.finish()
        if !losses.isEmpty { events.append(.crossVantage(losses, offsets)) }
        publish(events, context)
        var new: [Finding] = []
        for i in running.indices { running[i].finish(context) { new.append($0) } }
        record(new)
    }

    /// A DNS problem, or the lost fragments of its answer when the client waited while a
    /// fragmented datagram from the server arrived in part (from its first transmission to
    /// its answer, or to when it was judged).
    private func problem(_ t: DNSTransaction, end: Timestamp) -> TrackerEvent {
        guard !t.key.overTCP else { return .dnsProblem(t, end: end) }
        let lost = fragments.incomplete(from: t.key.server, to: t.key.client, id: t.key.id,
                                        after: t.firstSent.time, before: t.response?.time ?? end)
        return lost.isEmpty ? .dnsProblem(t, end: end) : .dnsFragmentsLost(t, lost, end: end)
    }

    /// What the analysers may consult while the capture runs.
    private var context: AnalysisContext { AnalysisContext(vips: vips, live: liveEvidence) }

    private mutating func publish(_ events: [TrackerEvent], _ context: AnalysisContext) {
        for e in events { publish(e, context) }
    }

    private mutating func publish(_ event: TrackerEvent, _ context: AnalysisContext) {
        var new: [Finding] = []
        for i in running.indices { running[i].observe(event, context) { new.append($0) } }
        if !new.isEmpty { record(new) }
    }

    /// What the trackers' state limits dropped from tracking (empty when nothing was).
    public var limits: [StateLimitNote] { dns.limits + handshakes.limits + segments.limits + vantages.limits }

    private mutating func record(_ new: [Finding]) {
        for var f in new {
            guard kept[f.kind, default: 0] < Self.maxFindingsPerKind else {
                suppressed[f.kind, default: 0] += 1
                let span = min(f.firstTime, f.lastTime)...max(f.firstTime, f.lastTime)
                suppressedSpans[f.kind] = suppressedSpans[f.kind].map { min($0.lowerBound, span.lowerBound)...max($0.upperBound, span.upperBound) } ?? span
                continue
            }
            kept[f.kind, default: 0] += 1
            if !tunnels.isEmpty, let t = tunnel(of: f) { f.summary += " (carried in \(t))" }
            findings.append(f); onFinding?(f)
        }
    }

    /// The tunnel that carried a finding's client and server, from their `address:port` text.
    private func tunnel(of f: Finding) -> String? {
        func endpoint(_ e: String?) -> Endpoint? {
            guard let s = e, let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
            var host = String(s[..<colon])
            if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
            return IPAddress(parsing: host).map { Endpoint($0, port) }
        }
        guard let c = endpoint(f.client), let sv = endpoint(f.server) else { return nil }
        return tunnels[PairKey(c, sv)]
    }
}
