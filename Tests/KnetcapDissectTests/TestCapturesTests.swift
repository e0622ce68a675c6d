import Foundation
import Testing
import KnetcapTestSupport

/// The captures written by others (`Tests/Captures`, see its README.md) are all there and
/// byte-identical to upstream: every file under `public/`, `tcpdump-tests/`, `pcapng-testgen/` and `crafted/` is listed in
/// `Tests/Captures/SHA256SUMS` with its hash, and nothing else is there. The tests that iterate
/// these directories would otherwise shrink silently when a file goes missing.
@Suite struct TestCapturesTests {
    @Test("test captures are complete and unchanged") func manifestMatches() throws {
        let sums = Fixtures.testCaptures.appendingPathComponent("SHA256SUMS")
        let text = try String(contentsOf: sums, encoding: .utf8)
        var listed: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2 else { Issue.record("SHA256SUMS: bad line \(line)"); continue }
            listed[String(parts[1].drop { $0 == " " || $0 == "*" })] = String(parts[0])
        }
        #expect(listed.count >= 300, "\(sums.path) lists \(listed.count) files")

        var present: Set<String> = []
        for dir in ["public", "tcpdump-tests", "pcapng-testgen", "crafted"] {
            let url = Fixtures.testCaptures.appendingPathComponent(dir)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            #expect(!names.isEmpty, "\(url.path) is missing or empty")
            present.formUnion(names.map { "\(dir)/\($0)" })
        }
        for f in listed.keys.sorted() where !present.contains(f) { Issue.record("missing: Tests/Captures/\(f)") }
        for f in present.sorted() where listed[f] == nil { Issue.record("not in SHA256SUMS: Tests/Captures/\(f)") }

        let check = try #require(Fixtures.run("sha256sum", ["--check", "--quiet", "--strict", sums.path],
                                              workingDirectory: Fixtures.testCaptures),
                                 "sha256sum (coreutils) is not installed")
        #expect(check.0 == 0, "Tests/Captures differs from SHA256SUMS:\n\(check.1)\(check.2)")
    }
}
