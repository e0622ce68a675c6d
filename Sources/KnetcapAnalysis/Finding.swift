import KnetcapWire
import KnetcapDissect

/// How bad a finding is for the workload.
public enum Severity: String, Encodable, Sendable, Comparable, CaseIterable {
    case critical, warning, info
    var rank: Int { self == .critical ? 0 : (self == .warning ? 1 : 2) }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// How sure an analyser is, and why.
public struct Confidence: Encodable, Sendable, Equatable {
    public enum Level: String, Encodable, Sendable { case high, medium, low }
    public var level: Level
    public var reason: String
    public init(_ level: Level, _ reason: String) { self.level = level; self.reason = reason }
}

/// One packet that supports a finding: its 1-based frame number (Wireshark `frame.number`),
/// its capture time in seconds since the epoch, and what it shows.
public struct Evidence: Encodable, Sendable, Equatable {
    public var frame: Int
    /// The packet's capture time, exact to the nanosecond.
    public var timestamp: Timestamp
    public var note: String
    /// Seconds since the Unix epoch (capture time), as a decimal.
    public var time: Double { timestamp.timeInterval }
    public init(frame: Int, time: Timestamp, note: String) {
        self.frame = frame; self.timestamp = time; self.note = note
    }
    enum CodingKeys: String, CodingKey { case frame, time, note }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(frame, forKey: .frame)
        try c.encode(time, forKey: .time)
        try c.encode(note, forKey: .note)
    }
}

/// A named fault with its evidence and fix. `kind` is a stable id (`dns.conntrack-race`):
/// JSON output, `--fail-on` and tests use it.
public struct Finding: Encodable, Sendable, Equatable {
    public var kind: String
    public var title: String
    public var severity: Severity
    public var confidence: Confidence
    /// One line naming who was affected: `10.244.1.5:40000 -> 10.96.0.10:53 AAAA api.default.svc.cluster.local`.
    public var summary: String
    public var client: String?
    public var server: String?
    /// Measured values, in seconds unless the name says otherwise (e.g. `retransmit_gap_s`).
    public var measurements: [String: Double]
    public var evidence: [Evidence]
    /// What to do, in the operator's words, most useful first.
    public var fix: [String]
    /// How many times this fault occurred in this finding (1 for a single instance).
    public var occurrences: Int
    /// The endpoint the finding is about, for grouping (`10.96.0.10:53`, `10.0.0.5:8080`).
    public var endpoint: String?
    /// What knetcap read from the live system to corroborate the finding (counters, listener
    /// table, sysctls), in words; empty for files.
    public var observed: [String]
    /// Capture time of the first and last evidence packet, seconds since the epoch.
    public var firstTime: Double
    public var lastTime: Double

    public init(kind: String, title: String, severity: Severity, confidence: Confidence, summary: String,
                client: String? = nil, server: String? = nil, measurements: [String: Double] = [:],
                evidence: [Evidence], fix: [String], occurrences: Int = 1, endpoint: String? = nil) {
        self.kind = kind; self.title = title; self.severity = severity; self.confidence = confidence
        self.summary = summary; self.client = client; self.server = server; self.measurements = measurements
        self.evidence = evidence; self.fix = fix; self.occurrences = occurrences
        self.endpoint = endpoint ?? server; self.observed = []
        firstTime = evidence.map(\.time).min() ?? 0
        lastTime = evidence.map(\.time).max() ?? 0
    }
}

/// An analyser sees every packet once, in capture order, and reports findings as soon as they
/// are certain; `finish` reports what is left at the end of the capture. Time comes from
/// packet timestamps only, so a file gives the same findings on every run.
public protocol Analyzer {
    /// Finding kinds this analyser can report.
    static var kinds: [String] { get }
    mutating func observe(_ packet: Packet, report: (Finding) -> Void)
    mutating func finish(at end: Timestamp?, report: (Finding) -> Void)
}

/// Runs every tracker and analyser over the packets, in one pass, and keeps the findings.
///
/// Trackers follow protocol state (DNS transactions, TCP handshakes); analysers turn what the
/// trackers report into findings, one analyser per fault. Findings that are certain while the
/// capture runs go to `onFinding` at once (live captures stream them); the rest are reported by
/// `finish`.
public struct Diagnosis {
    public private(set) var findings: [Finding] = []
    public private(set) var packets = 0
    public private(set) var firstTimestamp: Timestamp?
    public private(set) var lastTimestamp: Timestamp?
    private var dns = DNSTimeoutAnalyzer()
    private var search = DNSSearchExpansionAnalyzer()
    private var handshakes = TCPHandshakeTracker()
    /// Addresses known to be load-balancer VIPs or ClusterIPs (`--vip`).
    public var vips: Set<IPAddress>
    /// Called for each finding as soon as it is made (streaming during live capture).
    public var onFinding: ((Finding) -> Void)?
    /// During a live capture: what the live system says now (listener table, counter deltas
    /// since the start, sysctls). Asked when a finding is made, so streamed findings quote it.
    public var liveEvidence: (() -> LiveEvidence)?

