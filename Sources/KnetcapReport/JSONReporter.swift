import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// `--json`: one JSON object per packet (Wireshark field names, in registry order; repeated
/// fields as arrays), then one `{"finding": ...}` per finding, then one `{"summary": ...}`.
/// Findings streamed during a live capture are written when made, and not again at the end.
public final class JSONReporter: Reporter {
    let out: TextOutput
    /// Write a line per packet (false with `-q` or `-w`: findings and summary only).
    let writesPackets: Bool
    /// `--stats`: its numbers go into the summary as `"stats"` (a `CaptureStats`).
    let stats: StatsCollector?

    public init(output: TextOutput, packets: Bool, stats: StatsCollector? = nil) {
        out = output
        writesPackets = packets
        self.stats = stats
    }

    public func packet(_ p: Packet) {
        guard writesPackets else { return }
        out.line(Self.packetObject(p))
        out.flushIfFull()
    }

    public func finding(_ f: Finding) {
        out.line(jsonLine(FindingLine(finding: f)))
        out.flush()
    }

    public func packetsDone() { out.flush() }

    public func finish(_ r: Report) {
        for f in r.findings.dropFirst(r.streamed) { out.line(jsonLine(FindingLine(finding: f))) }
        out.line(jsonLine(SummaryLine(r, stats: stats?.stats)))
        out.flush()
    }

    /// The packet's fields as one JSON object: `{"frame.number":1,...,"dns.qry.name":["a.b"]}`.
    /// A field that is not repeated but occurs more than once (the outer and inner IP of a
    /// tunnelled packet, listed outer first) is written once, with its last occurrence: the
    /// packet's own.
    public static func packetObject(_ p: Packet) -> String {
        var s = "{"
        var current = ""
        var inArray = false
        var valueStart = s.endIndex
        p.forEachJSONField { d, v in
            if d.name != current {
                if inArray { s += "]" }
                if !current.isEmpty { s += "," }
                current = d.name
                inArray = d.repeated
                s += "\"" + d.name + "\":" + (inArray ? "[" : "")
                valueStart = s.endIndex
                s += scalar(v)
            } else if d.repeated {
                s += "," + scalar(v)
            } else {
                s.removeSubrange(valueStart...)
                s += scalar(v)
            }
        }
        return s + (inArray ? "]}" : "}")
    }

    static func scalar(_ v: FieldValue) -> String {
        switch v {
        case .uint(let u): return String(u)
        case .bool(let b): return b ? "true" : "false"
        case .ip(let a): return "\"" + a.description + "\""
        case .ether(let m): return "\"" + MACAddress(m).description + "\""
        case .ns(let n): return String(format: "%.9f", Double(n) / 1e9)
        case .time(let t): return t.description
        case .bytes(let b): return jsonLine(String(decoding: b, as: UTF8.self))
        }
    }
}

let jsonEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return e
}()

/// `v` as one line of JSON (sorted keys, slashes unescaped).
public func jsonLine<T: Encodable>(_ v: T) -> String {
    guard let d = try? jsonEncoder.encode(v) else { return "{}" }
    return String(decoding: d, as: UTF8.self)
}

/// `{"finding": {...}}` — one line per finding.
public struct FindingLine: Encodable {
    public let finding: Finding
    public init(finding: Finding) { self.finding = finding }
}

/// `{"summary": {...}}` — the last JSON line: packets, seconds of capture, and per finding
/// kind the number of findings, occurrences, first and last time and the top endpoints; with
/// `--stats`, the `CaptureStats` as `"stats"`.
struct SummaryLine: Encodable {
    struct Kind: Encodable {
        let findings: Int
        let occurrences: Int
        let severity: String
        let first_time: Double
        let last_time: Double
        let top_endpoints: [String: Int]
        /// Findings kept in the output when more were made (`findings` counts all).
        let kept: Int?
    }
    struct Body: Encodable {
        let packets: Int
        let capture_seconds: Double
        let findings: [String: Int]
        let kinds: [String: Kind]
        let stats: CaptureStats?
        /// What the state limits dropped from tracking; absent when nothing was.
        let state_limits: [StateLimit]?
        /// Why reading stopped part-way (a cut or corrupt file); absent when it did not: the
        /// numbers above cover the packets before it.
        let read_error: String?
    }
    struct StateLimit: Encodable {
        let table: String
        let dropped: Int
        let max_entries: Int
        let budget_bytes: Int
        let note: String
    }
    let summary: Body

    init(_ r: Report, stats: CaptureStats? = nil) {
        var kinds: [String: Kind] = [:]
        var counts: [String: Int] = [:]
        for (kind, g) in Dictionary(grouping: r.findings, by: \.kind) {
            let extra = r.suppressed[kind] ?? 0
            counts[kind] = g.count + extra
            kinds[kind] = Kind(findings: g.count + extra, occurrences: g.reduce(0) { $0 + $1.occurrences } + extra,
                               severity: g[0].severity.rawValue, first_time: r.span(of: kind)?.lowerBound ?? 0,
                               last_time: r.span(of: kind)?.upperBound ?? 0,
                               top_endpoints: Dictionary(top(g.compactMap(\.endpoint), 5), uniquingKeysWith: +),
                               kept: extra > 0 ? g.count : nil)
        }
        let limits = zip(r.limits, r.limitLines).map {
            StateLimit(table: $0.0.what, dropped: $0.0.dropped, max_entries: $0.0.maxEntries, budget_bytes: $0.0.budgetBytes, note: $0.1)
        }
        summary = Body(packets: r.packets, capture_seconds: r.captureSeconds, findings: counts, kinds: kinds, stats: stats,
                       state_limits: limits.isEmpty ? nil : limits, read_error: r.readError)
    }
}

/// The `n` most frequent values with their counts, most frequent first (ties by name).
func top(_ values: [String], _ n: Int) -> [(String, Int)] {
    var counts: [String: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    let sorted: [(String, Int)] = counts.map { ($0.key, $0.value) }.sorted { a, b in a.1 == b.1 ? a.0 < b.0 : a.1 > b.1 }
    return Array(sorted.prefix(n))
}
