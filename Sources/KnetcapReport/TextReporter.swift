import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// The terminal output: one tcpdump-style line per packet (`PacketLinePrinter`; none with
/// `-q` or `-w`), a one-line notice per finding streamed during a live capture, and the
/// diagnosis after the packets.
public final class TextReporter: Reporter {
    let out: TextOutput
    @exclusivity(unchecked) var printer: PacketLinePrinter?  // one thread; no per-packet access checks
    let utcOffset: (Int64) -> Int
    let style: TextStyle

    /// `printer` nil: the diagnosis only. `utcOffset` gives the local offset (seconds) at a
    /// capture time, for the clock times of the diagnosis. `style` colours severities and kinds
    /// (`--color`; plain by default).
    public init(output: TextOutput, printer: PacketLinePrinter?, utcOffset: @escaping (Int64) -> Int = localUTCOffset,
                style: TextStyle = .plain) {
        out = output
        self.printer = printer
        self.utcOffset = utcOffset
        self.style = style
    }

    public func packet(_ p: Packet) {
        guard printer != nil else { return }
        printer?.write(p, to: &out.buffer)
        out.flushIfFull()
    }

    public func skipped(_ p: Packet) { printer?.skip(p) }

    public var wantsPackets: Bool { printer != nil }

    public func finding(_ f: Finding) {
        out.line("knetcap: \(style.severity(f.severity, f.severity.rawValue)) \(style.bold(f.kind)): \(f.summary)")
        out.flush()
    }

    public func packetsDone() { out.flush() }

    public func finish(_ r: Report) {
        out.flush()
        // A read that failed before its first packet gets no diagnosis, only its error.
        if r.packets > 0 || !r.readFailed { writeDiagnosis(r, to: out, utcOffset: utcOffset, style: style) }
        out.flush()
    }
}

/// `1 packet`, `N packets`: tcpdump's count words (its PLURAL_SUFFIX), for every message.
public func packetCount(_ n: Int) -> String { n == 1 ? "1 packet" : "\(n) packets" }

/// The local time zone's UTC offset (seconds) at `t`, from the C library, asked once per hour
/// of capture time by the packet printer.
public func localUTCOffset(_ t: Int64) -> Int {
    var tt = time_t(t)
    var tmv = tm()
    guard localtime_r(&tt, &tmv) != nil else { return 0 }
    return Int(tmv.tm_gmtoff)
}

func writeDiagnosis(_ d: Report, to out: TextOutput, utcOffset: (Int64) -> Int, style: TextStyle = .plain) {
    let span = d.captureSeconds
    let findings = d.findings
    if findings.isEmpty {
        out.line("knetcap: no faults found in \(packetCount(d.packets)) (\(String(format: "%.3f", span)) s of capture)")
        for l in d.limitLines { out.line("knetcap: " + l) }
        return
    }
    out.line("")
    let total = d.findingCount
    out.line("== knetcap diagnosis: \(total) finding\(total == 1 ? "" : "s") in \(packetCount(d.packets)) (\(String(format: "%.3f", span)) s of capture) ==")
    for l in d.limitLines { out.line(l) }
    let groups = Dictionary(grouping: findings, by: \.kind)
    for severity in Severity.allCases {
        let known: [String] = Diagnosis.kinds.filter { groups[$0]?.first?.severity == severity }
        let other: [String] = groups.keys.filter { k in !Diagnosis.kinds.contains(k) && groups[k]?.first?.severity == severity }.sorted()
        let kinds = known + other
        guard !kinds.isEmpty else { continue }
        out.line("")
        out.line(style.severity(severity, "-- \(severity.rawValue.uppercased()) --"))
        for kind in kinds {
            guard let g = groups[kind], let head = g.first else { continue }
            let extra = d.suppressed[kind] ?? 0
            let occurrences = g.reduce(0) { $0 + $1.occurrences } + extra
            let count = g.count + extra
            out.line("")
            out.line("\(style.bold(kind))  x\(count)\(occurrences != count ? " (\(occurrences) occurrences)" : "")\(extra > 0 ? " (the first \(g.count) kept)" : "")  \(head.title)")
            if g.count > 1 {
                let span = d.span(of: kind), first = span?.lowerBound ?? 0, last = span?.upperBound ?? 0
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
            if count > shown.count {
                out.line("  ... and \(count - shown.count) more (--json lists \(extra > 0 ? "the first \(g.count)" : "every one"))")
            }
            out.line("  confidence: \(head.confidence.level.rawValue) - \(head.confidence.reason)")
            out.line("  fix:")
            for f in head.fix { out.line("    - \(f)") }
        }
    }
}

/// `HH:MM:SS.ffffff` local time for a capture timestamp (truncated to µs, as packet lines).
/// Beyond ±2^40 s no calendar time is meant (hostile timestamps): tcpdump's words, no trap.
func clock(_ t: Timestamp, _ utcOffset: (Int64) -> Int) -> String {
    guard t.seconds.magnitude < 1 << 40 else { return "[Error converting time]" }
    let local = (t.seconds + Int64(utcOffset(t.seconds))) % 86400
    let l = local < 0 ? local + 86400 : local
    return String(format: "%02d:%02d:%02d.%06d", Int(l / 3600), Int(l / 60 % 60), Int(l % 60), Int(t.nanoseconds / 1000))
}

/// `HH:MM:SS.ffffff` local time for an epoch time in seconds.
func clock(_ t: Double, _ utcOffset: (Int64) -> Int) -> String {
    guard t.isFinite, abs(t) < Double(1 << 40) else { return "[Error converting time]" }
    let s = Int64(t.rounded(.down))
    let us = min(999_999, Int(((t - Double(s)) * 1e6 + 0.05).rounded(.down)))  // truncate, like the packet lines
    let local = (s + Int64(utcOffset(s))) % 86400
    let l = local < 0 ? local + 86400 : local
    return String(format: "%02d:%02d:%02d.%06d", Int(l / 3600), Int(l / 60 % 60), Int(l % 60), us)
}
