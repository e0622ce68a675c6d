import KnetcapWire
import KnetcapDissect

/// Names DNS timeouts.
///
/// - `dns.conntrack-race`: two queries (typically A and AAAA) left one client socket within
///   `DNSTransactionTracker.parallelWindow`, one was answered and the other was not, and the
///   unanswered one was re-sent (same ID, same port) after the resolver timeout or never
///   answered. This is the Linux conntrack insertion race on the DNS DNAT: both UDP packets
///   share a 5-tuple, one loses the insert and its reply is dropped (weave/kubernetes #56903).
/// - `dns.timeout`: a query never answered, or answered only after retransmission, without
///   that parallel shape.
///
/// A retried query answered long after its last try (`slowAfterLastTry`) is a slow server's
/// (the answer to the first copy may have been late, not lost: one id, the bytes do not say
/// which copy an answer is for): the finding says so, with the server's latency as the first
/// fix, and a conntrack race with that shape is only of medium confidence. A query answered
/// before any retransmission is healthy however late.
///
/// The retry gap names the resolver: ≈5 s is glibc's default `timeout:5`; ≈2.5 s is musl's
/// (5 s split over its 2 attempts).
public struct DNSTimeoutAnalyzer: Analyzer {
    public static let kinds = ["dns.conntrack-race", "dns.timeout"]

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .dnsProblem(let t, let end) = event else { return }
        var f = Self.finding(for: t, end: end)
        if let live = context.live {
            let d = live.deltas(LiveProbe.Counter.conntrackRace)
            f.observed.append("\(live.source): " + (d.isEmpty ? "conntrack insert_failed/drop did not rise (or are not available here)" : d.joined(separator: ", ")))
        }
        report(f)
    }

    /// An answer this long (seconds) after the last transmission of a retried query is a slow
    /// server's, not one round trip after a loss (a server answers in milliseconds; a cache
    /// forwarding upstream in tens of them).
    static let slowAfterLastTry = 0.2

    /// Which resolver a retry gap (seconds) points to.
    enum Resolver { case glibc, musl, unknown }
    static func resolver(forGap g: Double) -> Resolver {
        if g >= 4.5 && g <= 5.6 { return .glibc }
        if g >= 2.2 && g <= 2.9 { return .musl }
        return .unknown
    }

    static func finding(for t: DNSTransaction, end: Timestamp) -> Finding {
        let client = "\(t.key.client.text)"
        let server = "\(t.key.server.text)"
        let proto = t.key.overTCP ? "TCP" : "UDP"
        let q = "\(t.qtype.name) \(t.qname)"
        var ev: [Evidence] = []
        var m: [String: Double] = [:]
        let first = t.firstSent
        var isRace = false
        if t.partner != nil, !t.key.overTCP, let pa = t.partnerAnswered {
            isRace = t.response.map { pa.time < $0.time } ?? true
        }

        if let ps = t.partnerSent, isRace {
            let gap = abs(first.time - ps.time)
            m["parallel_gap_s"] = gap
            let (a, b) = ps.frame < first.frame ? (ps, first) : (first, ps)
            let aType = ps.frame < first.frame ? (t.partnerType?.name ?? "?") : t.qtype.name
            let bType = ps.frame < first.frame ? t.qtype.name : (t.partnerType?.name ?? "?")
            ev.append(Evidence(frame: a.frame, time: a.time, note: "\(aType) query sent from \(client)"))
            ev.append(Evidence(frame: b.frame, time: b.time,
                               note: "\(bType) query sent from the same socket \(fmt(gap * 1000, 3)) ms after the \(aType) query"))
            if let pa = t.partnerAnswered {
                ev.append(Evidence(frame: pa.frame, time: pa.time,
                                   note: "\(t.partnerType?.name ?? "?") answered after \(fmt(pa.time - ps.time, 6)) s"))
            }
            if let pr = t.partnerResent {
                ev.append(Evidence(frame: pr.frame, time: pr.time,
                                   note: "\(t.partnerType?.name ?? "?") re-sent with its old id although answered (glibc falls back to one query at a time)"))
            }
        } else {
            ev.append(Evidence(frame: first.frame, time: first.time, note: "\(q) query sent from \(client) (id \(t.key.id))"))
        }

        var gapText = ""
        var resolver = Resolver.unknown
        if !t.resent.isEmpty {
            let gap = t.resent[0].time - first.time
            m["retransmit_gap_s"] = gap
            m["transmissions"] = Double(t.transmissionCount)  // a count: all of them, kept or not
            resolver = Self.resolver(forGap: gap)
            let who: String
            switch resolver {
            case .glibc: who = " (glibc's default 5 s timeout)"
            case .musl: who = " (musl's 2.5 s retry)"
            case .unknown: who = ""
            }
            gapText = "retransmitted after \(fmt(gap, 3)) s\(who)"
            for r in t.resent {
                ev.append(Evidence(frame: r.frame, time: r.time,
                                   note: "\(t.qtype.name) query re-sent (same id \(t.key.id), same port), \(fmt(r.time - first.time, 3)) s after the first"))
            }
            if t.transmissionCount > 1 + t.resent.count {
                gapText += ", \(t.transmissionCount) transmissions in all"
            }
        }
        // A retransmission answered in one round trip says the first copy or its answer was
        // lost; answered long after the last try, the server itself is slow, and the answer to
        // the first copy may simply have come after the client's timeout (same id: the bytes
        // do not say which copy an answer is for).
        var slowBy: Double?
        if let r = t.response {
            m["resolution_time_s"] = r.time - first.time
            var note = "\(t.qtype.name) answered (\(t.rcode?.name ?? "?")) \(fmt(r.time - first.time, 3)) s after the first query"
            if !t.resent.isEmpty, r.time - t.lastSent.time >= Self.slowAfterLastTry {
                slowBy = r.time - t.lastSent.time
                m["answered_after_last_try_s"] = r.time - t.lastSent.time
                note += ", \(fmt(r.time - t.lastSent.time, 3)) s after the last try"
            }
            ev.append(Evidence(frame: r.frame, time: r.time, note: note))
        } else {
            m["waited_s"] = end - first.time
        }
        let slowText = slowBy.map { "the server took \(fmt($0, 3)) s to answer even the last try: it is slow, and its answer to the first copy may have been late rather than lost" }
        let outcome = t.response == nil
            ? "never answered (capture went on \(fmt(end - t.lastSent.time, 1)) s after the last try)"
            : "answered only after retransmission" + (slowBy.map { ", \(fmt($0, 3)) s after the last try (a slow server)" } ?? "")
        let slowFix = slowBy.map {
            "\(server) answered \(fmt($0, 3)) s after the last try: find why it is slow (CoreDNS: `coredns_dns_request_duration_seconds`, the `forward` upstream's latency, CPU throttling of its pods); a longer client `options timeout:` only hides it"
        }

        let fixes: [String]
        let title: String
        let kind: String
        let severity = Severity.critical
        var confidence: Confidence
        if isRace {
            kind = "dns.conntrack-race"
            title = "DNS reply lost to the conntrack insertion race" + (resolver == .musl ? " (2.5-second timeout)" : " (5-second timeout)")
            let why = "\(t.partnerType?.name ?? "?") and \(t.qtype.name) left one socket \(fmt((m["parallel_gap_s"] ?? 0) * 1000, 3)) ms apart; \(t.partnerType?.name ?? "?") was answered, \(t.qtype.name) was not"
            // When the partner's answer reached the capture before this query did, a resolver
            // that sends one query at a time (single-request) would look the same.
            let overtaken = t.partnerAnswered.map { $0.time < first.time } ?? false
            let glibcFallback = t.partnerResent != nil && resolver == .glibc
            switch resolver {
            case .glibc where !overtaken || glibcFallback, .musl where !overtaken:
                var reason = why + "; the retry came at the \(resolver == .glibc ? "glibc" : "musl") resolver timeout"
                if let pr = t.partnerResent {
                    reason += "; the answered \(t.partnerType?.name ?? "?") was re-sent with its old id in frame \(pr.frame), glibc's fallback after a parallel send times out"
                }
                confidence = Confidence(.high, reason)
            default:
                var reason = why
                if overtaken { reason += "; the \(t.partnerType?.name ?? "?") reply reached the capture before the \(t.qtype.name) query left, so a one-query-at-a-time resolver cannot be ruled out" }
                if resolver == .unknown { reason += !t.resent.isEmpty ? "; the retry gap matches no known resolver default" : "; no retry was seen" }
                confidence = Confidence(.medium, reason)
            }
            if let slowText {
                confidence = Confidence(.medium, confidence.reason + "; but " + slowText)
            }
            fixes = [
                resolver == .musl
                    ? "musl (Alpine) ignores single-request-reopen: run a node-local DNS cache (NodeLocal DNSCache) or switch the image to glibc"
                    : "glibc: add `options single-request-reopen` to the pod's resolv.conf (Pod spec dnsConfig.options: name: single-request-reopen), so A and AAAA use separate sockets",
                "or `options use-vc` to send DNS over TCP (no UDP conntrack race)",
                "run a node-local DNS cache (NodeLocal DNSCache) so pod queries skip the conntrack DNAT to kube-dns",
                "confirm on the node: `conntrack -S` shows insert_failed rising",
            ] + (slowFix.map { [$0] } ?? [])
        } else {
            kind = "dns.timeout"
            title = slowBy == nil ? "DNS query timed out" : "DNS answer came only after the client's timeout"
            if t.key.overTCP {
                confidence = Confidence(.medium, "DNS over TCP: the retransmission may be TCP's own")
            } else if !t.resent.isEmpty {
                confidence = Confidence(resolver == .unknown ? .medium : .high,
                                        "one query in flight on the socket, re-sent with the same id after \(fmt(m["retransmit_gap_s"] ?? 0, 3)) s"
                                            + (slowText.map { "; " + $0 } ?? ""))
            } else {
                confidence = Confidence(.medium, "no reply within \(fmt(end - first.time, 1)) s of capture and no retransmission seen")
            }
            fixes = (slowFix.map { [$0] } ?? []) + [
                "check that the DNS server \(server) is reachable from \(client) and healthy (CoreDNS pods, their logs and load)",
                "look for drops on the path: NetworkPolicy, node firewall, conntrack table full (`conntrack -S`, dmesg 'nf_conntrack: table full')",
                "a node-local DNS cache (NodeLocal DNSCache) shortens the path and absorbs server restarts",
            ]
        }
        let summary = "\(client) -> \(server) \(proto) \(q) (id \(t.key.id)): \(outcome)" + (gapText.isEmpty ? "" : ", \(gapText)")
        return Finding(kind: kind, title: title, severity: severity, confidence: confidence, summary: summary,
                       client: client, server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame }, fix: fixes)
    }
}

/// `x` with `digits` decimals.
func fmt(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    // Beyond Int's range (gaps between hostile timestamps) `Int(_:)` would trap.
    guard abs(x) * scale < 9.0e18 else { return "\(x)" }
    let r = (abs(x) * scale).rounded()
    let ip = Int(r / scale)
    var frac = String(Int(r.truncatingRemainder(dividingBy: scale)))
    while frac.count < digits { frac = "0" + frac }
    return (x < 0 ? "-" : "") + String(ip) + (digits > 0 ? "." + frac : "")
}
