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

    /// The side of a `--json` output: its `{"summary": ...}` line (the findings, and the DNS
    /// table when written with `--stats`); without a summary line, its `{"finding": ...}` lines
    /// counted.
    /// - Throws: `DiffError` when the text holds neither.
    public init(name: String, jsonLines text: String) throws(DiffError) {
        self.name = name
        var counts: [String: Int] = [:]
        var summary: [String: Any]?
        var sawFinding = false
        for line in text.split(separator: "\n") where line.hasPrefix("{\"finding\"") || line.hasPrefix("{\"summary\"") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let s = obj["summary"] as? [String: Any] { summary = s }
            if let f = obj["finding"] as? [String: Any], let k = f["kind"] as? String { counts[k, default: 0] += 1; sawFinding = true }
        }
        if let s = summary {
            packets = s["packets"] as? Int ?? 0
            findings = (s["findings"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
            if let st = s["stats"], let data = try? JSONSerialization.data(withJSONObject: st),
               let stats = try? JSONDecoder().decode(CaptureStats.self, from: data) {
                dns = stats.dns_servers
            } else {
                dns = nil
            }
        } else if sawFinding {
            packets = 0; findings = counts; dns = nil
        } else {
            throw DiffError("\(name): neither a capture nor knetcap --json output (no summary or finding line)")
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
