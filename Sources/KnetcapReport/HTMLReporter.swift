import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// `--html FILE`: one self-contained HTML page written at the end of the run (styles, the
/// small script and every picture inline as SVG drawn by knetcap; nothing is fetched when it
/// is opened, so it can be mailed or attached to a ticket). It shows the capture summary; each
/// finding with a sequence diagram of its evidence frames (hosts as columns, the pauses
/// measured, a reply that never came drawn as missing), its evidence, confidence and fix; per
/// DNS server a timeline and a histogram of response times (from the first transmission); the
/// largest conversations; TCP handshake outcomes per server. Its size is bounded whatever the
/// capture: `diagramsPerKind` diagrams and `listedPerKind` rows per finding kind, aggregated
/// charts (`SVGCharts.swift`).
public final class HTMLReporter: Reporter {
    public static let diagramsPerKind = 5
    /// DNS servers drawn with a timeline and a histogram (the busiest; the table lists more).
    public static let picturedServers = 20
    public static let listedPerKind = 200

    /// What the summary says about the input.
    public struct Capture {
        public var name: String
        public var linkType: String
        /// Interface names of a live capture (`-i any`), empty for files.
        public var interfaces: [String]
        /// The network namespace captured in (`--netns`, `--container`, `--pod`), in words.
        public var namespace: String?
        /// The BPF capture filter, if any.
        public var filter: String?
        public var generator: String
        public init(name: String, linkType: String, interfaces: [String] = [], namespace: String? = nil, filter: String? = nil,
                    generator: String = "knetcap") {
            self.name = name; self.linkType = linkType; self.interfaces = interfaces; self.namespace = namespace
            self.filter = filter; self.generator = generator
        }
    }

    public let path: String
    let capture: Capture
    let collector: StatsCollector
    let utcOffset: (Int64) -> Int
    /// For a file: reads it again, handing every packet's record to the function it is given,
    /// in frame order, until that function returns false (evidence older than the ring holds is
    /// found there; the reading stops after the last evidence frame).
    let reread: (((FrameRecord) -> Bool) -> Void)?
    var ring: FrameRing
    var resolved: [Int: FrameRecord] = [:]
    var streamedPerKind: [String: Int] = [:]
    var streamed: [Finding] = []
    /// Why the file could not be written, or `nil`.
    public private(set) var error: String?
    /// The page, after `finish` (tests read it).
    public private(set) var html = ""

    /// - Parameters:
    ///   - path: the file written at `finish`.
    ///   - collector: the statistics (placed before this reporter in the session's list).
    ///   - reread: for a capture file, a way to read it again (see `reread`); `nil` live.
    ///   - recentFrames: how many of the last packets are kept for the diagrams (`FrameRing`).
    public init(path: String, capture: Capture, collector: StatsCollector, utcOffset: @escaping (Int64) -> Int = localUTCOffset,
                reread: (((FrameRecord) -> Bool) -> Void)? = nil, recentFrames: Int = 1 << 16) {
        self.path = path; self.capture = capture; self.collector = collector; self.utcOffset = utcOffset; self.reread = reread
        ring = FrameRing(capacity: max(1, recentFrames))
    }

    public func packet(_ p: Packet) { keep(p) }
    public func skipped(_ p: Packet) { keep(p) }

    private func keep(_ p: Packet) {
        if let r = FrameRecord(p) { ring.add(r) }
        if !streamed.isEmpty { resolveStreamed() }
    }

    /// Live: the evidence of a streamed finding is recent, still in the ring; it is kept from
    /// there once the packet that completed the finding (diagnosed before it reaches the
    /// reporters) is in the ring too. Only the findings that get a diagram: the first
    /// `diagramsPerKind` of each kind.
    public func finding(_ f: Finding) {
        streamedPerKind[f.kind, default: 0] += 1
        if streamedPerKind[f.kind, default: 0] <= Self.diagramsPerKind { streamed.append(f) }
    }

    public func packetsDone() { resolveStreamed() }

    private func resolveStreamed() {
        for f in streamed {
            guard let lo = f.evidence.map(\.frame).min(), let hi = f.evidence.map(\.frame).max() else { continue }
            var selector = EvidenceSelector(needed: Set(f.evidence.map(\.frame)))
            for n in max(lo, hi - ring.capacity + 1)...hi { if let r = ring[n] { selector.add(r) } }
            resolved.merge(selector.selected) { a, _ in a }
        }
        streamed.removeAll()
    }

