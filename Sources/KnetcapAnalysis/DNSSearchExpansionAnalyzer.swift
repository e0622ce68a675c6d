import KnetcapWire
import KnetcapDissect

/// `dns.search-expansion`: an ndots-driven walk of the resolv.conf search list — a chain of
/// NXDOMAIN answers for `name.<suffix>` (`name.ns.svc.cluster.local`, `name.svc.cluster.local`,
/// `name.cluster.local`, cloud suffixes ...) from one client before the name resolves.
/// Kubernetes pods get `options ndots:5`, so every name with fewer than five dots walks the
/// list first. One finding per resolved name, with the chain of its first occurrence (per-step
/// times) and the total cost over all occurrences. A walk can also end in a query never
/// answered (glibc res_search stops at a timeout, musl at any failure): the chain is reported
/// for that name too, beside the timeout the DNS timeout analyser names for its query.
public struct DNSSearchExpansionAnalyzer: Analyzer {
    public static let kind = "dns.search-expansion"
    public static let kinds = [kind]
    /// Chains with fewer distinct NXDOMAIN names than this are not reported.
    public static let minimumSteps = 2
    /// How far back (seconds) an NXDOMAIN can belong to a later successful lookup.
    static let window = 30.0

    struct NX { var name: String; var query: FrameRef?; var answer: FrameRef }
    struct Group {
        var occurrences = 0
        var wastedQueries = 0
        var totalCost = 0.0
        var maxCost = 0.0
        var sample: (chain: [NX], answer: FrameRef, client: String, server: String, first: FrameRef?)?
        /// The first occurrence ended in a query never answered (`answer` is its last transmission).
        var timedOut = false
    }

