import Foundation
import KnetcapDissect

// The HTML report's pictures, drawn by knetcap as inline SVG: a sequence diagram per finding,
// a DNS response-time timeline and histogram per server. Sizes are bounded whatever the
// capture: a diagram has one row per evidence packet (at most `maxDiagramRows`), a timeline
// at most `maxTimelinePoints` marks (beyond that, `timelineBins` aggregated columns), a
// histogram `histogramBins` + 1 bars.

let maxDiagramRows = 40
let maxTimelinePoints = 1500
let timelineBins = 300

/// `s` with `& < > " '` escaped for HTML text and attribute values.
func esc(_ s: String) -> String {
    var o = ""
    o.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "\"": o += "&quot;"
        case "'": o += "&#39;"
        default: o.unicodeScalars.append(c)
        }
    }
    return o
}

private func f1(_ v: Double) -> String { String(format: "%.1f", v) }

/// The pause before a row of a diagram: a gap of at least this many seconds gets a band.
let diagramGapBand = 0.2

/// A sequence diagram: hosts as columns (lifelines), packets as arrows in time order with their
/// frame number and time since the first, a shaded band with the length of every pause of
/// `diagramGapBand` s or more (red and large from 1 s), a missing reply as a dashed red arrow
/// ending in a cross.
func sequenceDiagram(_ events: [DiagramEvent], utcOffset: (Int64) -> Int) -> String {
    let shown = Array(events.prefix(maxDiagramRows))
    guard let t0 = shown.first?.time else { return "" }
    // The client first: the sender of the first request (query or SYN), then by first appearance.
    var hosts: [String] = shown.first { $0.record?.requestKey != nil }.map { [$0.from] } ?? []
    for e in shown { for h in [e.from, e.to] where !hosts.contains(h) { hosts.append(h) } }
    // The frame number and the time since the first packet sit side by side left of the first
    // lifeline, measured in their monospace fonts (11.5 and 11 px: about 7.0 and 6.7 px a
    // character), so a 5- or 7-digit frame number never runs into its time.
    let relFormat = { (e: DiagramEvent) in "+" + String(format: "%.6f", e.time - t0) + " s" }
    let frameWidth = shown.map { Double("frame \($0.frame)".count) * 7.0 }.max() ?? 49
    let relX = 10 + frameWidth + 8
    let relWidth = shown.map { Double(relFormat($0).count) * 6.7 }.max() ?? 90
    let left = max(190.0, relX + relWidth + 12), colW = 300.0, top = 56.0
    let width = left + colW * Double(max(hosts.count, 2)) + 20
    func x(_ h: String) -> Double { left + colW / 2 + colW * Double(hosts.firstIndex(of: h) ?? 0) }
    var body = ""
    var y = top + 10
    var previous: Timestamp?
    for e in shown {
        if let p = previous, !e.missing {
            let gap = e.time - p
            if gap >= diagramGapBand {
                let h = min(150, 46 + 28 * log10(gap / diagramGapBand))
                let big = gap >= 1
                body += "<g class=\"gap\" data-gap=\"\(String(format: "%.6f", gap))\">"
                body += "<rect x=\"0\" y=\"\(f1(y))\" width=\"\(f1(width))\" height=\"\(f1(h))\" class=\"\(big ? "gapband big" : "gapband")\"/>"
                body += "<text x=\"10\" y=\"\(f1(y + h / 2 + (big ? 8 : 4)))\" class=\"\(big ? "gaptext big" : "gaptext")\">\(esc(humanDuration(gap)))</text>"
                body += "<text x=\"\(f1(left + 10))\" y=\"\(f1(y + h / 2 + 4))\" class=\"gapnote\">\(esc(humanDuration(gap))) with no packet of this finding</text>"
                body += "</g>"
                y += h + 24
            }
        }
        if !e.missing { previous = e.time }
        let x1 = x(e.from), x2 = x(e.to)
        let cls = e.missing ? "msg missing" : (e.inEvidence ? "msg" : "msg context")
        body += "<g class=\"\(cls)\" data-frame=\"\(e.frame)\"><title>\(esc("frame \(e.frame)  \(clock(e.time, utcOffset))  \(e.from) → \(e.to)  \(e.label)"))</title>"
        if !e.missing {
            body += "<text x=\"10\" y=\"\(f1(y + 4))\" class=\"frame\">frame \(e.frame)</text>"
            body += "<text x=\"\(f1(relX))\" y=\"\(f1(y + 4))\" class=\"rel\">\(esc(relFormat(e)))</text>"
        }
        let label = e.label.count > 90 ? String(e.label.prefix(88)) + "…" : e.label
        if e.missing {
            let end = x1 + (x2 - x1) * 0.55
            body += "<line x1=\"\(f1(x1))\" y1=\"\(f1(y))\" x2=\"\(f1(end))\" y2=\"\(f1(y))\" class=\"lost\"/>"
            body += "<path d=\"M\(f1(end - 7)) \(f1(y - 7)) L\(f1(end + 7)) \(f1(y + 7)) M\(f1(end - 7)) \(f1(y + 7)) L\(f1(end + 7)) \(f1(y - 7))\" class=\"cross\"/>"
            let leftward = x2 < x1  // the label goes past the cross, where the reply never arrived
            body += "<text x=\"\(f1(end + (leftward ? -14 : 14)))\" y=\"\(f1(y + 4))\" class=\"lbl lostlbl\" text-anchor=\"\(leftward ? "end" : "start")\">\(esc(label))</text>"
        } else if x1 == x2 {
            body += "<path d=\"M\(f1(x1)) \(f1(y - 8)) h40 v16 h-36\" class=\"arrow\" marker-end=\"url(#ah)\"/>"
            body += "<text x=\"\(f1(x1 + 46))\" y=\"\(f1(y + 4))\" class=\"lbl\">\(esc(label))</text>"
        } else {
            body += "<line x1=\"\(f1(x1))\" y1=\"\(f1(y))\" x2=\"\(f1(x2 + (x2 > x1 ? -4 : 4)))\" y2=\"\(f1(y))\" class=\"arrow\" marker-end=\"url(#ah)\"/>"
            body += "<text x=\"\(f1((x1 + x2) / 2))\" y=\"\(f1(y - 6))\" class=\"lbl\" text-anchor=\"middle\">\(esc(label))</text>"
        }
        body += "</g>"
        y += e.missing ? 34 : 36
    }
    if events.count > shown.count {
        body += "<text x=\"10\" y=\"\(f1(y + 4))\" class=\"rel\">… \(events.count - shown.count) more rows (see the evidence table)</text>"
        y += 24
    }
    var head = ""
    for h in hosts {
        let hx = x(h)
        head += "<line x1=\"\(f1(hx))\" y1=\"\(f1(top - 10))\" x2=\"\(f1(hx))\" y2=\"\(f1(y))\" class=\"lifeline\"/>"
        head += "<rect x=\"\(f1(hx - 95))\" y=\"8\" width=\"190\" height=\"28\" rx=\"4\" class=\"hostbox\"/>"
        head += "<text x=\"\(f1(hx))\" y=\"27\" text-anchor=\"middle\" class=\"host\">\(esc(h))</text>"
    }
    return "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f1(width))\" height=\"\(f1(y + 10))\" viewBox=\"0 0 \(f1(width)) \(f1(y + 10))\">"
        + "<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#334\"/></marker></defs>"
        + head + body + "</svg>"
}

