// Golden reports, as tcpdump's tests/TESTLIST: every line of Tests/Golden/TESTLIST runs the
// built knetcap on a capture with TZ=UTC and compares stdout byte for byte with the expected
// file; README.md's samples must be those files. `scripts/update-golden.sh` regenerates both.

import Foundation
import Testing

let goldenDir = repoRoot.appendingPathComponent("Tests/Golden")

/// One TESTLIST line: `<name> <capture> <expected> <knetcap arguments...>`.
struct GoldenCase: CustomStringConvertible, Sendable {
    let name: String
    /// Relative to the repository root.
    let capture: String
    /// Relative to Tests/Golden.
    let expected: String
    let args: [String]
    var description: String { "\(name): knetcap \(args.joined(separator: " ")) -r \(capture)" }

    static let testlist = goldenDir.appendingPathComponent("TESTLIST")

    /// Every test in TESTLIST (throws when it cannot be read, or a line has fewer than 3 words).
    static func load() throws -> [GoldenCase] {
        let text = try String(contentsOf: testlist, encoding: .utf8)
        var cases: [GoldenCase] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            guard words.count >= 3 else { throw GoldenError("TESTLIST line \(i + 1) needs <name> <capture> <expected>: \(line)") }
            cases.append(GoldenCase(name: words[0], capture: words[1], expected: words[2], args: Array(words.dropFirst(3))))
        }
        return cases
    }

    /// The arguments of the parameterized test; `testlistIsComplete` fails when this is empty.
    static let all: [GoldenCase] = (try? load()) ?? []
}

struct GoldenError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The lines of `text` without its leading and trailing empty lines (the README block rule).
func trimmedLines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    while lines.first == "" { lines.removeFirst() }
    while lines.last == "" { lines.removeLast() }
    return lines
}

/// A short unified-style difference of two texts: the lines between their common first and
/// last lines, `-` expected and `+` actual, with two lines of context (at most `limit` lines).
func lineDiff(expected: String, actual: String, limit: Int = 60) -> String {
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var head = 0
    while head < e.count, head < a.count, e[head] == a[head] { head += 1 }
    var tail = 0
    while tail < e.count - head, tail < a.count - head, e[e.count - 1 - tail] == a[a.count - 1 - tail] { tail += 1 }
    if head == e.count && head == a.count { return "(same lines; the bytes differ, e.g. in line endings or encoding)" }
    let from = max(0, head - 2)
    var out = ["@@ line \(head + 1): expected \(e.count) lines, got \(a.count) @@"]
    out += e[from..<head].map { "  " + $0 }
    out += e[head..<(e.count - tail)].map { "- " + $0 }
    out += a[head..<(a.count - tail)].map { "+ " + $0 }
    out += e[(e.count - tail)..<min(e.count, e.count - tail + 2)].map { "  " + $0 }
    if out.count > limit { out = Array(out.prefix(limit)) + ["... (\(out.count - limit) more lines)"] }
    return out.joined(separator: "\n")
}

@Suite("golden reports (Tests/Golden/TESTLIST)")
struct GoldenTests {
    /// TESTLIST parses, names each test and expected file once, covers every shipped capture
    /// with a `-q` and a `-q --json` report, and every file in Tests/Golden is used.
    @Test func testlistIsComplete() throws {
        let cases = try GoldenCase.load()
        #expect(cases.count >= 20, "\(GoldenCase.testlist.path): \(cases.count) tests")
        #expect(Set(cases.map(\.name)).count == cases.count, "test names repeat")
        #expect(Set(cases.map(\.expected)).count == cases.count, "expected files repeat")

        let shippedDir = repoRoot.appendingPathComponent("Captures")
        let shipped = try FileManager.default.contentsOfDirectory(atPath: shippedDir.path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
        #expect(!shipped.isEmpty, "no captures in \(shippedDir.path)")
        for name in shipped {
            let runs = cases.filter { $0.capture == "Captures/\(name)" }
            #expect(runs.contains { $0.args.contains("-q") && !$0.args.contains("--json") },
                    "Captures/\(name) has no `-q` golden report in TESTLIST")
            #expect(runs.contains { $0.args.contains("-q") && $0.args.contains("--json") },
                    "Captures/\(name) has no `-q --json` golden report in TESTLIST")
        }

