import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapReport
import KnetcapSession
import KnetcapTestSupport

/// `--html`: the report of every shipped and public capture, written by a `CaptureSession` with
/// the real `StatsCollector` and `HTMLReporter`, rendered by real headless Chromium
/// (`--dump-dom`, console on stderr): no script error, the script ran, every finding kind of
/// the capture is on the page, and each diagram names its finding's evidence frames.
@Suite struct HTMLReportTests {
    /// Captures libpcap opens and knetcap dissects (the public directory also holds captures
    /// that exist to be refused: bad versions, pcapng files libpcap 1.10 rejects).
    static let captures: [URL] = (Fixtures.captures(in: Fixtures.shipped) + Fixtures.captures(in: Fixtures.publicCaptures)).filter { u in
        guard let s = try? PcapSource.openFile(u.path) else { return false }
        return LinkType(rawValue: s.linkType).isSupported
    }

    struct Rendered {
        var report: Report
        var html: String
        var dom: String
        var console: [String]
        var path: URL
    }

    /// Writes `capture`'s report to a temporary file and renders it in Chromium.
    static func render(_ capture: URL, screenshot: URL? = nil) throws -> Rendered {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir.appendingPathComponent("profile")) }
        let out = dir.appendingPathComponent(capture.lastPathComponent + ".html")
        let collector = StatsCollector()
        let html = HTMLReporter(path: out.path, capture: .init(name: capture.lastPathComponent, linkType: "test"),
                                collector: collector, utcOffset: { _ in 0 })
        let outcome = CaptureSession(source: try PcapSource.openFile(capture.path), reporters: [collector, html]).run()
        #expect(html.error == nil)
        var args = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                    "--user-data-dir=" + dir.appendingPathComponent("profile").path]
        if let s = screenshot { args += ["--hide-scrollbars", "--window-size=1280,1500", "--screenshot=" + s.path] } else { args.append("--dump-dom") }
        guard let (status, dom, err) = Fixtures.run("chromium", args + [out.absoluteString]) else {
            Issue.record("chromium is not installed (apt-get install chromium)")
            throw CancellationError()
        }
        #expect(status == 0, "chromium exited \(status): \(err.suffix(500))")
        let console = err.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Rendered(report: outcome.report, html: html.html, dom: dom, console: console, path: out)
    }

    @Test func capturesArePresent() {
        Fixtures.expectCaptures(in: [Fixtures.shipped, Fixtures.publicCaptures])
        #expect(Self.captures.count >= 30, "\(Self.captures.count) renderable captures")
    }

    @Test(arguments: captures)
    func reportRendersInChromium(_ capture: URL) throws {
        let r = try Self.render(capture)
        #expect(r.console.isEmpty, "console messages: \(r.console)")
        #expect(r.dom.contains("data-ready=\"1\""), "the page's script did not run to its end")
        #expect(r.dom.contains("<h2>Capture</h2>") && r.dom.contains("<h2>Findings</h2>"))
        #expect(r.dom.contains("<h2>DNS response time per server</h2>") && r.dom.contains("<h2>TCP handshakes</h2>"))
        // Self-contained: nothing is fetched.
        for ref in ["src=\"http", "href=\"http", "@import", "url(http"] { #expect(!r.html.contains(ref), "\(ref) in the page") }
        // Every finding kind, and per kind the first findings' diagrams naming their evidence frames.
        let groups = Dictionary(grouping: r.report.findings, by: \.kind)
        for (kind, g) in groups {
            #expect(r.dom.contains("id=\"kind-\(kind)\""), "\(kind) missing from the page")
            let blocks = r.dom.components(separatedBy: "<div class=\"finding\" data-kind=\"\(kind)\">").dropFirst()
            #expect(blocks.count == min(g.count, HTMLReporter.diagramsPerKind))
            for (f, block) in zip(g, blocks) {
                let svg = block.components(separatedBy: "</svg>")[0]
                #expect(svg.contains("<svg class=\"seq\""))
                for e in f.evidence.prefix(40) {
                    #expect(svg.contains("data-frame=\"\(e.frame)\""), "\(kind): frame \(e.frame) not in its diagram")
                    #expect(svg.contains(">frame \(e.frame)<"), "\(kind): frame \(e.frame) not named in its diagram")
                }
                // Any other packet drawn is a reply to one of its requests, inside its span.
                let evidence = Set(f.evidence.map(\.frame))
                let drawn = svg.matches(of: #/data-frame="(\d+)"/#).compactMap { Int($0.output.1) }
                for n in drawn where !evidence.contains(n) {
                    #expect(n > (evidence.min() ?? 0) && n < (evidence.max() ?? 0), "\(kind): frame \(n) drawn outside the evidence span")
                }
            }
        }
        if r.report.findings.isEmpty { #expect(r.dom.contains("No faults found in \(r.report.packets) packet\(r.report.packets == 1 ? "" : "s").")) }
    }

    /// The shipped race: the 5-second wait is the largest text of the finding, a red band in
    /// its diagram, and a bar on the DNS timeline; the lost AAAA reply is drawn as missing.
    @Test func conntrackRaceShowsTheFiveSecondWait() throws {
        let r = try Self.render(Fixtures.shipped.appendingPathComponent("dns-timeout-glibc.pcap"))
        #expect(r.report.findings.map(\.kind) == ["dns.conntrack-race"])
        #expect(r.dom.contains("<span class=\"waitnum\">5.003 s</span>"))
        #expect(r.dom.contains("<g class=\"gap\" data-gap=\"5.002690\">"))  // frame 3 -> frame 4
        #expect(r.dom.contains("class=\"gaptext big\">5.003 s</text>"))
        // Frame 3 (AAAA, id 19808) got no reply before it was sent again in frame 6.
        #expect(r.dom.contains("<g class=\"msg missing\" data-frame=\"3\">"))
        #expect(r.dom.contains("no response to frame 3"))
        #expect(!r.dom.contains("<g class=\"msg missing\" data-frame=\"1\">"))  // A was answered (frame 2)
        #expect(!r.dom.contains("<g class=\"msg missing\" data-frame=\"4\">"))  // answered by frame 5, outside the evidence
        #expect(r.dom.contains("<g class=\"msg context\" data-frame=\"5\">"))
        #expect(r.dom.contains("class=\"waitlbl\">5.003 s</text>"))  // the timeline's wait bar
    }

    /// A SYN never answered: every transmission is followed by its missing reply.
    @Test func backlogDropDrawsEveryUnansweredSYN() throws {
        let r = try Self.render(Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap"))
        let f = try #require(r.report.findings.first { $0.kind == "tcp.syn-backlog-drop" })
        let block = try #require(r.dom.components(separatedBy: "<div class=\"finding\" data-kind=\"tcp.syn-backlog-drop\">").dropFirst().first)
        let syns = f.evidence.filter { $0.note.hasPrefix("SYN") }
        #expect(syns.count == 4)
        for e in syns { #expect(block.contains("<g class=\"msg missing\" data-frame=\"\(e.frame)\">"), "frame \(e.frame)") }
    }

    /// Evidence older than the frames kept (a ring of 4 here) is found by reading the file again:
    /// the hosts of every diagram row are known, none drawn as "?".
    @Test func oldEvidenceFromTheFileAgain() throws {
        let capture = Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap")
        func page(recent: Int, reread: Bool) throws -> String {
            let c = StatsCollector()
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-\(UUID().uuidString).html")
            defer { try? FileManager.default.removeItem(at: path) }
            let again: (((FrameRecord) -> Bool) -> Void)? = reread ? { body in
                let src = try? PcapSource.openFile(capture.path)
                _ = src.map { CaptureSession.forEachPacket(of: $0) { p, _ in FrameRecord(p).map(body) ?? true } }
            } : nil
            let h = HTMLReporter(path: path.path, capture: .init(name: "t", linkType: "t"), collector: c, utcOffset: { _ in 0 },
                                 reread: again, recentFrames: recent)
            _ = CaptureSession(source: try PcapSource.openFile(capture.path), reporters: [c, h]).run()
            return h.html
        }
        let full = try page(recent: 1 << 16, reread: false)
        #expect(!full.contains(">?</text>"))
        #expect(try page(recent: 4, reread: true) == full)
        #expect(try page(recent: 4, reread: false).contains(">?</text>"))  // without the file, the hosts are unknown
    }

    /// A capture's frames as a live source: findings stream to the reporters as they are made.
    final class LiveFrames: PacketSource {
        let memory: MemorySource
        init(_ m: MemorySource) { memory = m }
        var linkType: Int32 { memory.linkType }
        var isLive: Bool { true }
        func forEach(_ body: (RawPacket) -> Bool) -> EndReason { memory.forEach(body) }
        func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? { nil }
    }

    /// Live, a streamed finding's evidence is taken from the recent frames when it is made: with
    /// only 4 frames kept, the page is the one a file run with every frame gives.
    @Test func liveFindingsKeepTheirEvidenceWhenStreamed() throws {
        let capture = Fixtures.shipped.appendingPathComponent("tcp-rst-unlistened.pcap")
        let (link, frames) = try CaptureSessionTests.frames(capture)
        func page(_ source: any PacketSource, recent: Int) -> (String, Int) {
            let c = StatsCollector()
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-\(UUID().uuidString).html")
            defer { try? FileManager.default.removeItem(at: path) }
            let h = HTMLReporter(path: path.path, capture: .init(name: "t", linkType: "t"), collector: c, utcOffset: { _ in 0 },
                                 recentFrames: recent)
            let outcome = CaptureSession(source: source, reporters: [c, h]).run()
            return (h.html, outcome.report.streamed)
        }
        let (file, _) = page(MemorySource(linkType: link, frames: frames), recent: 1 << 16)
        let (live, streamed) = page(LiveFrames(MemorySource(linkType: link, frames: frames)), recent: 4)
        #expect(streamed == 4)
        #expect(!file.contains(">?</text>"))
        #expect(live == file)
    }

    /// A query retried 60 times and never answered: the headline and the finding give its
    /// whole wait (from the first try), not the 5 s between two tries, and the diagram says how
    /// many transmissions it does not draw.
    @Test func longRetriedQueryShowsItsWholeWait() throws {
        let c = StatsCollector()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: path) }
        let h = HTMLReporter(path: path.path, capture: .init(name: "t", linkType: "t"), collector: c, utcOffset: { _ in 0 })
        let outcome = CaptureSession(source: MemorySource(linkType: LinkType.raw.rawValue, frames: FloodFrames.queryRetriedSixtyTimes()),
                                     reporters: [c, h]).run()
        let f = try #require(outcome.report.findings.first { $0.kind == "dns.timeout" })
        let waited = try #require(f.measurements["waited_s"])
        #expect(waited > 300 && f.measurements["transmissions"] == 60)
        #expect(h.html.contains("<span class=\"waitinline\">waited \(humanDuration(waited))</span>"), "the headline gives the whole wait")
        #expect(h.html.contains("<span class=\"waitnum\">\(humanDuration(waited))</span> without an answer"))
        #expect(h.html.contains("52 more transmissions of this query are not drawn: 60 in all, the first 7 and the last are kept."))
    }

    /// Frame numbers of six digits (100,000 packets before the finding): in Chromium, no
    /// frame number runs into its time, and no time into the first lifeline (measured with
    /// getBBox on the rendered SVG).
    @Test func longFrameNumbersDoNotOverlapTheirTimes() throws {
        var frames = (0..<100_000).map { i in
            MemorySource.Frame(seconds: 1_699_999_990, nanoseconds: Int32(i * 1000), bytes: FloodFrames.filler())
        }
        frames += FloodFrames.queryRetriedSixtyTimes()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = StatsCollector()
        let h = HTMLReporter(path: dir.appendingPathComponent("r.html").path, capture: .init(name: "t", linkType: "t"), collector: c, utcOffset: { _ in 0 })
        _ = CaptureSession(source: MemorySource(linkType: LinkType.raw.rawValue, frames: frames), reporters: [c, h]).run()
        #expect(h.html.contains("class=\"frame\">frame 100001</text>"))
        let probe = """
            <script>window.addEventListener('load', () => { const bad = []; let rows = 0;
            document.querySelectorAll('svg.seq').forEach(svg => { const life = svg.querySelector('line.lifeline');
              const lx = life ? life.x1.baseVal.value - 95 : 1e9;
              svg.querySelectorAll('g.msg').forEach(g => { const f = g.querySelector('text.frame'), r = g.querySelector('text.rel');
                if (!f || !r) return; rows++; const a = f.getBBox(), b = r.getBBox();
                if (a.x + a.width > b.x || b.x + b.width > lx) bad.push(g.dataset.frame); }); });
            document.body.setAttribute('data-rows', rows); document.body.setAttribute('data-overlaps', bad.join(',')); });</script>
            """
        let page = dir.appendingPathComponent("probe.html")
        try Data(h.html.replacingOccurrences(of: "</body>", with: probe + "</body>").utf8).write(to: page)
        guard let (status, dom, err) = Fixtures.run("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                                                                 "--user-data-dir=" + dir.appendingPathComponent("profile").path, page.absoluteString]) else {
            Issue.record("chromium is not installed (apt-get install chromium)")
            return
        }
        #expect(status == 0, "\(err.suffix(300))")
        #expect(dom.contains("data-rows=\"8\""), "the probe did not measure the 8 rows: \(dom.prefix(300))")
        #expect(dom.contains("data-overlaps=\"\""), "rows whose frame number or time overlap: \(dom.components(separatedBy: "data-overlaps=").dropFirst().first?.prefix(80) ?? "")")
    }

    /// The page of `capture` (no browser: the HTML as written).
    static func page(_ capture: URL) throws -> String {
        let c = StatsCollector()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: path) }
        let h = HTMLReporter(path: path.path, capture: .init(name: capture.lastPathComponent, linkType: "t"), collector: c, utcOffset: { _ in 0 })
        _ = CaptureSession(source: try PcapSource.openFile(capture.path), reporters: [c, h]).run()
        return h.html
    }

    /// The DNS table has each server's "all" row (every query type together), as --stats has,
    /// and the conversations' "rel start" counts from the capture's first packet.
    @Test func dnsTableHasTheServersAllRow() throws {
        let race = try Self.page(Fixtures.shipped.appendingPathComponent("dns-timeout-glibc.pcap"))
        // server qtype queries answered NXDOMAIN SERVFAIL timeouts retried p50 p90 p99 max
        let cells = ["10.53.0.1:53", "all", "3", "3", "0", "0", "0", "1", "0.255 ms", "5.003 s", "5.003 s", "5.003 s"]
        #expect(race.contains("<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>"))
        // The port-1053 resolver is in the table too (DNS found by content), with its own total.
        let p1053 = try Self.page(Fixtures.shipped.appendingPathComponent("dns-port-1053.pcap"))
        #expect(p1053.contains("<tr><td>10.77.0.3:1053</td><td>all</td><td>2</td><td>2</td>"))
        // tshark -z conv,tcp: 10.77.0.2:48212 <-> 10.77.0.3:9000 starts 0.941242425 s in.
        let backlog = try Self.page(Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap"))
        #expect(backlog.contains("<td>10.77.0.2:48212</td><td>10.77.0.3:9000</td><td>4</td><td>296</td><td>0.941242 s</td>"))
    }

    /// The screenshot README shows is a real rendering of the shipped race's report.
    @Test func screenshotIsAPicture() throws {
        let png = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-report-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: png) }
        _ = try Self.render(Fixtures.shipped.appendingPathComponent("dns-timeout-glibc.pcap"), screenshot: png)
        let data = try Data(contentsOf: png)
        #expect(data.prefix(8) == Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
        #expect(data.count > 50_000, "a 1280x1500 screenshot of the report is \(data.count) bytes")
    }
}