/// Response times in seconds on a log axis from 10 µs to 100 s.
private let latencyFloor = 1e-5, latencyCeiling = 100.0

private func logPosition(_ s: Double) -> Double {
    let v = min(max(s, latencyFloor), latencyCeiling)
    return (log10(v) - log10(latencyFloor)) / (log10(latencyCeiling) - log10(latencyFloor))
}

private let decadeLabels: [(Double, String)] = [(1e-5, "10 µs"), (1e-4, "0.1 ms"), (1e-3, "1 ms"), (1e-2, "10 ms"), (0.1, "100 ms"), (1, "1 s"), (10, "10 s"), (100, "100 s")]

/// A timeline of one server's queries: x the capture time of the first transmission, y the
/// response time (log scale), retried queries orange, a wait of 1 s or more as a bar from the
/// query to its answer, unanswered queries as red crosses in the top band; one mark per query up
/// to `maxTimelinePoints`, else per time bin the median and p99, with marks for the queries
/// that stand out.
func latencyTimeline(_ samples: [DNSQuerySample], start: Double, end: Double) -> String {
    let w = 900.0, h = 240.0, l = 70.0, r = 20.0, t = 34.0, b = 30.0
    let span = max(end - start, 1e-6)
    func x(_ time: Double) -> Double { l + 8 + (w - l - r - 16) * min(1, max(0, (time - start) / span)) }
    func y(_ s: Double) -> Double { h - b - (h - b - t) * logPosition(s) }
    var s = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\">"
    s += "<rect x=\"\(l)\" y=\"4\" width=\"\(w - l - r)\" height=\"22\" class=\"noanswer\"/><text x=\"\(l - 6)\" y=\"19\" text-anchor=\"end\" class=\"axis\">no answer</text>"
    for (v, name) in decadeLabels {
        s += "<line x1=\"\(l)\" x2=\"\(w - r)\" y1=\"\(f1(y(v)))\" y2=\"\(f1(y(v)))\" class=\"grid\"/>"
        s += "<text x=\"\(l - 6)\" y=\"\(f1(y(v) + 4))\" text-anchor=\"end\" class=\"axis\">\(name)</text>"
    }
    s += "<text x=\"\(l)\" y=\"\(h - 8)\" class=\"axis\">+0 s</text><text x=\"\(w - r)\" y=\"\(h - 8)\" text-anchor=\"end\" class=\"axis\">+\(String(format: "%.3f", span)) s</text>"
    // One mark per query; past `maxTimelinePoints` queries, one column per time bin (median to
    // p99) and marks only for the queries that stand out (retried, slower than 1 s, unanswered).
    let aggregated = samples.count > maxTimelinePoints
    if aggregated {
        var bins = Array(repeating: [Double](), count: timelineBins)
        for q in samples {
            let at = min(1, max(0, (q.sent - start) / span))  // clamped before Int(): capture time may run backwards
            let i = min(timelineBins - 1, Int(at * Double(timelineBins)))
            if let lat = q.latency { bins[i].append(lat) }
        }
        for i in 0..<timelineBins {
            let px = l + 8 + (w - l - r - 16) * (Double(i) + 0.5) / Double(timelineBins)
            let sorted = bins[i].sorted()
            guard let mid = percentile(sorted, 50), let p99 = percentile(sorted, 99) else { continue }
            s += "<g><title>\(sorted.count) answered: median \(esc(humanDuration(mid))), p99 \(esc(humanDuration(p99)))</title>"
            s += "<line x1=\"\(f1(px))\" x2=\"\(f1(px))\" y1=\"\(f1(y(mid)))\" y2=\"\(f1(y(p99)))\" class=\"range\"/>"
            s += "<circle cx=\"\(f1(px))\" cy=\"\(f1(y(mid)))\" r=\"1.6\" class=\"pt\"/></g>"
        }
    }
    var marks = 0
    for q in samples where !aggregated || q.transmissions > 1 || (q.latency ?? 1) >= 1 {
        marks += 1
        if marks > maxTimelinePoints { break }
        let px = x(q.sent)
        let tip = "sent +\(String(format: "%.6f", q.sent - start)) s, " + (q.latency.map { "answered after \(humanDuration($0))" } ?? "never answered")
            + (q.transmissions > 1 ? ", sent \(q.transmissions) times" : "")
        if let lat = q.latency, lat >= 1 {  // a long wait: drawn as a bar from the query to its answer
            s += "<line x1=\"\(f1(px))\" x2=\"\(f1(x(q.sent + lat)))\" y1=\"\(f1(y(lat)))\" y2=\"\(f1(y(lat)))\" class=\"waitline\"/>"
            if !aggregated && marks <= 20 {  // labels only where they cannot pile up
                s += "<text x=\"\(f1((px + x(q.sent + lat)) / 2))\" y=\"\(f1(y(lat) - 6))\" text-anchor=\"middle\" class=\"waitlbl\">\(esc(humanDuration(lat)))</text>"
            }
        }
        if let lat = q.latency {
            s += "<circle cx=\"\(f1(px))\" cy=\"\(f1(y(lat)))\" r=\"3.5\" class=\"\(q.transmissions > 1 ? "pt retried" : "pt")\"><title>\(esc(tip))</title></circle>"
        } else {
            s += "<path d=\"M\(f1(px - 5)) 10 L\(f1(px + 5)) 20 M\(f1(px - 5)) 20 L\(f1(px + 5)) 10\" class=\"cross\"><title>\(esc(tip))</title></path>"
        }
    }
    return s + "</svg>"
}