    private var recent: [IPAddress: [NX]] = [:]
    private var groups: [String: Group] = [:]
    private var order: [String] = []
    private var nextSweep: Int64 = .min

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        if case .dnsAnswered(let t) = event { observe(answered: t) }
        if case .dnsProblem(let t, _) = event, t.response == nil { observe(answered: t) }
        if case .dnsFragmentsLost(let t, _, _) = event, t.response == nil { observe(answered: t) }
    }

    public mutating func finish(_ context: AnalysisContext, report: (Finding) -> Void) {
        findings().forEach(report)
    }

    /// True when `y` is `b.S1` and `x` is `b.S2` (or `b`) for the same leading labels `b` and a
    /// suffix S2 that is a proper suffix of S1: `x` is a later step of the same search walk.
    /// Compares UTF-8 bytes in place (no allocation).
    public static func isExpansion(_ y: String, of x: String) -> Bool {
        let yu = y.utf8, xu = x.utf8
        guard yu.count > xu.count else { return false }
        // Every label boundary of x (each '.', and the end) splits x into b and S2.
        var cut = 0
        for c in xu {
            cut += 1
            if c == 46 { if matches(yu, xu, b: cut - 1) { return true } }
        }
        return matches(yu, xu, b: xu.count)
    }

    /// y starts with x's first `b` bytes and a dot, and ends with x's bytes after `b` (a dot
    /// and S2), leaving at least one label in between.
    private static func matches(_ y: String.UTF8View, _ x: String.UTF8View, b: Int) -> Bool {
        guard y.count > b, y[y.index(y.startIndex, offsetBy: b)] == 46,
              y.prefix(b).elementsEqual(x.prefix(b)) else { return false }
        let s2 = x.dropFirst(b)  // "" or ".svc.cluster.local"
        guard y.count - b > s2.count + 1 else { return false }
        if s2.isEmpty { return true }
        return y.suffix(s2.count).elementsEqual(s2)
    }

    /// Takes each answered DNS transaction (from the DNS transaction tracker, which decoded
    /// the query name once, lower-cased), and each never answered (the end of a walk).
    mutating func observe(answered t: DNSTransaction) {
        guard t.qtype == .a || t.qtype == .aaaa else { return }
        let timedOut = t.response == nil
        let answer = t.response ?? t.lastSent
        let now = answer.time
        if now.seconds >= nextSweep {
            recent = recent.compactMapValues { l in
                let k = l.filter { now - $0.answer.time <= Self.window }
                return k.isEmpty ? nil : k
            }
            nextSweep = now.seconds.saturatingAdd(10)
        }
        let client = t.key.client.address
        let name = asciiLowercased(t.qname)  // the search list is compared without case
        if t.rcode == .nxDomain {
            var l = recent[client] ?? []
            if !l.contains(where: { $0.name == name }) {
                if l.count >= 32 { l.removeFirst() }
                l.append(NX(name: name, query: t.firstSent, answer: answer))
            }
            recent[client] = l
            return
        }
        guard timedOut || t.rcode == .noError, var l = recent[client], !l.isEmpty else { return }
        let chain = l.filter { Self.isExpansion($0.name, of: name) }
        guard chain.count >= Self.minimumSteps else { return }
        l.removeAll { n in chain.contains { $0.name == n.name } }
        recent[client] = l
        let start = chain.compactMap { $0.query?.time ?? $0.answer.time }.min() ?? now
        let cost = now - start
        if groups[name] == nil { order.append(name) }
        var g = groups[name] ?? Group()
        g.occurrences += 1
        g.wastedQueries += chain.count
        g.totalCost += cost
        g.maxCost = max(g.maxCost, cost)
        if g.sample == nil {
            g.sample = (chain, answer, "\(client)", "\(t.key.server.text)", t.firstSent)
            g.timedOut = timedOut
        }
        groups[name] = g
    }

    func findings() -> [Finding] {
        order.compactMap { name in
            guard let g = groups[name], let s = g.sample else { return nil }
            var ev: [Evidence] = []
            for n in s.chain {
                if let q = n.query { ev.append(Evidence(frame: q.frame, time: q.time, note: "query \(n.name)")) }
                ev.append(Evidence(frame: n.answer.frame, time: n.answer.time,
                                   note: "NXDOMAIN for \(n.name)" + (n.query.map { " after \(fmt(n.answer.time - $0.time, 6)) s" } ?? "")))
            }
            if let q = s.first { ev.append(Evidence(frame: q.frame, time: q.time, note: "query \(name)")) }
            if !g.timedOut {
                ev.append(Evidence(frame: s.answer.frame, time: s.answer.time, note: "\(name) resolves"))
            } else if s.answer.frame != s.first?.frame {
                ev.append(Evidence(frame: s.answer.frame, time: s.answer.time, note: "query \(name) sent again, never answered"))
            }
            let end = g.timedOut ? "before the lookup timed out on \(name)" : "before \(name) resolved"
            let steps = s.chain.count
            let avg = g.totalCost / Double(g.occurrences)
            return Finding(
                kind: Self.kind, title: g.timedOut ? "DNS search-list expansion (ndots) ending in a timeout"
                                                   : "DNS search-list expansion (ndots) before the name resolves",
                severity: steps >= 3 || avg > 0.1 ? .warning : .info,
                confidence: Confidence(.high, "\(steps) NXDOMAIN answers for \(name) with search suffixes appended, from the same client, \(end)"),
                summary: "\(name): \(steps) NXDOMAIN steps first (\(s.chain.map(\.name).joined(separator: ", ")))"
                    + (g.timedOut ? ", then no answer" : "") + "; seen \(g.occurrences)x, \(fmt(avg * 1000, 3)) ms per lookup on average",
                client: s.client, server: s.server,
                measurements: ["steps": Double(steps), "occurrences": Double(g.occurrences),
                               "avg_cost_s": avg, "max_cost_s": g.maxCost, "wasted_queries": Double(g.wastedQueries)],
                evidence: ev.sorted { $0.frame < $1.frame },
                fix: [
                    "query the fully qualified name with a trailing dot (`\(name).`) so the search list is skipped",
                    "lower ndots for the pod (Pod spec dnsConfig.options: name: ndots, value: \"2\")",
                    "enable CoreDNS `autopath` (with `pods verified`) to answer the first search step directly",
                    "a node-local DNS cache (NodeLocal DNSCache) makes the NXDOMAIN steps cheap",
                ],
                occurrences: g.occurrences, endpoint: name)
        }
    }
}
