// The evaluation corpus (Tests/Corpus/expected.json): every capture the project ships or tests
// against, with the finding kinds it must, must not and may give. One test runs the built
// knetcap (`-q --json ARGS -r CAPTURE`) over all of them and prints, per kind, true positives,
// misses and false positives; a miss, a false positive, a capture file not in the manifest or a
// manifest entry whose file is missing fails it.

import Foundation
import Testing

/// One manifest entry: a capture and what knetcap must say about it (with `args`).
struct CorpusEntry: Decodable, CustomStringConvertible, Sendable {
    /// Relative to the repository root.
    let capture: String
    var args: [String] = []
    /// Kinds the capture shows; a kind in neither `must` nor `may` is must-not.
    var must: [String] = []
    /// Kinds that may be named or not (the capture does not decide them).
    var may: [String] = []
    /// Listed must-not kinds (the default for every kind not in `must`/`may`; only documentation).
    var must_not: [String] = []
    /// The expected exit status (0: the whole file was read).
    var exit: Int32 = 0
    /// Kind → why knetcap's result on this capture is known wrong (printed, not failed).
    var known: [String: String] = [:]
    var note: String?

    var description: String { "knetcap \((args + ["-r", capture]).joined(separator: " "))" }

    enum CodingKeys: String, CodingKey { case capture, args, must, may, must_not, exit, known, note }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        capture = try c.decode(String.self, forKey: .capture)
        args = try c.decodeIfPresent([String].self, forKey: .args) ?? []
        must = try c.decodeIfPresent([String].self, forKey: .must) ?? []
        may = try c.decodeIfPresent([String].self, forKey: .may) ?? []
        must_not = try c.decodeIfPresent([String].self, forKey: .must_not) ?? []
        exit = try c.decodeIfPresent(Int32.self, forKey: .exit) ?? 0
        known = try c.decodeIfPresent([String: String].self, forKey: .known) ?? [:]
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }
}

struct CorpusManifest: Decodable {
    /// Folders (relative to the repository root) whose every capture file must be listed.
    let directories: [String]
    let captures: [CorpusEntry]

    static let url = repoRoot.appendingPathComponent("Tests/Corpus/expected.json")
    static func load() throws -> CorpusManifest {
        try JSONDecoder().decode(CorpusManifest.self, from: Data(contentsOf: url))
    }

    /// A capture file: a name libwiretap reads as one (`.pcap`, `.pcapng`, `.cap`, `.erf`,
    /// optionally compressed), or any file under a `fuzz/` folder (inputs read as captures).
    static func isCapture(_ relative: String) -> Bool {
        if relative.split(separator: "/").contains("fuzz") { return !relative.hasSuffix(".md") }
        var name = relative
        for z in [".gz", ".zst", ".lz4"] where name.hasSuffix(z) { name.removeLast(z.count) }
        return [".pcap", ".pcapng", ".cap", ".erf"].contains { name.hasSuffix($0) }
    }

    /// Every capture file under `directories`, relative to the repository root, sorted.
    func files() -> [String] {
        var out: [String] = []
        for dir in directories {
            let base = repoRoot.appendingPathComponent(dir)
            guard let walk = FileManager.default.enumerator(atPath: base.path) else { continue }
            while let rel = walk.nextObject() as? String {
                var isDir: ObjCBool = false
                let full = base.appendingPathComponent(rel).path
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
                   Self.isCapture(rel) { out.append(dir + "/" + rel) }
            }
        }
        return out.sorted()
    }
}

/// The finding kinds of the built knetcap, in report order: the list its `--fail-on` error gives.
func knetcapKinds() throws -> [String] {
    let r = try run(["--fail-on", "?", "-r", "/dev/null"])
    guard let open = r.stderr.range(of: "(kinds: "), let close = r.stderr.range(of: ", any)", range: open.upperBound..<r.stderr.endIndex)
    else { throw GoldenError("no kind list in: \(r.stderr)") }
    return r.stderr[open.upperBound..<close.lowerBound].components(separatedBy: ", ")
}

