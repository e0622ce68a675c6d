import KnetcapWire
import KnetcapDissect

/// How bad a finding is for the workload.
public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case critical, warning, info
    var rank: Int { self == .critical ? 0 : (self == .warning ? 1 : 2) }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// How sure an analyser is, and why.
public struct Confidence: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable { case high, medium, low }
    public var level: Level
    public var reason: String
    public init(_ level: Level, _ reason: String) { self.level = level; self.reason = reason }
}

/// One packet that supports a finding: its 1-based frame number (Wireshark `frame.number`),
/// its capture time in seconds since the epoch, and what it shows.
public struct Evidence: Codable, Sendable, Equatable {
    public var frame: Int
    /// Seconds since the Unix epoch (capture time), as a decimal.
    public var time: Double
    public var note: String
    public init(frame: Int, time: Timestamp, note: String) {
        self.frame = frame; self.time = time.timeInterval; self.note = note
    }
}

/// A named fault with its evidence and fix. `kind` is a stable id (`dns.conntrack-race`):
/// JSON output, `--fail-on` and tests use it.
public struct Finding: Codable, Sendable, Equatable {
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
    /// Capture time of the first and last evidence packet, seconds since the epoch.
    public var firstTime: Double
    public var lastTime: Double

    public init(kind: String, title: String, severity: Severity, confidence: Confidence, summary: String,
                client: String? = nil, server: String? = nil, measurements: [String: Double] = [:],
                evidence: [Evidence], fix: [String]) {
        self.kind = kind; self.title = title; self.severity = severity; self.confidence = confidence
        self.summary = summary; self.client = client; self.server = server; self.measurements = measurements
        self.evidence = evidence; self.fix = fix
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

/// Runs every analyser over the packets and keeps the findings.
public struct Diagnosis {
    public private(set) var findings: [Finding] = []
    public private(set) var packets = 0
    public private(set) var lastTimestamp: Timestamp?
    private var dns = DNSTimeoutAnalyzer()
    /// Called for each finding as soon as it is made (streaming during live capture).
    public var onFinding: ((Finding) -> Void)?

    /// All finding kinds any analyser can report.
    public static var kinds: [String] { DNSTimeoutAnalyzer.kinds }

    public init(onFinding: ((Finding) -> Void)? = nil) { self.onFinding = onFinding }

    public mutating func observe(_ p: Packet) {
        packets += 1
        if let l = lastTimestamp, p.timestamp < l {} else { lastTimestamp = p.timestamp }
        var new: [Finding] = []
        dns.observe(p) { new.append($0) }
        if !new.isEmpty { record(new) }
    }

    public mutating func finish() {
        var new: [Finding] = []
        dns.finish(at: lastTimestamp) { new.append($0) }
        record(new)
    }

    private mutating func record(_ new: [Finding]) {
        for f in new { findings.append(f); onFinding?(f) }
    }
}
