import Foundation
import KnetcapAnalysis

/// One side of `knetcap diff`: the findings per kind and the DNS response times per server of
/// a capture (diagnosed afresh) or of a `knetcap --json` output (read from its summary line).
public struct DiffSide: Sendable {
    public var name: String
    public var packets: Int
    /// Findings per kind.
    public var findings: [String: Int]
    /// Per DNS server (`CaptureStats.dns_servers`); `nil` when a JSON input was written without
    /// `--stats`.
    public var dns: [CaptureStats.DNSRow]?

    public init(name: String, packets: Int, findings: [String: Int], dns: [CaptureStats.DNSRow]?) {
        self.name = name; self.packets = packets; self.findings = findings; self.dns = dns
    }

    /// The side of a `--json` output, checked line by line: every line a JSON object that
    /// `knetcap --json` writes (a packet, `{"finding": ...}`, `{"summary": ...}`), the summary
    /// last, its finding counts those of the finding lines, its `stats` (with `--stats`) whole.
    /// - Throws: `DiffError` naming the line and what is wrong: a line cut short or not JSON,
    ///   an object knetcap does not write, no summary line (the output was cut short), lines
    ///   after the summary, counts that disagree.
    public init(name: String, jsonLines bytes: [UInt8]) throws(DiffError) {
        self.name = name
        func bad(_ line: Int, _ what: String) -> DiffError { DiffError("\(name): line \(line): \(what)") }
        var counts: [String: Int] = [:]
        var summary: (line: Int, body: [String: Any])?
        var others = false  // packet or finding lines: a whole output, not its summary line alone
        var lineNumber = 0, lastLine = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }  // blank (and the end after the last newline)
            lastLine = lineNumber
            guard let line = String(validating: raw, as: UTF8.self) else { throw bad(lineNumber, "not UTF-8 text") }
            if let s = summary { throw bad(lineNumber, "text after the summary line (line \(s.line)), which ends a knetcap --json output (two outputs joined?)") }
            let obj: [String: Any]
            do {
                guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw bad(lineNumber, "a JSON value that is not an object; knetcap --json writes one object per line")
                }
                obj = o
            } catch let e as DiffError {
                throw e
            } catch {
                throw bad(lineNumber, Self.whyNotJSON(line))
            }
            if let f = obj["finding"] {
                guard let k = (f as? [String: Any])?["kind"] as? String else { throw bad(lineNumber, "a finding without its \"kind\"") }
                counts[k, default: 0] += 1
                others = true
            } else if let s = obj["summary"] {
                guard let body = s as? [String: Any] else { throw bad(lineNumber, "a summary that is not an object") }
                // JSONSerialization keeps the last of two equal keys; knetcap never writes one twice.
                if let k = Self.duplicateKey(in: raw) { throw bad(lineNumber, "the key \"\(k)\" twice in one object: not a summary knetcap writes") }
                summary = (lineNumber, body)
            } else if obj["frame.number"] != nil {
                others = true
            } else {
                let keys = obj.keys.sorted().prefix(3).joined(separator: ", ")
                throw bad(lineNumber, "not a line knetcap --json writes (a packet, finding or summary object), keys: \(keys.isEmpty ? "none" : keys)")
            }
        }
        guard let (at, s) = summary else {
            if lastLine == 0 { throw DiffError("\(name): empty: neither a capture nor knetcap --json output") }
            throw DiffError("\(name): line \(lastLine): the last line, and no summary line, which ends a knetcap --json output (cut short?)")
        }
        if let why = s["read_error"] as? String {
            throw bad(at, "the output of a capture whose reading failed part-way (\(why)); knetcap diff compares whole captures")
        }
        guard let n = s["packets"] as? Int, n >= 0 else { throw bad(at, "the summary has no packet count (\"packets\")") }
        guard let fs = s["findings"] as? [String: Any] else { throw bad(at, "the summary has no finding counts (\"findings\")") }
        var findings: [String: Int] = [:]
        for (k, v) in fs {
            guard let c = v as? Int, c >= 0 else { throw bad(at, "the summary's count of \(k) is not a number of findings") }
            findings[k] = c
        }
        // Every finding has its line before the summary (streamed or at the end): a missing or
        // extra one means lines were lost or mixed in.
        // Past the cap only the first findings of a kind have lines: its `kinds` entry says how
        // many were kept.
        let kinds = s["kinds"] as? [String: Any] ?? [:]
        var lines = findings
        for (k, v) in kinds { if let kept = (v as? [String: Any])?["kept"] as? Int { lines[k] = kept } }
        if others, counts != lines.filter({ $0.value > 0 }) {
            let kind = Set(counts.keys).union(lines.keys).sorted().first { counts[$0, default: 0] != lines[$0, default: 0] } ?? "?"
            let kept = lines[kind, default: 0] != findings[kind, default: 0] ? " (\(lines[kind, default: 0]) kept)" : ""
            throw bad(at, "the summary counts \(findings[kind, default: 0]) \(kind) finding\(findings[kind, default: 0] == 1 ? "" : "s")\(kept), the output has \(counts[kind, default: 0]) finding line\(counts[kind, default: 0] == 1 ? "" : "s") of that kind")
        }
        packets = n
        self.findings = findings
        if let st = s["stats"] {
            // The per-server rows diff compares, and the per-query-type rows and totals beside
            // them: all whole and consistent, or the output was edited or damaged.
            struct Servers: Decodable {
                var dns_servers: [CaptureStats.DNSRow]
                var dns: [CaptureStats.DNSRow]?
                var conversations_total: Int?
                var dns_servers_total: Int?
                var handshakes_total: Int?
            }
            do {
                let data = try JSONSerialization.data(withJSONObject: st)
                let decoded = try JSONDecoder().decode(Servers.self, from: data)
                for (name, rows) in [("dns_servers", decoded.dns_servers), ("dns", decoded.dns ?? [])] {
                    for (i, r) in rows.enumerated() {
                        if let why = Self.implausible(r) { throw bad(at, "the summary's \"stats\" are not knetcap --stats output (stats.\(name)[\(i)]: \(why))") }
                    }
                }
                for (name, v) in [("conversations_total", decoded.conversations_total), ("dns_servers_total", decoded.dns_servers_total),
                                  ("handshakes_total", decoded.handshakes_total)] {
                    if let v, v < 0 { throw bad(at, "the summary's \"stats\" are not knetcap --stats output (stats.\(name) is \(v))") }
                }
                if let t = decoded.dns_servers_total, t < decoded.dns_servers.count {
                    throw bad(at, "the summary's \"stats\" are not knetcap --stats output (stats.dns_servers_total \(t) is less than the \(decoded.dns_servers.count) servers listed)")
                }
                let rows = decoded.dns_servers
                dns = rows
            } catch let e as DiffError {
                throw e
            } catch let e as DecodingError {
                throw bad(at, "the summary's \"stats\" are not knetcap --stats output (stats.\(Self.describe(e)))")
            } catch {
                throw bad(at, "the summary's \"stats\" are not knetcap --stats output")
            }
        } else {
            dns = nil
        }
    }

    /// What no --stats row can hold, in words (`nil` when the row is whole): negative counts,
    /// more answered or unanswered queries than queries, response times that are not finite,
    /// out of order (p50 <= p90 <= p99 <= max) or given for a row with no answers. (A negative
    /// time is possible: an answer stamped before its query in a merged capture.)
    static func implausible(_ r: CaptureStats.DNSRow) -> String? {
        let counts = [("queries", r.queries), ("answered", r.answered), ("nxdomain", r.nxdomain), ("servfail", r.servfail),
                      ("timeouts", r.timeouts), ("retransmitted", r.retransmitted)]
        if let (name, v) = counts.first(where: { $0.1 < 0 }) { return "\(name) is \(v)" }
        for (name, v) in counts.dropFirst() where v > r.queries { return "\(name) \(v) is more than its \(r.queries) queries" }
        if r.nxdomain + r.servfail > r.answered { return "nxdomain + servfail \(r.nxdomain + r.servfail) is more than its \(r.answered) answered" }
        if r.answered + r.timeouts > r.queries { return "answered + timeouts \(r.answered + r.timeouts) is more than its \(r.queries) queries" }
        let times = [("p50_s", r.p50_s), ("p90_s", r.p90_s), ("p99_s", r.p99_s), ("max_s", r.max_s)]
        for (name, v) in times { if let v, !v.isFinite { return "\(name) is \(v)" } }
        let given = times.compactMap { t in t.1.map { (t.0, $0) } }
        if !given.isEmpty && given.count < 4 { return "\(times.first { $0.1 == nil }!.0) missing beside the other percentiles" }
        if given.count == 4 {
            if r.answered == 0 { return "response times for no answered query" }
            for (a, b) in zip(given, given.dropFirst()) where a.1 > b.1 { return "\(a.0) \(a.1) is more than \(b.0) \(b.1)" }
        }
        return nil
    }

    /// The first key that appears twice in one object of the JSON text `line` (keys compared
    /// as written, escapes included), or nil. Only structure is followed: `line` is known to
    /// parse.
    static func duplicateKey(in line: some Collection<UInt8>) -> String? {
        let bytes = Array(line)
        var objects: [Set<String>?] = []  // per open value: the keys of an object, nil for an array
        var expectKey = false
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): objects.append([]); expectKey = true
            case UInt8(ascii: "["): objects.append(nil); expectKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = objects.popLast(); expectKey = false
            case UInt8(ascii: ","): expectKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: ":"): expectKey = false
            case UInt8(ascii: "\""):
                var j = i + 1, escaped = false
                while j < bytes.count {
                    if escaped { escaped = false } else if bytes[j] == UInt8(ascii: "\\") { escaped = true } else if bytes[j] == UInt8(ascii: "\"") { break }
                    j += 1
                }
                if expectKey, let top = objects.indices.last, objects[top] != nil {
                    let key = String(decoding: bytes[(i + 1)..<min(j, bytes.count)], as: UTF8.self)
                    if !objects[top]!.insert(key).inserted { return key }
                    expectKey = false
                }
                i = j
            default: break
            }
            i += 1
        }
        return nil
    }

    /// Why `line` does not parse, in words: cut short (inside a string, or with objects left
    /// open), or the first character that cannot be there.
    static func whyNotJSON(_ line: String) -> String {
        var depth = 0, inString = false, escaped = false, column = 0
        for ch in line.unicodeScalars {
            column += 1
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                continue
            }
            switch ch {
            case "\"": inString = true
            case "{", "[": depth += 1
            case "}", "]":
                depth -= 1
                if depth < 0 { return "not valid JSON: an unmatched \(ch) at column \(column)" }
            default: break
            }
        }
        if inString { return "cut short: the line ends inside a string (not valid JSON; the output was truncated?)" }
        if depth > 0 { return "cut short: the line ends with \(depth) object\(depth == 1 ? "" : "s") or array\(depth == 1 ? "" : "s") left open (not valid JSON; the output was truncated?)" }
        return "not valid JSON"
    }

    /// A decoding error as `dns_servers[0].p50_s: missing`.
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context, _ extra: CodingKey? = nil) -> String {
            (c.codingPath + (extra.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .replacingOccurrences(of: "^\\.", with: "", options: .regularExpression)
        }
        switch e {
        case .keyNotFound(let k, let c): return "\(path(c, k)) missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c)) has the wrong type"
        case .dataCorrupted(let c): return path(c).isEmpty ? "corrupt" : "\(path(c)) corrupt"
        @unknown default: return "corrupt"
        }
    }
}

