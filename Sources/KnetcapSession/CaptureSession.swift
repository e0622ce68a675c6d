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
    let writer: (any PacketWriter)?
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
                writer: (any PacketWriter)? = nil, displayFilter: DisplayFilter? = nil, tracking: CaptureState.Tracking = [],
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
        /// What `CaptureState`'s limits dropped from tracking.
        var limits: [StateLimitNote] = []
    }

    /// Reads the source to its end (or `count`, or a stop signal); then closes the pcap
    /// writer and writes out the reporters' packet output. From then on the `-w` file is
    /// complete, and a second stop signal may end the process at once.
    public func read() -> Read {
        let reporters = self.reporters, packetReporters = reporters.filter(\.wantsPackets), displayFilter = self.displayFilter, writer = self.writer, limit = self.limit
        var diagnosis = self.diagnosis  // a local: no exclusivity checks per packet
        defer { self.diagnosis = diagnosis }
        let streamed = Counter()
        if source.isLive {
            diagnosis.onFinding = { f in
                streamed.value += 1
                for r in reporters { r.finding(f) }
            }
        }
        // Through a pointer: the other-record callback (escaping) shares it, and a captured
        // `var` would be boxed, with a dynamic exclusivity check per packet (issue 11).
        let statePointer = UnsafeMutablePointer<CaptureState?>.allocate(capacity: 1)
        statePointer.initialize(to: tracking.isEmpty ? nil : CaptureState(tracking: tracking))
        defer { statePointer.deinitialize(count: 1); statePointer.deallocate() }
        // Interfaces known before the first packet (a merge's, several namespaces'): copies of
        // one packet are matched from the start.
        if source is MultiPcapSource { diagnosis.expectSeveralVantagePoints(live: true) }
        else if ((source as? WiretapSource)?.interfaces.count ?? 0) > 1 { diagnosis.expectSeveralVantagePoints() }
        var n = 0
        var unsupported: [UnsupportedInterface] = []
        let recordTracking = tracking.contains(.record)
        // Interface names as tshark gives them (frame's tree line), refreshed when a packet
        // names one not read yet.
        var interfaceLabels: [InterfaceLabel] = []
        let unknownInterface = InterfaceLabel(ifName: "", ifDescription: "")  // one the file never described
        let wiretap = source as? WiretapSource
        func interfaceLabel(_ raw: RawPacket) -> InterfaceLabel? {
            guard let w = wiretap, let g = WiretapSource.globalInterfaceID(raw).map(Int.init) else { return nil }
            if g >= interfaceLabels.count {
                interfaceLabels = w.interfaces.map { InterfaceLabel(ifName: $0.name, ifDescription: $0.description) }
            }
            return g < interfaceLabels.count ? interfaceLabels[g] : unknownInterface
        }
        // Records that are not packets: frames for tshark's time fields, -Y and -T fields only
        // (not packets to the diagnosis, the packet lines or -w).
        let otherRecord: (inout Packet, RawPacket) -> Void = { p, raw in
            statePointer.pointee?.track(&p)
            p.recordType = WiretapSource.recordType(raw)
            if recordTracking {
                p.interfaceID = WiretapSource.interfaceID(raw)
                p.comments = WiretapSource.commentBytes(raw)
                if p.interfaceID != nil { p.interface = interfaceLabel(raw) }
            }
            if let f = displayFilter, !f.matches(p) { return }
            for r in reporters { r.otherRecord(p) }
        }
        let end = Self.forEachPacket(of: source, otherRecord: otherRecord, unsupported: { raw, frame in
            if let i = unsupported.firstIndex(where: { $0.interface == raw.interface && $0.linkType == raw.linkType }) {
                unsupported[i].packets += 1
            } else if unsupported.count < Self.unsupportedLimit {
                unsupported.append(UnsupportedInterface(linkType: raw.linkType, interface: raw.interface, firstFrame: frame, packets: 1,
                                                        globalInterface: WiretapSource.globalInterfaceID(raw) ?? raw.interface,
                                                        linkTypeName: WiretapSource.linkTypeName(raw)))
            }
        }) { p, raw in
            n = p.number
            diagnosis.observe(p)  // every packet, displayed or not
            p.isVantageCopy = diagnosis.lastWasCopy
            statePointer.pointee?.track(&p)
            if recordTracking, raw.record != nil {
                p.interfaceID = WiretapSource.interfaceID(raw)
                p.comments = WiretapSource.commentBytes(raw)
                if p.interfaceID != nil { p.interface = interfaceLabel(raw) }
            }
            if let f = displayFilter, !f.matches(p) {  // -Y: neither written nor reported
                for r in packetReporters { r.skipped(p) }
                return n < limit
            }
            if let w = writer {
                w.write(raw, frame: n)
                if w.isFull { return false }  // -G with -W: the last file is done
            }
            for r in packetReporters { r.packet(p) }
            return n < limit
        }
        writer?.close()
        // Non-packet records after the last packet are frames too (tshark counts them).
        if end == .endOfFile, let w = source as? WiretapSource { n += w.trailingRecords }
        self.unsupported = unsupported
        for r in reporters { r.packetsDone() }
        diagnosis.onFinding = nil
        // Every -w file is complete (closed above; a comment pass later writes a temporary file
        // a second signal removes): from here a second stop signal ends knetcap at once, also
        // when it is blocked writing its output or report to a reader that stopped reading.
        PcapSource.markExitSafe()
        return Read(end: end, packets: n, streamed: streamed.value, limits: statePointer.pointee?.limits ?? [])
    }

    /// Finishes the diagnosis of what `read` read and hands the report to every reporter.
    public func finish(_ r: Read) -> Outcome {
        if let w = source as? WiretapSource {
            diagnosis.vantageNames = Dictionary(uniqueKeysWithValues: w.interfaces.enumerated().map { (UInt32($0.offset), $0.element.name) })
        }
        if let m = source as? MultiPcapSource {
            diagnosis.vantageNames = Dictionary(uniqueKeysWithValues: m.names.enumerated().map { (UInt32($0.offset), $0.element) })
        }
        diagnosis.finish()
        var failed: String?
        if case .failed(let m) = r.end { failed = m }
        if case .badInput(let e) = r.end { failed = e.message }
        var report = Report(findings: diagnosis.findings, packets: r.packets, firstTimestamp: diagnosis.firstTimestamp,
                            lastTimestamp: diagnosis.lastTimestamp, streamed: r.streamed, readError: failed,
                            suppressed: diagnosis.suppressed, limits: diagnosis.limits + r.limits)
        report.suppressedSpans = diagnosis.suppressedSpans
        for rep in reporters { rep.finish(report) }
        return Outcome(end: r.end, packets: r.packets, report: report)
    }

    private final class Counter { var value = 0 }

    /// The packet comment a finding puts on each of its evidence frames in a pcapng `-w`
    /// file: `knetcap: KIND: TITLE (NOTE)`, so `tshark -Y 'frame.comment contains "knetcap"'`
    /// shows them. Frame number → its comments, in report order.
    public static func evidenceComments(_ findings: [Finding]) -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for f in findings {
            for e in f.evidence {
                out[e.frame, default: []].append("knetcap: \(f.kind): \(f.title)\(e.note.isEmpty ? "" : " (\(e.note))")")
            }
        }
        return out
    }

    /// Adds `evidenceComments(findings)` to the pcapng files `files` (rewritten through
    /// libwiretap, each through a temporary file renamed over it). Classic pcap files and
    /// standard output are left alone (they cannot be rewritten). Returns the comments written.
    /// - Throws: `CaptureError` reading or writing a file back.
    @discardableResult
    public static func commentFindings(_ findings: [Finding], in files: [WrittenFile]) throws(CaptureError) -> Int {
        var written = 0
        for (file, perRecord) in commentsPerRecord(findings, in: files) {
            try PcapngWriter.addComments(to: file.path, perRecord)
            written += perRecord.values.reduce(0) { $0 + $1.count }
        }
        return written
    }

    /// How many comments `commentFindings` would add to `files` (0 for classic pcap files and
    /// standard output): what a failed write leaves out, the pass not run.
    public static func pendingComments(_ findings: [Finding], in files: [WrittenFile]) -> Int {
        commentsPerRecord(findings, in: files).reduce(0) { $0 + $1.comments.values.reduce(0) { $0 + $1.count } }
    }

    /// For each pcapng file of `files` holding an evidence frame, its comments by record index
    /// (record k of the file is its k-th frame number).
    static func commentsPerRecord(_ findings: [Finding], in files: [WrittenFile]) -> [(file: WrittenFile, comments: [Int: [String]])] {
        let byFrame = evidenceComments(findings)
        guard !byFrame.isEmpty else { return [] }
        var out: [(file: WrittenFile, comments: [Int: [String]])] = []
        for file in files where file.isPcapng && file.path != "-" {
            var perRecord: [Int: [String]] = [:]
            var k = 0
            for run in file.frames {
                for frame in run {
                    if let c = byFrame[frame] { perRecord[k] = c }
                    k += 1
                }
            }
            if !perRecord.isEmpty { out.append((file, perRecord)) }
        }
        return out
    }

    /// Packets whose interface has a link type knetcap does not dissect (a pcapng file with
    /// several interfaces): read, numbered, written and printed as bare frames, never analysed.
    public struct UnsupportedInterface: Sendable, Equatable {
        /// The DLT_/LINKTYPE_ value, the interface index (within its pcapng section, as
        /// `frame.interface_id`), the first such frame, how many, and the interface's index
        /// across sections (`WiretapSource.interfaces`).
        public var linkType: Int32
        public var interface: UInt32
        public var firstFrame: Int
        public var packets: Int
        public var globalInterface: UInt32
        /// The link type's name for messages: its DLT_ name, or wiretap's name of the
        /// encapsulation when it has no pcap link type (nettl's "Ethernet with nettl headers").
        public var linkTypeName: String
    }

    /// The interfaces of unsupported link type met by the last `read` (in order of first
    /// packet; at most `unsupportedLimit`, later ones not followed).
    public private(set) var unsupported: [UnsupportedInterface] = []
    public static let unsupportedLimit = 64

    /// The loop every reader shares: each packet of `source` dissected with its own link type
    /// (in a pcapng file each interface's), numbered from 1 (Wireshark's `frame.number`), handed
    /// to `body` with its raw form until `body` returns false. `unsupported` is told of each
    /// packet whose link type knetcap does not dissect.
    /// `otherRecord` is told, in frame order, of each record of a `WiretapSource` that is not a
    /// packet (a pcapng custom block, a systemd journal entry): numbered as tshark numbers
    /// frames, with its lengths, time and bytes and no layers.
    public static func forEachPacket(of source: any PacketSource, otherRecord: ((inout Packet, RawPacket) -> Void)? = nil,
                                     unsupported: ((RawPacket, Int) -> Void)? = nil,
                                     _ body: (inout Packet, RawPacket) -> Bool) -> EndReason {
        var dissector = Dissector(linkType: LinkType(rawValue: source.linkType))
        var others: [Int32: Dissector] = [:]
        let reassembler = IPReassembler()
        let dnsOverTCP = TCPDNSReassembler()
        // The frame count, read by the other-record callback (an escaping closure): a
        // captured `var` would be boxed, with a dynamic exclusivity check per packet (issue 11).
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        defer { counter.deallocate() }
        // A record with more bytes captured than its length: refused as tcpdump refuses it in
        // the formats tcpdump reads (pcap, pcapng), dissected as tshark does in the others.
        let lenient = (source as? WiretapSource).map { !$0.isTcpdumpFormat } ?? false
        if let other = otherRecord, let w = source as? WiretapSource {
            w.onOtherRecord = { raw in
                var p = Packet(number: counter.pointee + raw.framesBefore, timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                               capturedLength: raw.capturedLength, originalLength: raw.originalLength,
                               linkType: LinkType(rawValue: raw.linkType), bytes: ByteView(raw.bytes))
                p.hasTimestamp = raw.hasTimestamp
                other(&p, raw)
            }
        }
        defer { (source as? WiretapSource)?.onOtherRecord = nil }
        return source.forEach { raw in
            counter.pointee += 1 + raw.framesBefore  // frame numbers count what Wireshark counts as frames
            let n = counter.pointee
            if raw.linkType != dissector.linkType.rawValue {
                if let d = others[raw.linkType] {
                    others[dissector.linkType.rawValue] = dissector
                    dissector = d
                } else {
                    if others.count < 64 { others[dissector.linkType.rawValue] = dissector }
                    dissector = Dissector(linkType: LinkType(rawValue: raw.linkType))
                }
            }
            if !dissector.linkType.isSupported { unsupported?(raw, n) }
            var p = dissector.dissect(ByteView(raw.bytes), number: n,
                                      timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                                      originalLength: raw.originalLength, acceptsCaplenAboveLen: lenient)
            // Its interface across pcapng sections (a lookup only after the first section).
            p.vantage = raw.record == nil ? raw.interface : (WiretapSource.globalInterfaceID(raw) ?? raw.interface)
            p.hasTimestamp = raw.hasTimestamp
            if p.ipv4 != nil || p.ipv6 != nil { reassembler.process(&p) }  // fragments only; returns at once otherwise
            if p.tcp != nil { dnsOverTCP.process(&p) }  // DNS ports only; returns at once otherwise
            return body(&p, raw)
        }
    }
}