    public func finish(_ report: Report) {
        let shown = Dictionary(grouping: report.findings, by: \.kind).values.flatMap { $0.prefix(Self.diagramsPerKind) }
        let needed = Set(shown.flatMap { $0.evidence.map(\.frame) })
        let missing = needed.filter { resolved[$0] == nil && ring[$0] == nil }
        var records = resolved
        if !missing.isEmpty, let reread {
            var selector = EvidenceSelector(needed: needed)
            let last = needed.max() ?? 0
            reread { r in
                selector.add(r)
                return r.frame < last
            }
            records.merge(selector.selected) { a, _ in a }
        } else {
            records.merge(selectEvidence(ring.records, needed: needed)) { a, _ in a }
        }
        html = page(report, records: records)
        // Written in place with open(2)/write(2), as tcpdump writes -w: never a temporary file
        // renamed over the path, which would replace a device (/dev/stdout, /dev/full), a FIFO
        // or a symlink with a regular file.
        // A FIFO blocks open(2) until a reader comes; a stop signal interrupts it (retried, as
        // writes are, until a second one).
        var fd: Int32 = -1
        repeat { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) } while fd < 0 && errno == EINTR && !TextOutput.givesUpOnSignal()
        guard fd >= 0 else {
            self.error = errno == EINTR ? "blocked: no reader opened it (a FIFO?) until a second stop signal" : String(cString: strerror(errno))
            return
        }
        defer { close(fd) }
        var bytes = Array(html.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR && !TextOutput.givesUpOnSignal() { continue }
                self.error = errno == EINTR ? TextOutput.blockedMessage : String(cString: strerror(errno))
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    // MARK: - The page

    func page(_ r: Report, records: [Int: FrameRecord]) -> String {
        let stats = collector.stats
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        // One line: the version and libpcap's, as `knetcap --version` prints them on two.
        s += "<meta name=\"generator\" content=\"\(esc(capture.generator.split(separator: "\n").joined(separator: "; ")))\">"
        s += "<title>knetcap report: \(esc(capture.name))</title><style>\(Self.css)</style></head><body>\n"
        s += "<header><h1>knetcap report</h1><p class=\"sub\">\(esc(capture.name))</p></header>\n"
        s += summarySection(r)
        s += findingsSection(r, records: records)
        if let stats {
            s += dnsSection(stats, r)
            s += conversationsSection(stats)
            s += handshakesSection(stats)
        }
        s += "<footer>Written by \(esc(capture.generator.split(separator: "\n").first.map(String.init) ?? "knetcap")). DNS response times are measured from the first transmission of a query to its answer; Wireshark's <code>dns.time</code> starts again at a retry sent 5 s or more after the first transmission (its <code>dns.retransmission_timer</code>), so a lookup that waited 5 s for a retry shows there as the retry's round trip.</footer>\n"
        s += "<script>\(Self.script)</script>\n</body></html>\n"
        return s
    }

    func summarySection(_ r: Report) -> String {
        var rows: [(String, String)] = [("capture", capture.name), ("link type", capture.linkType), ("packets", "\(r.packets)")]
        if let f = r.firstTimestamp { rows.append(("first packet", "\(dateTime(f)) UTC\(offsetText(f))")) }
        if let l = r.lastTimestamp { rows.append(("last packet", "\(dateTime(l)) UTC\(offsetText(l))")) }
        rows.append(("duration", String(format: "%.6f s", r.captureSeconds)))
        if !capture.interfaces.isEmpty { rows.append(("interfaces", capture.interfaces.joined(separator: ", "))) }
        if let n = capture.namespace { rows.append(("network namespace", n)) }
        if let f = capture.filter { rows.append(("capture filter", f)) }
        if r.readFailed { rows.append(("note", "reading failed part-way: the report covers the packets before the error")) }
        for l in r.limitLines { rows.append(("state limit", l)) }
        if !r.suppressed.isEmpty {
            rows.append(("findings not kept", r.suppressed.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key) (the first \(Diagnosis.maxFindingsPerKind) kept)" }.joined(separator: ", ")))
        }
        let bySeverity = Severity.allCases.map { sev in (sev, r.findings.filter { $0.severity == sev }.count) }.filter { $0.1 > 0 }
        rows.append(("findings", r.findings.isEmpty ? "none: no fault found" : "\(r.findings.count) (" + bySeverity.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ") + ")"))
        var s = "<section id=\"summary\"><h2>Capture</h2><table class=\"kv\">"
        for (k, v) in rows { s += "<tr><th>\(esc(k))</th><td>\(esc(v))</td></tr>" }
        s += "</table>"
        if !r.findings.isEmpty {
            s += "<ul class=\"glance\">"
            for kind in orderedKinds(r.findings) {
                let g = r.findings.filter { $0.kind == kind }
                s += "<li class=\"\(g[0].severity.rawValue)\"><a href=\"#kind-\(esc(kind))\"><span class=\"badge \(g[0].severity.rawValue)\">\(g[0].severity.rawValue)</span> <b>\(esc(kind))</b> ×\(g.count)</a> \(esc(g[0].title))"
                if let w = g.map(longestWait).max(), w >= 1 { s += " <span class=\"waitinline\">waited \(esc(humanDuration(w)))</span>" }
                s += "</li>"
            }
            s += "</ul>"
        }
        return s + "</section>\n"
    }

    func findingsSection(_ r: Report, records: [Int: FrameRecord]) -> String {
        var s = "<section id=\"findings\"><h2>Findings</h2>"
        if r.findings.isEmpty { return s + "<p class=\"ok\">No faults found in \(packetCount(r.packets)).</p></section>\n" }
        for kind in orderedKinds(r.findings) {
            let g = r.findings.filter { $0.kind == kind }
            let head = g[0]
            s += "<div class=\"kind \(head.severity.rawValue)\" id=\"kind-\(esc(kind))\" data-kind=\"\(esc(kind))\">"
            s += "<h3><span class=\"badge \(head.severity.rawValue)\">\(head.severity.rawValue)</span> \(esc(kind)) ×\(g.count) <span class=\"title\">\(esc(head.title))</span></h3>"
            for (i, f) in g.prefix(Self.diagramsPerKind).enumerated() {
                s += "<div class=\"finding\" data-kind=\"\(esc(f.kind))\">"
                s += "<p class=\"summary\">\(g.count > 1 ? "[\(i + 1)] " : "")\(esc(f.summary))</p>"
                let pause = longestPause(f)
                if let w = f.measurements["resolution_time_s"], w >= 1 {
                    s += "<div class=\"wait\"><span class=\"waitnum\">\(esc(humanDuration(w)))</span> from the first query to its answer</div>"
                } else if let w = f.measurements["waited_s"] ?? f.measurements["unanswered_for_s"], w >= 1 {
                    s += "<div class=\"wait\"><span class=\"waitnum\">\(esc(humanDuration(w)))</span> without an answer, counted from the first try</div>"
                } else if pause >= 1 {
                    s += "<div class=\"wait\"><span class=\"waitnum\">\(esc(humanDuration(pause)))</span> waited between two packets of this finding</div>"
                }
                s += "<div class=\"diagram\">" + sequenceDiagram(diagramEvents(f, records: records), utcOffset: utcOffset) + "</div>"
                if let n = f.measurements["transmissions"], Int(n) > DNSTransactionTracker.maxTransmissionsKept {
                    let kept = DNSTransactionTracker.maxTransmissionsKept
                    s += "<p class=\"note\">\(Int(n) - kept) more transmissions of this query are not drawn: \(Int(n)) in all, the first \(kept - 1) and the last are kept.</p>"
                }
                s += "<details><summary>evidence: \(f.evidence.count) packets</summary><table class=\"evidence\"><tr><th>frame</th><th>time</th><th>what it shows</th></tr>"
                for e in f.evidence { s += "<tr data-frame=\"\(e.frame)\"><td>\(e.frame)</td><td>\(esc(clock(e.timestamp, utcOffset)))</td><td>\(esc(e.note))</td></tr>" }
                s += "</table></details>"
                for o in f.observed { s += "<p class=\"observed\">observed: \(esc(o))</p>" }
                s += "</div>"
            }
            if g.count > Self.diagramsPerKind {
                s += "<details><summary>\(g.count - Self.diagramsPerKind) more</summary><ol start=\"\(Self.diagramsPerKind + 1)\">"
                for f in g.dropFirst(Self.diagramsPerKind).prefix(Self.listedPerKind) { s += "<li>\(esc(f.summary))</li>" }
                s += "</ol>"
                if g.count > Self.diagramsPerKind + Self.listedPerKind { s += "<p>… and \(g.count - Self.diagramsPerKind - Self.listedPerKind) more (--json lists every one)</p>" }
                s += "</details>"
            }
            s += "<p class=\"confidence\"><b>confidence: \(head.confidence.level.rawValue)</b> — \(esc(head.confidence.reason))</p>"
            s += "<div class=\"fix\"><b>fix</b><ul>" + head.fix.map { "<li>\(codeSpans($0))</li>" }.joined() + "</ul></div></div>"
        }
        return s + "</section>\n"
    }

    func dnsSection(_ st: CaptureStats, _ r: Report) -> String {
        var s = "<section id=\"dns\"><h2>DNS response time per server</h2>"
        if st.dns_servers.isEmpty { return s + "<p>No unicast DNS queries.</p></section>\n" }
        s += "<p class=\"note\">From the first transmission of each query to its answer (a retried query counts its whole wait).\(st.dns_servers_total > st.dns_servers.count ? " The \(st.dns_servers.count) servers with the most queries of \(st.dns_servers_total)." : "")</p>"
        s += statsTable(["server", "qtype", "queries", "answered", "NXDOMAIN", "SERVFAIL", "timeouts", "retried", "p50", "p90", "p99", "max"],
                        dnsTableRows(st).map { d in [d.server + (d.transport == "tcp" ? "/tcp" : ""), d.qtype, "\(d.queries)", "\(d.answered)", "\(d.nxdomain)", "\(d.servfail)",
                                           "\(d.timeouts)", "\(d.retransmitted)", humanDuration(d.p50_s), humanDuration(d.p90_s),
                                           humanDuration(d.p99_s), humanDuration(d.max_s)] }, cls: "dnsstats")
        let start = r.firstTimestamp?.timeInterval ?? 0, end = r.lastTimestamp?.timeInterval ?? start
        // Pictures for the busiest servers only (each is a timeline and a histogram).
        let pictured = Set(st.dns_servers.sorted { $0.queries != $1.queries ? $0.queries > $1.queries : $0.server < $1.server }
            .prefix(Self.picturedServers).map { $0.server + $0.transport })
        if st.dns_servers.count > pictured.count {
            s += "<p class=\"note\">Timelines and histograms for the \(pictured.count) servers with the most queries.</p>"
        }
        let index = Dictionary(collector.serverNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for row in st.dns_servers where pictured.contains(row.server + row.transport) {
            guard let idx = index[row.server] else { continue }
            let samples = collector.samples.filter { $0.server == Int32(idx) }
            s += "<div class=\"server\" data-server=\"\(esc(row.server))\"><h3>\(esc(row.server))\(row.transport == "tcp" ? " (TCP)" : "") — \(row.queries) queries, p99 \(esc(humanDuration(row.p99_s))), max <span class=\"\((row.max_s ?? 0) >= 1 ? "slow" : "")\">\(esc(humanDuration(row.max_s)))</span>\(row.timeouts > 0 ? ", <span class=\"slow\">\(row.timeouts) never answered</span>" : "")</h3>"
            s += "<p class=\"legend\"><span class=\"dot\"></span> answered at the first try <span class=\"dot retried\"></span> answered after a retransmission <span class=\"x\">✕</span> never answered; histogram bar heights on a log scale</p>"
            s += latencyTimeline(samples, start: start, end: end) + latencyHistogram(samples) + "</div>"
        }
        return s + "</section>\n"
    }

    func conversationsSection(_ st: CaptureStats) -> String {
        var s = "<section id=\"conversations\"><h2>Top conversations</h2><p class=\"note\">\(st.conversations.count) of \(st.conversations_total), largest first (bytes on the wire, both directions).</p>"
        s += statsTable(["proto", "address A", "address B", "packets", "bytes", "rel start", "duration"],
                        st.conversations.map { c in [c.proto.uppercased(), c.a, c.b, "\(c.packets)", "\(c.bytes)",
                                                     String(format: "%.6f s", c.rel_start_s), String(format: "%.6f s", c.duration_s)] }, cls: "conv")
        return s + "</section>\n"
    }

    func handshakesSection(_ st: CaptureStats) -> String {
        var s = "<section id=\"handshakes\"><h2>TCP handshakes</h2>"
        if st.handshakes.isEmpty { return s + "<p>No TCP SYNs.</p></section>\n" }
        if st.handshakes_total > st.handshakes.count {
            s += "<p class=\"note\">The \(st.handshakes.count) servers with the most attempts of \(st.handshakes_total).</p>"
        }
        s += "<table class=\"stats hs\"><tr><th>server</th><th>attempts</th><th>completed</th><th>refused</th><th>unanswered</th><th></th></tr>"
        for h in st.handshakes {
            let n = Double(max(h.attempts, 1))
            let bar = "<svg width=\"200\" height=\"12\">"
                + "<rect x=\"0\" width=\"\(f(200 * Double(h.completed) / n))\" height=\"12\" class=\"ok\"/>"
                + "<rect x=\"\(f(200 * Double(h.completed) / n))\" width=\"\(f(200 * Double(h.refused) / n))\" height=\"12\" class=\"refused\"/>"
                + "<rect x=\"\(f(200 * Double(h.completed + h.refused) / n))\" width=\"\(f(200 * Double(h.unanswered) / n))\" height=\"12\" class=\"unanswered\"/></svg>"
            s += "<tr><td>\(esc(h.server))</td><td>\(h.attempts)</td><td>\(h.completed)</td><td>\(h.refused)</td><td>\(h.unanswered)</td><td>\(bar)</td></tr>"
        }
        return s + "</table><p class=\"legend\"><span class=\"sw ok\"></span> completed (SYN-ACK) <span class=\"sw refused\"></span> refused (RST) <span class=\"sw unanswered\"></span> unanswered</p></section>\n"
    }

    // MARK: - Helpers

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    func statsTable(_ header: [String], _ rows: [[String]], cls: String) -> String {
        var s = "<table class=\"stats \(cls)\"><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>"
        for r in rows { s += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }
        return s + "</table>"
    }

    func orderedKinds(_ findings: [Finding]) -> [String] {
        let present = Set(findings.map(\.kind))
        let known = Diagnosis.kinds.filter(present.contains)
        return Severity.allCases.flatMap { sev in
            (known + present.subtracting(known).sorted()).filter { k in findings.first { $0.kind == k }?.severity == sev }
        }
    }

    /// The longest pause between two consecutive evidence packets of `f`, seconds.
    /// How long the finding kept someone waiting: the query's whole wait for its answer (or
    /// without one), else the longest pause between two of its packets.
    func longestWait(_ f: Finding) -> Double {
        [longestPause(f), f.measurements["resolution_time_s"] ?? 0, f.measurements["waited_s"] ?? 0,
         f.measurements["unanswered_for_s"] ?? 0].max() ?? 0
    }

    func longestPause(_ f: Finding) -> Double {
        let t = f.evidence.map(\.timestamp).sorted()
        return zip(t.dropFirst(), t).map { $0 - $1 }.max() ?? 0
    }

    func dateTime(_ t: Timestamp) -> String {
        guard t.seconds.magnitude < 1 << 40 else { return "[Error converting time]" }
        var tt = time_t(t.seconds), tmv = tm()
        gmtime_r(&tt, &tmv)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                      Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), Int(t.nanoseconds / 1000))
    }

    /// ` (local HH:MM:SS.ffffff)` when the local zone is not UTC: the clock the findings use.
    func offsetText(_ t: Timestamp) -> String {
        utcOffset(t.seconds) == 0 ? "" : " (local \(clock(t, utcOffset)))"
    }

    /// A fix line with its `backquoted` parts as `<code>`.
    func codeSpans(_ s: String) -> String {
        let parts = s.split(separator: "`", omittingEmptySubsequences: false)
        return parts.enumerated().map { i, p in i % 2 == 1 && i < parts.count - 1 ? "<code>\(esc(String(p)))</code>" : esc(String(p)) }.joined()
    }

    static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:0 18px 40px;color:#1d2330;background:#fff}
    header{border-bottom:3px solid #1d2330;margin-bottom:8px}h1{margin:16px 0 0;font-size:24px}.sub{margin:2px 0 10px;color:#555;font-family:ui-monospace,monospace}
    h2{font-size:19px;border-bottom:1px solid #ccd;padding-bottom:3px;margin-top:28px}h3{font-size:15px;margin:14px 0 6px}
    table{border-collapse:collapse}th,td{padding:3px 10px;text-align:left;vertical-align:top}.kv th{color:#555;font-weight:600}
    .stats th{background:#eef0f5;border-bottom:1px solid #ccd}.stats td{border-bottom:1px solid #eee;font-family:ui-monospace,monospace;font-size:12.5px}
    .stats td:not(:first-child){text-align:right}
    .badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11px;color:#fff;text-transform:uppercase;letter-spacing:.04em}
    .badge.critical{background:#c0262d}.badge.warning{background:#c77a00}.badge.info{background:#2f6fb0}
    .glance{list-style:none;padding:0}.glance li{margin:4px 0}.glance a{color:inherit;text-decoration:none}
    .waitinline{color:#c0262d;font-weight:700}
    .kind{border-left:5px solid #999;padding:2px 0 8px 14px;margin:18px 0}.kind.critical{border-color:#c0262d}.kind.warning{border-color:#c77a00}.kind.info{border-color:#2f6fb0}
    .title{font-weight:400;color:#333}.summary{font-family:ui-monospace,monospace;font-size:13px;margin:10px 0 4px}
    .wait{margin:6px 0 8px;font-size:15px}.waitnum{font-size:34px;font-weight:800;color:#c0262d;margin-right:8px;vertical-align:-4px}
    .diagram{overflow-x:auto;border:1px solid #e3e5ec;border-radius:6px;background:#fbfbfd;margin:4px 0}
    .seq .host{font:600 13px ui-monospace,monospace}.seq .hostbox{fill:#e8ecf6;stroke:#8a94b0}.seq .lifeline{stroke:#aab;stroke-dasharray:4 4}
    .seq .arrow{stroke:#334;stroke-width:1.6;fill:none}.seq .lbl{font-size:11.5px;fill:#1d2330}.seq .frame{font:600 11.5px ui-monospace,monospace;fill:#334}
    .seq .rel{font:11px ui-monospace,monospace;fill:#667}.seq .context .arrow{stroke:#99a}.seq .context .lbl{fill:#778}
    .seq .lost{stroke:#c0262d;stroke-width:2;stroke-dasharray:6 4}.seq .cross,.timeline .cross{stroke:#c0262d;stroke-width:3;fill:none}.seq .lostlbl{fill:#c0262d;font-weight:700}
    .seq .gapband{fill:#fff4d6}.seq .gapband.big{fill:#fde2e2}.seq .gaptext{font:700 13px system-ui,sans-serif;fill:#a15c00}.seq .gaptext.big{font-size:22px;fill:#c0262d}
    .seq .gapnote{font-size:12px;fill:#7a4a4a;font-style:italic}.seq .msg.hl .arrow,.seq .msg.hl .lost{stroke-width:3.5}.seq .msg.hl .lbl{font-weight:700}
    details{margin:4px 0}summary{cursor:pointer;color:#345}.evidence td{font-family:ui-monospace,monospace;font-size:12.5px;border-bottom:1px solid #eee}.evidence tr.hl td{background:#fff4c2}
    .confidence{margin:8px 0 4px}.fix ul{margin:2px 0}code{background:#f0f2f6;padding:0 3px;border-radius:3px}
    .timeline,.histogram{display:block;margin:4px 0 10px}.axis{font-size:11px;fill:#556}.grid{stroke:#e3e5ec}.noanswer{fill:#fde2e2}
    .pt{fill:#2f6fb0;fill-opacity:.8}.pt.retried{fill:#e07b00}.range{stroke:#2f6fb0;stroke-opacity:.5;stroke-width:1.2}.bar{fill:#2f6fb0}.slowbar{fill:#e07b00}.waitline{stroke:#e07b00;stroke-width:3;stroke-opacity:.75}.waitlbl{font:700 13px system-ui,sans-serif;fill:#c0262d}.lostbar{fill:#c0262d}
    .slow{color:#c0262d;font-weight:700}.legend{font-size:12px;color:#555}.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#2f6fb0}.dot.retried{background:#e07b00}.x{color:#c0262d;font-weight:800}
    .sw{display:inline-block;width:12px;height:10px}.ok{fill:#3b9a4a;background:#3b9a4a}.refused{fill:#c77a00;background:#c77a00}.unanswered{fill:#c0262d;background:#c0262d}
    p.ok{background:none;color:#2b7a38;font-weight:600}.note{color:#555}footer{margin-top:30px;color:#667;font-size:12px;border-top:1px solid #ccd;padding-top:8px}
    """

    /// Highlights a diagram's arrow and its evidence row together on hover; marks the page ready.
    static let script = """
    (function(){
      document.querySelectorAll('.finding').forEach(function(f){
        function mark(frame,on){f.querySelectorAll('[data-frame="'+frame+'"]').forEach(function(e){e.classList.toggle('hl',on);});}
        f.querySelectorAll('[data-frame]').forEach(function(e){
          var n=e.getAttribute('data-frame');
          e.addEventListener('mouseenter',function(){mark(n,true);});
          e.addEventListener('mouseleave',function(){mark(n,false);});
        });
      });
      document.documentElement.setAttribute('data-ready','1');
    })();
    """
}