/// Why a diff input cannot be read.
public struct DiffError: Error, Sendable {
    public let message: String
    public init(_ m: String) { message = m }
}

/// The comparison of two sides: per finding kind the counts before and after, per DNS server
/// queries, timeouts and p50/p90/p99/max before and after; `worse` the kinds whose count rose.
public struct CaptureDiff: Sendable {
    public struct KindRow: Sendable, Equatable { public var kind: String; public var before: Int; public var after: Int }
    public var kinds: [KindRow]
    public var before: DiffSide
    public var after: DiffSide

    public init(before: DiffSide, after: DiffSide) {
        self.before = before; self.after = after
        let present = Set(before.findings.keys).union(after.findings.keys)
        let known = Diagnosis.kinds.filter(present.contains)
        kinds = (known + present.subtracting(known).sorted()).map {
            KindRow(kind: $0, before: before.findings[$0] ?? 0, after: after.findings[$0] ?? 0)
        }
    }

    /// Kinds found more often after than before.
    public var worse: [String] { kinds.filter { $0.after > $0.before }.map(\.kind) }

    /// The comparison as terminal text.
    public func text(style: TextStyle = .plain) -> String {
        var lines = ["== knetcap diff: \(before.name) -> \(after.name) ==", ""]
        if kinds.isEmpty {
            lines.append("no findings before or after")
        } else {
            let rows = kinds.map { k in
                [k.kind, "\(k.before)", "\(k.after)",
                 k.after > k.before ? style.red("worse") : k.after < k.before ? (k.after == 0 ? "gone" : "better") : "same"]
            }
            lines += table(["FINDING KIND", "BEFORE", "AFTER", ""], rows)
        }
        lines.append("")
        lines.append("DNS response time per server, from the first transmission (before -> after):")
        switch (before.dns, after.dns) {
        case (let b?, let a?):
            let servers = Set(b.map(key)).union(a.map(key)).sorted()
            if servers.isEmpty { lines.append("no DNS queries before or after"); break }
            func cell(_ x: CaptureStats.DNSRow?, _ y: CaptureStats.DNSRow?, _ v: (CaptureStats.DNSRow) -> String) -> String {
                "\(x.map(v) ?? "-") -> \(y.map(v) ?? "-")"
            }
            let rows = servers.map { s -> [String] in
                let x = b.first { key($0) == s }, y = a.first { key($0) == s }
                return [s, cell(x, y) { "\($0.queries)" }, cell(x, y) { "\($0.timeouts)" }, cell(x, y) { humanDuration($0.p50_s) },
                        cell(x, y) { humanDuration($0.p90_s) }, cell(x, y) { humanDuration($0.p99_s) }, cell(x, y) { humanDuration($0.max_s) }]
            }
            lines += table(["SERVER", "QUERIES", "TIMEOUTS", "P50", "P90", "P99", "MAX"], rows)
        default:
            let without = [before, after].filter { $0.dns == nil }.map(\.name).joined(separator: " and ")
            lines.append("not compared: \(without) has no DNS statistics (write it with knetcap --json --stats)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func key(_ r: CaptureStats.DNSRow) -> String { r.server + (r.transport == "tcp" ? "/tcp" : "") }
}
