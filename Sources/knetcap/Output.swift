import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// Buffered standard output: bytes go out in large writes (or per packet when live).
struct StdoutSink {
    var buffer = TextBuffer(capacity: 1 << 17)
    let threshold = 1 << 16

    mutating func flushIfFull() { if buffer.count >= threshold { flush() } }

    /// Why writing failed (other than the reader going away), or `nil`.
    var error: String?
    /// Standard output goes to `fd` (2 when the pcap itself goes to standard output, `-w -`).
    var fd: Int32 = 1

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        var failure: Int32 = 0
        buffer.bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = write(fd, base + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno != EPIPE { failure = errno }  // EPIPE: the reader went away (| head)
                    break
                }
                off += n
            }
        }
        if failure != 0 && error == nil { error = String(cString: strerror(failure)) }
        buffer.removeAll()
    }

    mutating func line(_ s: String) { buffer.append(s); buffer.append(byte: 10) }
}

/// The local time zone's UTC offset (seconds) at `t`, from the C library, asked once per hour
/// of capture time by the packet printer.
func localUTCOffset(_ t: Int64) -> Int {
    var tt = time_t(t)
    var tmv = tm()
    guard localtime_r(&tt, &tmv) != nil else { return 0 }
    return Int(tmv.tm_gmtoff)
}

/// Collects a packet's fields in order for JSON (repeated fields become arrays).
struct JSONFieldCollector: FieldVisitor {
    var names: [String] = []
    var values: [String: Any] = [:]

    mutating func visit(_ name: StaticString, _ value: FieldValue) {
        let n = name.description
        let v: Any
        switch value {
        case .uint(let u): v = u
        case .bool(let b): v = b
        case .string(let s): v = s
        case .seconds(let d): v = d
        case .time(let t): v = t
        }
        if FieldRegistry.descriptor(named: n)?.repeated == true {
            if var arr = values[n] as? [Any] { arr.append(v); values[n] = arr } else { names.append(n); values[n] = [v] }
        } else if values[n] == nil {
            names.append(n); values[n] = v
        }
    }
}

/// Writes an ordered JSON object: keys are registry field names (plain ASCII), strings are
/// escaped by Foundation's JSONEncoder, numbers and booleans are written as JSON literals.
func orderedJSON(_ c: JSONFieldCollector) -> String {
    var s = "{"
    for (i, n) in c.names.enumerated() {
        if i > 0 { s += "," }
        s += "\"" + n + "\":"
        if let a = c.values[n] as? [Any] {
            s += "[" + a.map(jsonScalar).joined(separator: ",") + "]"
        } else if let v = c.values[n] {
            s += jsonScalar(v)
        }
    }
    return s + "}"
}

private func jsonScalar(_ v: Any) -> String {
    switch v {
    case let u as UInt64: return String(u)
    case let b as Bool: return b ? "true" : "false"
    case let d as Double: return String(format: "%.9f", d)
    case let t as Timestamp: return t.description
    case let s as String: return jsonLine(s)
    default: return "null"
    }
}

let jsonEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return e
}()

func jsonLine<T: Encodable>(_ v: T) -> String {
    guard let d = try? jsonEncoder.encode(v) else { return "{}" }
    return String(decoding: d, as: UTF8.self)
}

/// `{"finding": {...}}` — one line per finding.
struct FindingLine: Encodable { let finding: Finding }

/// `{"summary": {...}}` — the last JSON line: packets, seconds of capture, and per finding
/// kind the number of findings, occurrences, first and last time and the top endpoints.
struct SummaryLine: Encodable {
    struct Kind: Encodable {
        let findings: Int
        let occurrences: Int
        let severity: String
        let first_time: Double
        let last_time: Double
        let top_endpoints: [String: Int]
    }
    struct Body: Encodable {
        let packets: Int
        let capture_seconds: Double
        let findings: [String: Int]
        let kinds: [String: Kind]
    }
    let summary: Body

    init(_ d: Diagnosis, packets: Int) {
        let span = (d.lastTimestamp.flatMap { l in d.firstTimestamp.map { l - $0 } }) ?? 0
        var kinds: [String: Kind] = [:]
        var counts: [String: Int] = [:]
        for (kind, g) in Dictionary(grouping: d.findings, by: \.kind) {
            counts[kind] = g.count
            kinds[kind] = Kind(findings: g.count, occurrences: g.reduce(0) { $0 + $1.occurrences },
                               severity: g[0].severity.rawValue, first_time: g.map(\.firstTime).min() ?? 0,
                               last_time: g.map(\.lastTime).max() ?? 0,
                               top_endpoints: Dictionary(top(g.compactMap(\.endpoint), 5), uniquingKeysWith: +))
        }
        summary = Body(packets: packets, capture_seconds: span, findings: counts, kinds: kinds)
    }
}