@Suite("evaluation corpus (Tests/Corpus/expected.json)")
struct CorpusTests {
    @Test func everyCaptureGivesItsExpectedFindings() throws {
        let manifest = try CorpusManifest.load()
        let kinds = try knetcapKinds()
        #expect(kinds.count >= 12, "kinds: \(kinds)")
        let kindSet = Set(kinds)

        // Coverage: every capture file listed, every listed file present, kinds known.
        let files = manifest.files()
        #expect(files.count >= 150, "\(files.count) capture files under \(manifest.directories)")
        let listed = Set(manifest.captures.map(\.capture))
        for f in files where !listed.contains(f) {
            Issue.record("\(f): a capture file not in \(CorpusManifest.url.lastPathComponent) (add it with its must/may kinds)")
        }
        for e in manifest.captures {
            if !FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent(e.capture).path) {
                Issue.record("\(e.capture): in the manifest, but the file is missing")
            }
            for k in e.must + e.may + e.must_not + Array(e.known.keys) where !kindSet.contains(k) {
                Issue.record("\(e.capture): unknown finding kind \(k) (knetcap's: \(kinds.joined(separator: ", ")))")
            }
            let overlap = Set(e.must).intersection(e.may).union(Set(e.must_not).intersection(e.must + e.may))
            #expect(overlap.isEmpty, "\(e.capture): \(overlap.sorted()) in two of must/may/must_not")
        }

        // Diagnosis of each entry.
        var tp: [String: Int] = [:], miss: [String: [String]] = [:], fp: [String: [String]] = [:]
        var mayHit: [String: Int] = [:], knownLines: [String] = []
        for e in manifest.captures where FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent(e.capture).path) {
            let r = try run(["-q", "--json"] + e.args + ["-r", repoRoot.appendingPathComponent(e.capture).path],
                            environment: ["TZ": "UTC"])
            #expect(r.status == e.exit, "\(e): exit \(r.status), expected \(e.exit); stderr: \(r.stderr)")
            var found = Set<String>()
            for line in r.stdout.split(separator: "\n") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    Issue.record("\(e): not a JSON line: \(line.prefix(200))"); continue
                }
                if let f = obj["finding"] as? [String: Any], let k = f["kind"] as? String { found.insert(k) }
            }
            for k in found where !kindSet.contains(k) { Issue.record("\(e): finding of unknown kind \(k)") }
            for k in kinds {
                let isFound = found.contains(k)
                if let why = e.known[k] {
                    let wrong = e.must.contains(k) ? !isFound : (!e.may.contains(k) && isFound)
                    knownLines.append("  \(k) on \(e.capture): \(isFound ? "named" : "not named") - \(why)")
                    if !wrong { Issue.record("\(e): \(k) is listed as known wrong but knetcap is right now: remove it from known") }
                    continue
                }
                if e.must.contains(k) {
                    if isFound { tp[k, default: 0] += 1 } else { miss[k, default: []].append(e.capture) }
                } else if e.may.contains(k) {
                    if isFound { mayHit[k, default: 0] += 1 }
                } else if isFound {
                    fp[k, default: []].append(e.capture)
                }
            }
        }

        // Per-kind table.
        var report = ["corpus: \(manifest.captures.count) runs over \(files.count) capture files",
                      "kind                          TP  miss  FP  may-named"]
        for k in kinds {
            report.append(k.padding(toLength: 28, withPad: " ", startingAt: 0)
                          + String(format: "%4d %5d %3d %10d", tp[k] ?? 0, miss[k]?.count ?? 0, fp[k]?.count ?? 0, mayHit[k] ?? 0))
        }
        if !knownLines.isEmpty { report.append("known (not failed):"); report += knownLines }
        print(report.joined(separator: "\n"))
        for (k, caps) in miss.sorted(by: { $0.key < $1.key }) {
            Issue.record("\(k) missed on: \(caps.joined(separator: ", "))")
        }
        for (k, caps) in fp.sorted(by: { $0.key < $1.key }) {
            Issue.record("\(k) named but must not be on: \(caps.joined(separator: ", "))")
        }
        #expect(tp.values.reduce(0, +) >= 15, "true positives: \(tp)")
    }
}
