import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapReport
import KnetcapSession
import KnetcapTestSupport

/// Issue 11: what a state limit dropped is said in the text diagnosis and in the JSON
/// summary, and findings past the per-kind cap are counted there.
@Suite struct StateLimitReportTests {
    static func run(_ frames: [MemorySource.Frame], budgets: Diagnosis.Budgets) -> (text: String, json: String, report: Report) {
        let text = TextOutput(collecting: ()), json = TextOutput(collecting: ())
        let outcome = CaptureSession(source: MemorySource(linkType: LinkType.raw.rawValue, frames: frames), diagnosis: Diagnosis(budgets: budgets),
                                     reporters: [TextReporter(output: text, printer: nil, utcOffset: { _ in 0 }),
                                                 JSONReporter(output: json, packets: false)]).run()
        return (text.collectedText, json.collectedText, outcome.report)
    }

    static func summary(_ json: String) throws -> [String: Any] {
        let line = try #require(json.split(separator: "\n").last { $0.hasPrefix("{\"summary\"") })
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try #require(obj["summary"] as? [String: Any])
    }

    @Test func droppedSYNsAreReported() throws {
        let r = Self.run(FloodFrames.victimsThenFlood(), budgets: .init(handshakes: 1 << 10))
        let dropped = 100 + 1000 - 768
        #expect(r.text.contains("state limit reached: \(dropped) pending SYNs dropped from tracking"), "\(r.text)")
        #expect(r.text.contains("tcp.syn-flood  x1"))
        #expect(!r.text.contains("tcp.syn-unanswered"))
        let limits = try #require(try Self.summary(r.json)["state_limits"] as? [[String: Any]])
        #expect(limits.count == 1)
        #expect(limits.first?["table"] as? String == "pending SYNs")
        #expect(limits.first?["dropped"] as? Int == dropped)
        #expect(limits.first?["max_entries"] as? Int == 768)
        #expect((limits.first?["note"] as? String)?.contains("none of them was reported as a fault") == true)
    }

    @Test func cappedFindingsAreCounted() throws {
        let r = Self.run(FloodFrames.unansweredQueries(2500), budgets: .init())
        #expect(r.report.findings.count == 1000 && r.report.findingCount == 2500)
        #expect(r.text.contains("== knetcap diagnosis: 2500 findings in 2510 packets"), "\(r.text.prefix(300))")
        #expect(r.text.contains("dns.timeout  x2500 (the first 1000 kept)"))
        #expect(r.text.contains("--json lists the first 1000"))
        let s = try Self.summary(r.json)
        #expect((s["findings"] as? [String: Int])?["dns.timeout"] == 2500)
        let kind = try #require((s["kinds"] as? [String: Any])?["dns.timeout"] as? [String: Any])
        #expect(kind["findings"] as? Int == 2500 && kind["kept"] as? Int == 1000)
        #expect(s["state_limits"] == nil, "nothing dropped from tracking")
        #expect(r.json.split(separator: "\n").filter { $0.hasPrefix("{\"finding\"") }.count == 1000)
    }

    @Test func noLimitNoLine() {
        let r = Self.run(FloodFrames.unansweredQueries(3), budgets: .init())
        #expect(!r.text.contains("state limit") && !r.json.contains("state_limits"))
    }
}