/// The `n` most frequent values with their counts, most frequent first (ties by name).
func top(_ values: [String], _ n: Int) -> [(String, Int)] {
    var counts: [String: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    let sorted: [(String, Int)] = counts.map { ($0.key, $0.value) }.sorted { a, b in a.1 == b.1 ? a.0 < b.0 : a.1 > b.1 }
    return Array(sorted.prefix(n))
}

/// The human report after the packets: findings grouped by severity, then by kind, with
/// counts, first/last time, top endpoints, up to three examples with their evidence, the
/// confidence, what the live system said, and the fix.
func writeReport(_ d: Diagnosis, firstTime: Timestamp?, to out: inout StdoutSink, utcOffset: (Int64) -> Int) {
    let span = (d.lastTimestamp.flatMap { l in firstTime.map { l - $0 } }) ?? 0
    let findings = d.findings
    if findings.isEmpty {
        out.line("knetcap: no faults found in \(d.packets) packets (\(String(format: "%.3f", span)) s of capture)")
        return
    }
    out.line("")
    out.line("== knetcap diagnosis: \(findings.count) finding\(findings.count == 1 ? "" : "s") in \(d.packets) packets (\(String(format: "%.3f", span)) s of capture) ==")
    let groups = Dictionary(grouping: findings, by: \.kind)
    for severity in Severity.allCases {
        let known: [String] = Diagnosis.kinds.filter { groups[$0]?.first?.severity == severity }
        let other: [String] = groups.keys.filter { k in !Diagnosis.kinds.contains(k) && groups[k]?.first?.severity == severity }.sorted()
        let kinds = known + other
        guard !kinds.isEmpty else { continue }
        out.line("")
        out.line("-- \(severity.rawValue.uppercased()) --")
        for kind in kinds {
            guard let g = groups[kind], let head = g.first else { continue }
            let occurrences = g.reduce(0) { $0 + $1.occurrences }
            out.line("")
            out.line("\(kind)  x\(g.count)\(occurrences != g.count ? " (\(occurrences) occurrences)" : "")  \(head.title)")
            if g.count > 1 {
                let first = g.map(\.firstTime).min() ?? 0, last = g.map(\.lastTime).max() ?? 0
                out.line("  from \(clock(first, utcOffset)) to \(clock(last, utcOffset))")
                let endpoints = top(g.compactMap(\.endpoint), 3)
                if !endpoints.isEmpty { out.line("  top endpoints: " + endpoints.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")) }
                let clients = top(g.compactMap(\.client), 3)
                if !clients.isEmpty { out.line("  top clients: " + clients.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")) }
            }
            let shown = g.prefix(3)
            for (i, f) in shown.enumerated() {
                out.line("  \(g.count > 1 ? "[\(i + 1)] " : "")\(f.summary)")
                for e in f.evidence.prefix(12) {
                    out.line("      frame \(e.frame)  \(clock(e.timestamp, utcOffset))  \(e.note)")
                }
                if f.evidence.count > 12 { out.line("      ... \(f.evidence.count - 12) more packets") }
                for o in f.observed { out.line("      observed: \(o)") }
            }
            if g.count > shown.count { out.line("  ... and \(g.count - shown.count) more (--json lists every one)") }
            out.line("  confidence: \(head.confidence.level.rawValue) - \(head.confidence.reason)")
            out.line("  fix:")
            for f in head.fix { out.line("    - \(f)") }
        }
    }
}

/// `HH:MM:SS.ffffff` local time for a capture timestamp (truncated to µs, as packet lines).
func clock(_ t: Timestamp, _ utcOffset: (Int64) -> Int) -> String {
    let local = (t.seconds + Int64(utcOffset(t.seconds))) % 86400
    let l = local < 0 ? local + 86400 : local
    return String(format: "%02d:%02d:%02d.%06d", Int(l / 3600), Int(l / 60 % 60), Int(l % 60), Int(t.nanoseconds / 1000))
}

/// `HH:MM:SS.ffffff` local time for an epoch time in seconds.
func clock(_ t: Double, _ utcOffset: (Int64) -> Int) -> String {
    let s = Int64(t.rounded(.down))
    let us = min(999_999, Int(((t - Double(s)) * 1e6 + 0.05).rounded(.down)))  // truncate, like the packet lines
    let local = (s + Int64(utcOffset(s))) % 86400
    let l = local < 0 ? local + 86400 : local
    return String(format: "%02d:%02d:%02d.%06d", Int(l / 3600), Int(l / 60 % 60), Int(l % 60), us)
}
