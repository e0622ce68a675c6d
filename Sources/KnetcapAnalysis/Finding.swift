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