/// Bins of the histogram: four per decade from 10 µs to 100 s, then one for no answer.
let histogramBins = 28

/// A histogram of one server's response times (log-spaced bins, counts on a log scale, each
/// bar labelled with its count), bars from 1 s orange, a red bar for queries never answered.
func latencyHistogram(_ samples: [DNSQuerySample]) -> String {
    var counts = Array(repeating: 0, count: histogramBins + 1)
    for q in samples {
        guard let lat = q.latency else { counts[histogramBins] += 1; continue }
        counts[min(histogramBins - 1, Int(logPosition(lat) * Double(histogramBins)))] += 1
    }
    let w = 900.0, h = 180.0, l = 70.0, b = 30.0, t = 18.0
    let barW = (w - l - 20) / Double(histogramBins + 1)
    // Bar heights on a log scale, so 232 slow queries among 250 000 stay visible.
    let top = log10(1 + Double(max(counts.max() ?? 1, 1)))
    var s = "<svg class=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\">"
    s += "<line x1=\"\(l)\" x2=\"\(w - 20)\" y1=\"\(h - b)\" y2=\"\(h - b)\" class=\"grid\"/>"
    for (i, c) in counts.enumerated() where c > 0 {
        let bh = max(2, (h - b - t) * log10(1 + Double(c)) / top)
        let bx = l + barW * Double(i)
        let lost = i == histogramBins
        let slow = !lost && Double(i) / 4 + log10(latencyFloor) >= 0  // bins from 1 s up
        let range: String
        if lost { range = "never answered" } else {
            let lo = pow(10, log10(latencyFloor) + Double(i) / 4), hi = pow(10, log10(latencyFloor) + Double(i + 1) / 4)
            range = "\(humanDuration(lo)) – \(humanDuration(hi))"
        }
        s += "<rect x=\"\(f1(bx + 1))\" y=\"\(f1(h - b - bh))\" width=\"\(f1(barW - 2))\" height=\"\(f1(bh))\" class=\"\(lost ? "bar lostbar" : slow ? "bar slowbar" : "bar")\"><title>\(c) queries: \(esc(range))</title></rect>"
        s += "<text x=\"\(f1(bx + barW / 2))\" y=\"\(f1(h - b - bh - 4))\" text-anchor=\"middle\" class=\"axis\">\(c)</text>"
    }
    for (i, (_, name)) in decadeLabels.enumerated() where i < decadeLabels.count - 1 {
        s += "<text x=\"\(f1(l + barW * Double(i * 4)))\" y=\"\(h - 10)\" class=\"axis\">\(name)</text>"
    }
    s += "<text x=\"\(f1(l + barW * (Double(histogramBins) + 0.5)))\" y=\"\(h - 10)\" text-anchor=\"middle\" class=\"axis\">none</text>"
    return s + "</svg>"
}
