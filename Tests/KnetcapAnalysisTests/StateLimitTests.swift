import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapTestSupport

/// Issue 11: the trackers' state is bounded in bytes; past the budget the oldest entry is
/// dropped from tracking and counted, never reported as a fault; a SYN flood is one
/// `tcp.syn-flood` finding; at most `Diagnosis.maxFindingsPerKind` findings of a kind are kept.
@Suite struct StateLimitTests {
    /// The smallest budget a table takes (1024 slots: 768 entries).
    static let small = 1 << 10

    static func run(_ frames: [MemorySource.Frame], budgets: Diagnosis.Budgets = .init()) -> Diagnosis {
        let source = MemorySource(linkType: LinkType.raw.rawValue, frames: frames)
        let dissector = Dissector(linkType: .raw)
        var d = Diagnosis(budgets: budgets)
        var n = 0
        _ = source.forEach { raw in
            n += 1
            d.observe(dissector.dissect(ByteView(raw.bytes), number: n, timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                                        originalLength: raw.originalLength))
            return true
        }
        d.finish()
        return d
    }

    /// Within the budget: 100 SYN drops (each SYN re-sent twice, never answered) and the flood.
    @Test func withinTheBudgetEveryHandshakeIsJudged() {
        let d = Self.run(FloodFrames.victimsThenFlood())
        #expect(d.limits.isEmpty)
        let kinds = Dictionary(grouping: d.findings, by: \.kind)
        #expect(kinds["tcp.syn-unanswered"]?.count == 100)
        #expect(kinds["tcp.syn-flood"]?.map(\.server) == ["10.0.0.3:443"])
    }

    /// The same packets past a 768-handshake limit: the flood pushes the 100 older handshakes
    /// out of tracking. They are counted as dropped, and none is reported as a SYN drop.
    @Test func evictedHandshakesAreCountedNeverReported() throws {
        let max = TCPHandshakeTracker(budgetBytes: Self.small).maxHandshakes
        #expect(max == 768)
        let d = Self.run(FloodFrames.victimsThenFlood(), budgets: .init(handshakes: Self.small))
        let limit = try #require(d.limits.first { $0.what == "pending SYNs" })
        #expect(limit.dropped == 100 + 1000 - max)
        #expect(limit.maxEntries == max)
        #expect(!d.findings.contains { $0.kind == "tcp.syn-unanswered" || $0.kind == "tcp.syn-backlog-drop" })
        let flood = try #require(d.findings.first { $0.kind == "tcp.syn-flood" })
        #expect(d.findings.count == 1)
        #expect(flood.server == "10.0.0.3:443")
        #expect(flood.measurements["handshakes"] == 1000, "every SYN counts for the flood, tracked or dropped")
        #expect(flood.measurements["answered"] == 0 && flood.measurements["completed"] == 0)
        #expect(flood.confidence.level == .high)
    }