        let files = try FileManager.default.contentsOfDirectory(atPath: goldenDir.path).filter { $0 != "TESTLIST" }
        for f in files where !cases.contains(where: { $0.expected == f }) {
            Issue.record("Tests/Golden/\(f) is not named by TESTLIST (remove it or add its line)")
        }
    }

    @Test(arguments: GoldenCase.all)
    func matchesGolden(_ c: GoldenCase) throws {
        let expectedURL = goldenDir.appendingPathComponent(c.expected)
        let captureURL = repoRoot.appendingPathComponent(c.capture)
        try #require(FileManager.default.fileExists(atPath: captureURL.path), "\(c.name): no capture \(captureURL.path)")
        let expected = try #require(FileManager.default.contents(atPath: expectedURL.path),
                                    "\(c.name): no expected output \(expectedURL.path); run scripts/update-golden.sh")
        let r = try run(c.args + ["-r", captureURL.path], environment: ["TZ": "UTC"])
        #expect(r.status == 0, "\(c): exit status \(r.status), stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty, "\(c): stderr: \(r.stderr)")
        if Array(r.stdout.utf8) != Array(expected) {
            Issue.record("""
                \(c): stdout differs from Tests/Golden/\(c.expected) \
                (if the change is intended: scripts/update-golden.sh, then review the diff)
                \(lineDiff(expected: String(decoding: expected, as: UTF8.self), actual: r.stdout))
                """)
        }
    }

    /// Each README.md block after `<!-- golden: FILE -->` is FILE's text without its leading
    /// and trailing blank lines (what scripts/update-golden.sh writes there).
    @Test func readmeSamplesAreGoldenFiles() throws {
        let readme = try String(contentsOf: repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var markers: [String] = []
        for (i, line) in lines.enumerated() {
            guard let m = line.wholeMatch(of: #/<!-- golden: (\S+) -->/#) else { continue }
            let path = String(m.1)
            markers.append(path)
            guard let text = try? String(contentsOf: repoRoot.appendingPathComponent(path), encoding: .utf8) else {
                Issue.record("README.md line \(i + 1): golden file \(path) is missing")
                continue
            }
            guard i + 1 < lines.count, lines[i + 1] == "```",
                  let end = lines[(i + 2)...].firstIndex(of: "```") else {
                Issue.record("README.md line \(i + 1): \(path)'s marker must be followed by a closed ``` block")
                continue
            }
            let block = Array(lines[(i + 2)..<end]), want = trimmedLines(text)
            if block != want {
                Issue.record("""
                    README.md block at line \(i + 2) differs from \(path) (run scripts/update-golden.sh):
                    \(lineDiff(expected: want.joined(separator: "\n"), actual: block.joined(separator: "\n")))
                    """)
            }
        }
        // The quick start, and a sample for every finding kind in README's table that has a capture.
        #expect(markers.count >= 8, "README.md has \(markers.count) golden markers: \(markers)")
        #expect(markers.contains("Tests/Golden/dns-timeout-glibc.q.txt"), "the `make demo` sample")
        let samples = markers.compactMap { try? String(contentsOf: repoRoot.appendingPathComponent($0), encoding: .utf8) }
        let kinds = lines.compactMap { $0.prefixMatch(of: #/\| `([a-z]+\.[a-z-]+)` \|/#).map { String($0.1) } }
        #expect(kinds.count >= 9, "README.md's finding table: \(kinds)")
        for kind in kinds where !Self.kindsWithoutSample.contains(kind) {
            #expect(samples.contains { $0.contains("\n\(kind)  x") }, "README.md has no golden sample for \(kind)")
        }
    }

    /// Finding kinds no capture in the repository shows (README says why).
    static let kindsWithoutSample: Set<String> = ["tcp.paws-syn-drop", "tcp.syn-flood"]
}
