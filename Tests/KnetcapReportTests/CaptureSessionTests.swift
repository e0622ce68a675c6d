import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapFilter
import KnetcapCapture
import KnetcapReport
import KnetcapSession
import KnetcapTestSupport

/// The pipeline as a library: `CaptureSession` on a file source and on the same packets held
/// in memory, with the real reporters writing into memory. The expected text is the committed
/// golden report of the capture (`Tests/Golden/`), the same bytes the command line prints.
@Suite struct CaptureSessionTests {
    static let capture = Fixtures.shipped.appendingPathComponent("dns-timeout-glibc.pcap")

    /// Records what the session hands a reporter, in order.
    final class Recorder: Reporter {
        var events: [String] = []
        var report: Report?
        func packet(_ p: Packet) { events.append("packet \(p.number)") }
        func skipped(_ p: Packet) { events.append("skipped \(p.number)") }
        func finding(_ f: Finding) { events.append("finding \(f.kind)") }
        func finish(_ r: Report) { report = r; events.append("finish") }
    }

    /// A capture's frames (this suite's by default), read once through libpcap.
    static func frames(_ url: URL = capture) throws -> (Int32, [MemorySource.Frame]) {
        let src = try PcapSource.openFile(url.path)
        var frames: [MemorySource.Frame] = []
        _ = src.forEach { raw in
            frames.append(MemorySource.Frame(seconds: raw.seconds, nanoseconds: raw.nanoseconds, bytes: Array(raw.bytes),
                                             originalLength: raw.originalLength))
            return true
        }
        return (src.linkType, frames)
    }

    @Test func fileSourceGivesTheGoldenDiagnosis() throws {
        let out = TextOutput(collecting: ())
        let session = CaptureSession(source: try PcapSource.openFile(Self.capture.path),
                                     reporters: [TextReporter(output: out, printer: nil, utcOffset: { _ in 0 })])
        let outcome = session.run()
        #expect(outcome.end == .endOfFile)
        #expect(outcome.packets == 7)
        let golden = try String(contentsOf: Fixtures.repo.appendingPathComponent("Tests/Golden/dns-timeout-glibc.q.txt"), encoding: .utf8)
        #expect(out.collectedText == golden)
        #expect(outcome.report.findings.map(\.kind) == ["dns.conntrack-race"])
    }

    @Test func memorySourceGivesWhatTheFileGives() throws {
        let (link, frames) = try Self.frames()
        #expect(frames.count == 7)
        let fromFile = TextOutput(collecting: ()), fromMemory = TextOutput(collecting: ())
        let printer = PacketLinePrinter(timestampStyle: .epoch, utcOffset: { _ in 0 })
        _ = CaptureSession(source: try PcapSource.openFile(Self.capture.path),
                           reporters: [TextReporter(output: fromFile, printer: printer, utcOffset: { _ in 0 })]).run()
        let outcome = CaptureSession(source: MemorySource(linkType: link, frames: frames),
                                     reporters: [TextReporter(output: fromMemory, printer: printer, utcOffset: { _ in 0 })]).run()
        #expect(outcome.packets == 7)
        #expect(fromMemory.collectedText == fromFile.collectedText)
        #expect(fromMemory.collectedText.hasPrefix("1700000000") == false)  // real capture times, not made up
        #expect(fromMemory.collectedText.contains("AAAA? api.knetcap.test."))
    }

    /// A display filter hides packets from the reporters but never from the diagnosis; `-c`
    /// counts packets read.
    @Test func displayFilterHidesPacketsNotEvidence() throws {
        let rec = Recorder()
        let filter = try DisplayFilter("dns.qry.type == 1")  // the A queries and answers only
        let outcome = CaptureSession(source: try PcapSource.openFile(Self.capture.path), reporters: [rec],
                                     displayFilter: filter).run()
        let shown = rec.events.filter { $0.hasPrefix("packet") }, hidden = rec.events.filter { $0.hasPrefix("skipped") }
        #expect(shown.count + hidden.count == 7)
        #expect(!shown.isEmpty && !hidden.isEmpty)
        #expect(rec.events.last == "finish")
        #expect(outcome.report.findings.map(\.kind) == ["dns.conntrack-race"])  // its AAAA evidence was hidden
        let limited = Recorder()
        let cut = CaptureSession(source: try PcapSource.openFile(Self.capture.path), reporters: [limited], count: 3).run()
        #expect(cut.end == .stoppedByCaller)
        #expect(cut.packets == 3)
        #expect(limited.events == ["packet 1", "packet 2", "packet 3", "finish"])
    }

    /// JSON lines: one object per packet with Wireshark's names, then the finding, then the summary.
    @Test func jsonReporterWritesPacketsFindingsSummary() throws {
        let out = TextOutput(collecting: ())
        _ = CaptureSession(source: try PcapSource.openFile(Self.capture.path),
                           reporters: [JSONReporter(output: out, packets: true)], tracking: .all).run()
        let lines = out.collectedText.split(separator: "\n").map(String.init)
        #expect(lines.count == 7 + 1 + 1)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["frame.number"] as? Int == 1)
        #expect(first["dns.qry.name"] as? [String] == ["api.knetcap.test"])
        #expect(first["udp.dstport"] as? Int == 53)
        #expect(lines[7].hasPrefix("{\"finding\":") && lines[7].contains("\"kind\":\"dns.conntrack-race\""))
        #expect(lines[8].hasPrefix("{\"summary\":") && lines[8].contains("\"packets\":7"))
    }
}