    /// DNS queries past a 768-query limit: the oldest are dropped and counted; only the
    /// tracked ones are judged (and are real timeouts: the capture went on 10 s).
    @Test func evictedQueriesAreCountedNeverTimedOut() throws {
        let max = DNSTransactionTracker(budgetBytes: Self.small).maxPending
        let d = Self.run(FloodFrames.unansweredQueries(3000), budgets: .init(dns: Self.small))
        let limit = try #require(d.limits.first { $0.what == "DNS queries" })
        #expect(limit.dropped == 3000 - max)
        let timeouts = d.findings.filter { $0.kind == "dns.timeout" }
        #expect(timeouts.count + (d.suppressed["dns.timeout"] ?? 0) == max)
        // The survivors are the newest queries: none of the dropped ones is reported.
        let first = 3000 - max
        #expect(timeouts.allSatisfy { f in
            guard let r = f.summary.range(of: #"A q([0-9]+)\."#, options: .regularExpression) else { return false }
            return Int(f.summary[r].dropFirst(3).dropLast()) ?? -1 >= first
        })
    }

    /// 2500 timeouts within the budget: the first 1000 kept as examples, the rest counted.
    @Test func findingsPerKindAreCappedAndCounted() {
        let d = Self.run(FloodFrames.unansweredQueries(2500))
        #expect(d.limits.isEmpty)
        #expect(d.findings.count == Diagnosis.maxFindingsPerKind)
        #expect(d.suppressed == ["dns.timeout": 2500 - Diagnosis.maxFindingsPerKind])
        #expect(d.findings.first?.summary.contains("A q0.flood.test") == true, "the first ones are kept")
    }

    /// A flood answered with SYN cookies: every SYN gets a SYN-ACK, no source acknowledges it.
    @Test func floodAnsweredWithCookiesIsAFlood() throws {
        let f = Self.run(FloodFrames.answeredHandshakes(300, completed: false)).findings
        #expect(f.map(\.kind) == ["tcp.syn-flood"])
        let flood = try #require(f.first)
        #expect(flood.measurements["answered"] == 300 && flood.measurements["completed"] == 0)
        #expect(flood.confidence.reason.contains("answered 300 with SYN-ACK"))
    }

    /// The same SYNs, each handshake completed by the client's ACK: a busy server, no finding.
    @Test func completedHandshakesAreNoFlood() {
        #expect(Self.run(FloodFrames.answeredHandshakes(300, completed: true)).findings.isEmpty)
    }

    /// A capture from scripts/gen_flood.py: one `tcp.syn-flood` with high confidence.
    @Test func generatedSYNFloodIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-flood-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("syn.pcap")
        let r = try #require(Fixtures.run("python3", [Fixtures.repo.appendingPathComponent("scripts/gen_flood.py").path, out.path,
                                                      "--kind", "syn", "--count", "3000"]))
        #expect(r.0 == 0, "gen_flood.py failed: \(r.2)")
        let f = try diagnose(out)
        #expect(f.map(\.kind) == ["tcp.syn-flood"])
        let flood = try #require(f.first)
        #expect(flood.server == "10.0.0.80:80" && flood.measurements["handshakes"] == 3000)
        #expect(flood.confidence.level == .high && flood.confidence.reason.contains("0 re-sent their SYN"))
        #expect(flood.measurements["source_addresses_est"].map { abs($0 - 188) < 40 } == true, "3000 sources, 16 ports each: 188 addresses")
    }

    /// The real-kernel captures: no flood in any (the SYN-drop ones are a few retransmitting clients).
    @Test func noFloodInTheRecordedCaptures() throws {
        let captures = Fixtures.captures(in: Fixtures.shipped)
        #expect(captures.count >= 10)
        for url in captures {
            let f = try diagnose(url)
            #expect(!f.contains { $0.kind == "tcp.syn-flood" }, "\(url.lastPathComponent)")
        }
    }

    /// A few clients re-sending on backoff to a listening port stay tcp.syn-backlog-drop.
    @Test func backlogDropIsNotAFlood() throws {
        let f = try diagnose(Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap"))
        #expect(!f.isEmpty && f.allSatisfy { $0.kind == "tcp.syn-backlog-drop" })
    }
}

/// Issue 9's trial: a query never answered and re-sent 60 times (every 5 s, as a client with
/// many attempts does) past `maxTransmissionsKept` is one `dns.timeout`, judged from its last
/// transmission, not 30 s after its 8th while it was still being re-sent (which made two
/// findings, the first with a wrong "capture went on" time).
@Suite struct ManyRetransmissionsTests {
    @Test func sixtyTransmissionsAreOneTimeoutFromTheLastOne() throws {
        let d = StateLimitTests.run(FloodFrames.queryRetriedSixtyTimes())
        let timeouts = d.findings.filter { $0.kind == "dns.timeout" }
        #expect(timeouts.count == 1, "\(timeouts.map(\.summary))")
        let f = try #require(timeouts.first)
        #expect(f.summary.contains("60 transmissions in all"), "\(f.summary)")
        // The last transmission left at +295 s; the finding is judged at least 30 s after it.
        let last = try #require(f.evidence.map(\.timestamp).max())
        #expect(last == Timestamp(seconds: 1_700_000_295, nanoseconds: 0))
        #expect(f.evidence.count == DNSTransactionTracker.maxTransmissionsKept, "the first ones and the last are kept")
        let waited = try #require(f.measurements["waited_s"])
        #expect(waited >= 325 && waited <= 341, "\(waited)")
        #expect(f.summary.contains("never answered (capture went on 3"), "\(f.summary)")
    }
}

/// Issue 9's trial: findings name a query as it was sent (tshark shows it so), and a DNS 0x20
/// resolver's retransmission in other letter case is still the same query (RFC 4343).
@Suite struct QueryNameCaseTests {
    @Test func findingKeepsTheCaseAndRetransmissionIgnoresIt() throws {
        let list: [(Int64, Int, [UInt8])] = [
            (0, 0, FloodFrames.query((10, 0, 0, 9), 40000, (10, 0, 0, 10), id: 5, "Api.Knetcap.TEST")),
            (5, 0, FloodFrames.query((10, 0, 0, 9), 40000, (10, 0, 0, 10), id: 5, "aPI.kNETCAP.test")),
        ] + (1...40).map { (Int64($0), 500_000, FloodFrames.filler()) }
        let d = StateLimitTests.run(FloodFrames.frames(list.sorted { ($0.0, $0.1) < ($1.0, $1.1) }))
        let f = try #require(d.findings.first { $0.kind == "dns.timeout" })
        #expect(d.findings.count == 1)
        #expect(f.summary.contains("A Api.Knetcap.TEST (id 5)"), "\(f.summary)")
        #expect(f.measurements["transmissions"] == 2 && f.evidence.count == 2)
    }
}
