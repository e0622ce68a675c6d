import KnetcapWire
import KnetcapDissect

/// What the trackers (`DNSTransactionTracker`, `TCPHandshakeTracker`) publish to the
/// analysers, in capture order. Values only: nothing here points into packet bytes.
public enum TrackerEvent: Sendable {
    /// A DNS response answered a query (the query name decoded once, lower-cased).
    case dnsAnswered(DNSTransaction)
    /// A DNS query was never answered, or answered only after a retransmission; `end` is the
    /// capture time it was judged at.
    case dnsProblem(DNSTransaction, end: Timestamp)
    /// The same, when a fragmented UDP datagram from the server to the client arrived in part
    /// while the client waited and never completed (`FragmentLedger`): the answer's fragments
    /// were lost. Published instead of `dnsProblem`.
    case dnsFragmentsLost(DNSTransaction, [IncompleteDatagram], end: Timestamp)
    /// A TCP handshake ended in a fault shape (refused, unanswered, answered from elsewhere).
    case handshake(HandshakeOutcome)
    /// The SYNs one server endpoint received and how many were answered (`SYNLoad`), at the
    /// end of the capture (or when the per-server table passed its limit).
    case synLoad(SYNLoad)
    /// At the end of a capture with several vantage points (`VantageLedger`): the packets seen
    /// at one and never at the next on their path, and the clock offsets between them.
    case crossVantage([VantageLoss], [ClockOffset])
    /// An ICMP/ICMPv6 destination unreachable quoting a UDP datagram (those quoting a SYN come
    /// as `.handshake(.unreachable)`).
    case datagramUnreachable(Unreachable)
    /// A TCP sender's full-size segment re-sent by RTO without being acknowledged while smaller
    /// ones got through (`PathMTUTracker`), published when its connection ends.
    case segmentStall(SegmentStall)
}

/// What an analyser may consult besides the events: `--vip` addresses and, during a live
/// capture, what the live system says now (listener table, counter deltas, sysctls).
public struct AnalysisContext {
    /// Addresses known to be load-balancer VIPs or ClusterIPs (`--vip`).
    public let vips: Set<IPAddress>
    let liveProvider: (() -> LiveEvidence)?
    /// The vantage points' names (pcapng `if_name`: `node-a/eth0` after `knetcap merge`), by
    /// `Packet.vantage`; known at the end of the capture.
    public let vantageNames: [UInt32: String]

    public init(vips: Set<IPAddress> = [], live: (() -> LiveEvidence)? = nil, vantageNames: [UInt32: String] = [:]) {
        self.vips = vips
        liveProvider = live
        self.vantageNames = vantageNames
    }

    /// A vantage point's name, or `interface N`; `NAME (interface N)` when another vantage
    /// point has the same name (two inputs of one label merged, two interfaces of one name).
    public func vantage(_ v: UInt32) -> String {
        guard let name = vantageNames[v], !name.isEmpty else { return "interface \(v)" }
        return vantageNames.contains { $0.key != v && $0.value == name } ? "\(name) (interface \(v))" : name
    }

    /// The live system's state (read at most once a second by the command line), or `nil`
    /// when reading a file.
    public var live: LiveEvidence? { liveProvider?() }
}

/// One fault, one analyser: it takes the trackers' events in capture order and reports each
/// finding as soon as it is certain; `finish` reports what is left at the end of the capture.
/// Time comes from packet timestamps only, so a file gives the same findings on every run.
/// Every analyser is listed once in `Diagnosis.analyzers`; a new fault is a new file with a
/// type conforming to this protocol, plus its line there.
public protocol Analyzer: Sendable {
    /// Finding kinds this analyser can report (stable ids: `--json`, `--fail-on`), in report order.
    static var kinds: [String] { get }
    /// Whether it takes `.dnsAnswered`, the one event published for nearly every DNS answer
    /// (healthy ones included); the others are rare. False by default: an analyser that does
    /// not say so is not called once per answer.
    static var takesEveryAnswer: Bool { get }
    init()
    mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void)
    /// `.dnsAnswered(t)`, called directly (no event built per answer) on the analysers with
    /// `takesEveryAnswer`; by default it is passed to `observe`.
    mutating func answered(_ t: DNSTransaction, _ context: AnalysisContext, report: (Finding) -> Void)
    mutating func finish(_ context: AnalysisContext, report: (Finding) -> Void)
}

extension Analyzer {
    public static var takesEveryAnswer: Bool { false }
    public mutating func answered(_ t: DNSTransaction, _ context: AnalysisContext, report: (Finding) -> Void) {
        observe(.dnsAnswered(t), context, report: report)
    }
    public mutating func finish(_ context: AnalysisContext, report: (Finding) -> Void) {}
}
