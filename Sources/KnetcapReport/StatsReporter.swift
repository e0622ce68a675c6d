import Foundation

/// `--stats` on a terminal: after the diagnosis, tshark `-z`-style tables of the collector's
/// `CaptureStats` — DNS response time per server and query type (from the first transmission),
/// the largest conversations, TCP handshake outcomes per server. With `--json` the same numbers
/// go into the summary line instead (`JSONReporter`).
public final class StatsReporter: Reporter {
    let out: TextOutput
    let collector: StatsCollector
    let style: TextStyle

    public init(output: TextOutput, collector: StatsCollector, style: TextStyle = .plain) {
        out = output
        self.collector = collector
        self.style = style
    }

    public func finish(_ report: Report) {
        guard let s = collector.stats else { return }
        writeStats(s, to: out, style: style)
        out.flush()
    }
}

/// A duration for people: `0.255 ms`, `12.3 ms`, `5.003 s` (`-` for none).
public func humanDuration(_ s: Double?) -> String {
    guard let s, s.isFinite else { return "-" }
    if s < 0 { return "-" + humanDuration(-s) }  // an answer stamped before its query
    if s < 0.001 { return String(format: "%.3f ms", s * 1000) }
    if s < 1 { return String(format: "%.1f ms", s * 1000) }
    return String(format: "%.3f s", s)
}

/// Left-aligned first column, right-aligned others, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> [String] {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0.count > i ? visibleWidth($0[i]) : 0 }.max() ?? 0 }
    return all.map { r in
        r.indices.map { i in
            let pad = String(repeating: " ", count: max(0, widths[i] - visibleWidth(r[i])))
            return i == 0 ? r[i] + pad : pad + r[i]
        }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
}

/// The rows of the DNS table (terminal and HTML): per server and query type, then each
/// server's `all` row (every query type together, as tshark's `-z dns,tree` totals) when a
/// server has more than one query type or there are several servers.
func dnsTableRows(_ s: CaptureStats) -> [CaptureStats.DNSRow] {
    s.dns + (s.dns_servers.count > 1 || s.dns.count > s.dns_servers.count ? s.dns_servers : [])
}

func writeStats(_ s: CaptureStats, to out: TextOutput, style: TextStyle) {
    out.line("")
    let serversShown = s.dns_servers_total > s.dns_servers.count ? ", the \(s.dns_servers.count) with the most queries of \(s.dns_servers_total)" : ""
    out.line(style.bold("== DNS response time per server (from the first transmission; tshark's dns.time restarts at a retry 5 s or more later)\(serversShown) =="))
    if s.dns.isEmpty {
        out.line("no unicast DNS queries")
    } else {
        func cells(_ r: CaptureStats.DNSRow) -> [String] {
            [r.server + (r.transport == "tcp" ? "/tcp" : ""), r.qtype, "\(r.queries)", "\(r.answered)", "\(r.nxdomain)", "\(r.servfail)",
             r.timeouts > 0 ? style.red("\(r.timeouts)") : "0", "\(r.retransmitted)",
             humanDuration(r.p50_s), humanDuration(r.p90_s), humanDuration(r.p99_s), slow(r.max_s, style)]
        }
        for l in table(["SERVER", "QTYPE", "QUERIES", "ANSWERED", "NXDOMAIN", "SERVFAIL", "TIMEOUTS", "RETRIED", "P50", "P90", "P99", "MAX"],
                       dnsTableRows(s).map(cells)) { out.line(l) }
    }
    out.line("")
    out.line(style.bold("== Conversations (TCP/UDP), largest first: \(s.conversations.count) of \(s.conversations_total) =="))
    if s.conversations.isEmpty {
        out.line("no TCP or UDP packets")
    } else {
        let rows = s.conversations.map { c in
            [c.proto.uppercased(), c.a, c.b, "\(c.packets)", "\(c.bytes)", String(format: "%.6f", c.rel_start_s), String(format: "%.6f", c.duration_s)]
        }
        for l in table(["PROTO", "ADDRESS A", "ADDRESS B", "PACKETS", "BYTES", "REL START", "DURATION"], rows) { out.line(l) }
    }
    out.line("")
    let handshakesShown = s.handshakes_total > s.handshakes.count ? ": the \(s.handshakes.count) with the most attempts of \(s.handshakes_total)" : ""
    out.line(style.bold("== TCP handshakes per server\(handshakesShown) =="))
    if s.handshakes.isEmpty {
        out.line("no TCP SYNs")
    } else {
        let rows = s.handshakes.map { h in
            [h.server, "\(h.attempts)", "\(h.completed)", h.refused > 0 ? style.yellow("\(h.refused)") : "0",
             h.unanswered > 0 ? style.red("\(h.unanswered)") : "0"]
        }
        for l in table(["SERVER", "ATTEMPTS", "COMPLETED", "REFUSED", "UNANSWERED"], rows) { out.line(l) }
    }
}

private func slow(_ s: Double?, _ style: TextStyle) -> String {
    let t = humanDuration(s)
    return (s ?? 0) >= 1 ? style.red(t) : t
}
