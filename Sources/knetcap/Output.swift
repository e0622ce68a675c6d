import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// Buffered standard output: bytes go out in large writes (or per packet when live).
struct StdoutSink {
    var buffer = TextBuffer(capacity: 1 << 17)
    let threshold = 1 << 16

    mutating func flushIfFull() { if buffer.count >= threshold { flush() } }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = write(1, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; break }  // EPIPE: reader went away
                off += n
            }
        }
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

/// `{"summary": {...}}` — the last JSON line.
struct SummaryLine: Encodable {
    struct Body: Encodable {
        let packets: Int
        let findings: [String: Int]
        let capture_seconds: Double
    }
    let summary: Body
}

/// The human report after the packets: findings grouped by severity, then kind.
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
    let kinds = groups.keys.sorted { a, b in
        let sa = groups[a]![0].severity, sb = groups[b]![0].severity
        return sa == sb ? a < b : sa < sb
    }
    for kind in kinds {
        let g = groups[kind]!
        out.line("")
        out.line("\(g[0].severity.rawValue.uppercased())  \(kind)  x\(g.count)  \(g[0].title)")
        let first = g.map(\.firstTime).min() ?? 0, last = g.map(\.lastTime).max() ?? 0
        if g.count > 1 {
            out.line("  \(g.count) occurrences from \(clock(first, utcOffset)) to \(clock(last, utcOffset))")
            let clients = Dictionary(grouping: g.compactMap(\.client), by: { $0 }).mapValues(\.count)
                .sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.prefix(3)
            let servers = Dictionary(grouping: g.compactMap(\.server), by: { $0 }).mapValues(\.count)
                .sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.prefix(3)
            if !servers.isEmpty { out.line("  top servers: " + servers.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")) }
            if !clients.isEmpty { out.line("  top clients: " + clients.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")) }
        }
        let shown = g.prefix(3)
        for (i, f) in shown.enumerated() {
            out.line("  \(g.count > 1 ? "[\(i + 1)] " : "")\(f.summary)")
            for e in f.evidence {
                out.line("      frame \(e.frame)  \(clock(e.time, utcOffset))  \(e.note)")
            }
        }
        if g.count > shown.count { out.line("  ... and \(g.count - shown.count) more (--json lists every one)") }
        out.line("  confidence: \(g[0].confidence.level.rawValue) - \(g[0].confidence.reason)")
        out.line("  fix:")
        for f in g[0].fix { out.line("    - \(f)") }
    }
}

/// `HH:MM:SS.ffffff` local time for an epoch time in seconds.
func clock(_ t: Double, _ utcOffset: (Int64) -> Int) -> String {
    let s = Int64(t.rounded(.down))
    let us = Int(((t - Double(s)) * 1e6).rounded())
    let local = (s + Int64(utcOffset(s))) % 86400
    let l = local < 0 ? local + 86400 : local
    return String(format: "%02d:%02d:%02d.%06d", Int(l / 3600), Int(l / 60 % 60), Int(l % 60), us)
}
