import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapFilter
import KnetcapCapture
import KnetcapReport

/// The per-packet pipeline, one way: source → dissect → diagnosis (every packet) → capture
/// state (fields that need earlier packets) → display filter → pcap writer and reporters.
/// The command line only parses flags and builds one; tests drive the same type on file and
/// in-memory sources.
///
/// The diagnosis always sees every packet read: a display filter decides only what is written
/// and reported. During a live capture, findings stream to the reporters as they are made.
public final class CaptureSession {
    public let source: any PacketSource
    public let linkType: LinkType
    public var diagnosis: Diagnosis
    let reporters: [any Reporter]
    let writer: PcapWriter?
    let displayFilter: DisplayFilter?
    let tracking: CaptureState.Tracking
    let limit: Int

    /// What a run did: why it stopped, how many packets it read, and the report the
    /// reporters were given.
    public struct Outcome {
        public var end: EndReason
        public var packets: Int
        public var report: Report
    }

    /// - Parameters:
    ///   - tracking: per-capture fields the reporters need (`.all` for JSON packets); the
    ///     display filter's own needs are added.
    ///   - count: stop after this many packets read (`-c`), filtered or not.
    public init(source: any PacketSource, diagnosis: Diagnosis = Diagnosis(), reporters: [any Reporter],
                writer: PcapWriter? = nil, displayFilter: DisplayFilter? = nil, tracking: CaptureState.Tracking = [],
                count: Int? = nil) {
        self.source = source
        linkType = LinkType(rawValue: source.linkType)
        self.diagnosis = diagnosis
        self.reporters = reporters
        self.writer = writer
        self.displayFilter = displayFilter
        self.tracking = tracking.union(displayFilter?.tracking ?? [])
        limit = count ?? Int.max
    }

    /// Reads the source to its end (or `count`, or a stop signal), then finishes the diagnosis
    /// and hands the report to every reporter: `read()` then `finish()`.
    public func run() -> Outcome {
        let r = read()
        return finish(r)
    }

    /// What `read` did: why it stopped and how many packets it read.
    public struct Read {
        public var end: EndReason
        public var packets: Int
        /// Findings streamed to the reporters while reading (live captures).
        var streamed: Int
    }

    /// Reads the source to its end (or `count`, or a stop signal); then closes the pcap
    /// writer and writes out the reporters' packet output. From then on the `-w` file is
    /// complete, and a second stop signal may end the process at once.
    public func read() -> Read {
        let reporters = self.reporters, displayFilter = self.displayFilter, writer = self.writer, limit = self.limit
        var diagnosis = self.diagnosis  // a local: no exclusivity checks per packet
        defer { self.diagnosis = diagnosis }
        let streamed = Counter()
        if source.isLive {
            diagnosis.onFinding = { f in
                streamed.value += 1
                for r in reporters { r.finding(f) }
            }
        }
        var state = tracking.isEmpty ? nil : CaptureState(tracking: tracking)
        var n = 0
        let end = Self.forEachPacket(of: source) { p, raw in
            n = p.number
            diagnosis.observe(p)  // every packet, displayed or not
            state?.track(&p)
            if let f = displayFilter, !f.matches(p) {  // -Y: neither written nor reported
                for r in reporters { r.skipped(p) }
                return n < limit
            }
            writer?.write(raw)
            for r in reporters { r.packet(p) }
            return n < limit
        }
        writer?.close()
        for r in reporters { r.packetsDone() }
        diagnosis.onFinding = nil
        if source.isLive || PcapSource.stopRequested { PcapSource.markExitSafe() }
        return Read(end: end, packets: n, streamed: streamed.value)
    }

    /// Finishes the diagnosis of what `read` read and hands the report to every reporter.
    public func finish(_ r: Read) -> Outcome {
        diagnosis.finish()
        var failed = false
        if case .failed = r.end { failed = true }
        let report = Report(findings: diagnosis.findings, packets: r.packets, firstTimestamp: diagnosis.firstTimestamp,
                            lastTimestamp: diagnosis.lastTimestamp, streamed: r.streamed, readFailed: failed)
        for rep in reporters { rep.finish(report) }
        return Outcome(end: r.end, packets: r.packets, report: report)
    }

    private final class Counter { var value = 0 }

    /// The loop every reader shares: each packet of `source` dissected with its link type,
    /// numbered from 1 (Wireshark's `frame.number`), handed to `body` with its raw form until
    /// `body` returns false.
    public static func forEachPacket(of source: any PacketSource, _ body: (inout Packet, RawPacket) -> Bool) -> EndReason {
        let dissector = Dissector(linkType: LinkType(rawValue: source.linkType))
        let reassembler = IPReassembler()
        var n = 0
        return source.forEach { raw in
            n += 1
            var p = dissector.dissect(ByteView(raw.bytes), number: n,
                                      timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                                      originalLength: raw.originalLength)
            if p.ipv4 != nil || p.ipv6 != nil { reassembler.process(&p) }  // fragments only; returns at once otherwise
            return body(&p, raw)
        }
    }
}