    /// Every finding kind, in report order.
    public static let kinds: [String] = DNSTimeoutAnalyzer.kinds + [
        DNSTCPFallbackAnalyzer.kind, DNSSearchExpansionAnalyzer.kind, RSTUnlistenedAnalyzer.kind,
    ] + SYNDropAnalyzer.kinds + [PAWSAnalyzer.kind, ReplySourceMismatchAnalyzer.kind]

    public init(vips: Set<IPAddress> = [], onFinding: ((Finding) -> Void)? = nil) {
        self.vips = vips
        self.onFinding = onFinding
    }

    public mutating func observe(_ p: Packet) {
        packets += 1
        if firstTimestamp == nil { firstTimestamp = p.timestamp }
        if let l = lastTimestamp, p.timestamp < l {} else { lastTimestamp = p.timestamp }
        var new: [Finding] = []
        if let d = p.dns {
            if let answered = dns.observe(answered: p, report: { new.append($0) }) { search.observe(answered: answered) }
            if d.isResponse, d.truncatedFlag, p.udp != nil, let s = p.sourceAddress, let c = p.destinationAddress {
                handshakes.noteTruncatedDNS(server: s, client: c, frame: FrameRef(frame: p.number, time: p.timestamp))
            }
        }
        let vips = self.vips, provider = liveEvidence
        handshakes.observe(p) { new.append(Self.finding(for: $0, vips: vips, live: provider?())) }
        if !new.isEmpty {
            if let provider = liveEvidence, new.contains(where: { $0.kind.hasPrefix("dns.") }) { annotate(&new, with: provider()) }
            record(new)
        }
    }

    /// Reports what is left at the end of the capture. `live` is what the live system said
    /// (listener table, counters, sysctls) when capturing live; it decides SYN drops whose
    /// port the capture alone does not show listening, and is quoted in the findings.
    public mutating func finish(live given: LiveEvidence? = nil) {
        let live = given ?? liveEvidence?()
        var new: [Finding] = []
        dns.finish(at: lastTimestamp) { new.append($0) }
        let vips = self.vips
        handshakes.finish(at: lastTimestamp) { new.append(Self.finding(for: $0, vips: vips, live: live)) }
        new += search.findings()
        if let live { annotate(&new, with: live) }
        record(new)
    }

    static func finding(for o: HandshakeOutcome, vips: Set<IPAddress>, live: LiveEvidence?) -> Finding {
        switch o {
        case .refused(let h):
            return h.dnsTruncatedAnswer != nil ? DNSTCPFallbackAnalyzer.finding(h, refused: true) : RSTUnlistenedAnalyzer.finding(h, live: live)
        case .unanswered(let h, let listening):
            if h.dnsTruncatedAnswer != nil { return DNSTCPFallbackAnalyzer.finding(h, refused: false) }
            if h.earlierTS != nil { return PAWSAnalyzer.finding(h, live: live) }
            return SYNDropAnalyzer.finding(h, listening: listening, live: live)
        case .replyMismatch(let h):
            return ReplySourceMismatchAnalyzer.finding(h, vips: vips)
        }
    }

    /// Adds what the live system said to findings whose analysers do not quote it themselves
    /// (the DNS kinds; the TCP analysers take `LiveEvidence` directly).
    private func annotate(_ findings: inout [Finding], with live: LiveEvidence) {
        for i in findings.indices where findings[i].observed.isEmpty {
            switch findings[i].kind {
            case "dns.conntrack-race", "dns.timeout":
                let d = live.deltas(["conntrack.insert_failed", "conntrack.drop"])
                findings[i].observed.append("\(live.source): " + (d.isEmpty ? "conntrack insert_failed/drop did not rise (or are not available here)" : d.joined(separator: ", ")))
            default: break
            }
        }
    }

    private mutating func record(_ new: [Finding]) {
        for f in new { findings.append(f); onFinding?(f) }
    }
}
