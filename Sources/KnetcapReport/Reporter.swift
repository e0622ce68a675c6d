import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// What a capture session reports at its end: every finding, in the order made, and the
/// capture's extent. `packets` counts packets read (every one was diagnosed).
public struct Report: Sendable {
    public var findings: [Finding]
    public var packets: Int
    /// Capture time of the first packet read and the latest capture time seen.
    public var firstTimestamp: Timestamp?
    public var lastTimestamp: Timestamp?
    /// How many of `findings` (the first ones) were already streamed by `Reporter.finding`.
    public var streamed: Int
    /// Why reading failed part-way (a cut or corrupt file: the reader's message), `nil` when
    /// it did not; the diagnosis covers the packets before it.
    public var readError: String?
    public var readFailed: Bool { readError != nil }
    /// Per finding kind, findings made past `Diagnosis.maxFindingsPerKind` and not kept in
    /// `findings` (counted only).
    public var suppressed: [String: Int]
    /// Per kind, the capture times the suppressed findings span (`Diagnosis.suppressedSpans`).
    public var suppressedSpans: [String: ClosedRange<Double>] = [:]
    /// What the state limits dropped from tracking (a flood): reported, never a finding.
    public var limits: [StateLimitNote]

    public init(findings: [Finding], packets: Int, firstTimestamp: Timestamp?, lastTimestamp: Timestamp?,
                streamed: Int = 0, readError: String? = nil, suppressed: [String: Int] = [:], limits: [StateLimitNote] = []) {
        self.findings = findings; self.packets = packets; self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp; self.streamed = streamed; self.readError = readError
        self.suppressed = suppressed; self.limits = limits
    }

    /// The capture times (epoch seconds) a kind's findings span, kept or only counted.
    public func span(of kind: String) -> ClosedRange<Double>? {
        let g = findings.filter { $0.kind == kind }
        guard let first = g.map(\.firstTime).min(), let last = g.map(\.lastTime).max() else { return suppressedSpans[kind] }
        guard let more = suppressedSpans[kind] else { return first...last }
        return min(first, more.lowerBound)...max(last, more.upperBound)
    }

    /// Findings made, kept or only counted.
    public var findingCount: Int { findings.count + suppressed.values.reduce(0, +) }

    /// "state limit reached: N pending SYNs dropped from tracking" lines, one per table.
    public var limitLines: [String] {
        limits.map { l in
            "state limit reached: \(l.dropped) \(l.what) dropped from tracking (at most \(l.maxEntries) kept, \(l.budgetBytes >> 20) MiB); none of them was reported as a fault"
        }
    }

    /// Seconds from the first packet to the latest capture time (0 for an empty capture).
    public var captureSeconds: Double {
        (lastTimestamp.flatMap { l in firstTimestamp.map { l - $0 } }) ?? 0
    }
}

/// One output of a capture session (terminal text, JSON lines; later pcapng comments, HTML).
/// The session calls, in order: `packet` or `skipped` for each packet read, `finding` for
/// each finding made while a live capture runs, `packetsDone` after the last packet, and
/// `finish` once at the end (not when a second stop signal ends the capture).
public protocol Reporter: AnyObject {
    /// A packet the display filter passed (every packet without `-Y`).
    func packet(_ p: Packet)
    /// A packet the display filter hid; stateful outputs learn from it (packet lines print
    /// relative sequence numbers and deltas as without the filter).
    func skipped(_ p: Packet)
    /// A frame that is not a packet (a pcapng custom block, a systemd journal entry: no
    /// layers) that the display filter passed, in frame order: tshark prints it as a frame;
    /// only field export does.
    func otherRecord(_ p: Packet)
    /// A finding made while capturing live, as soon as it is made.
    func finding(_ f: Finding)
    /// The last packet was read: write out what is buffered (a second Ctrl-C during the
    /// diagnosis ends the process at once, and packets already reported must be out).
    func packetsDone()
    /// The end of the capture: the whole diagnosis.
    func finish(_ report: Report)
    /// Whether `packet` and `skipped` do anything (default true): the session hands packets
    /// only to reporters that want them (each call copies the packet, issue 11).
    var wantsPackets: Bool { get }
}

extension Reporter {
    public func packet(_ p: Packet) {}
    public func skipped(_ p: Packet) {}
    public func otherRecord(_ p: Packet) {}
    public func finding(_ f: Finding) {}
    public func packetsDone() {}
    public func finish(_ report: Report) {}
    public var wantsPackets: Bool { true }
}
