import KnetcapWire
import KnetcapDissect

/// `dns.search-expansion`: an ndots-driven walk of the resolv.conf search list — a chain of
/// NXDOMAIN answers for `name.<suffix>` (`name.ns.svc.cluster.local`, `name.svc.cluster.local`,
/// `name.cluster.local`, cloud suffixes ...) from one client before the name resolves.
/// Kubernetes pods get `options ndots:5`, so every name with fewer than five dots walks the
/// list first. One finding per resolved name, with the chain of its first occurrence (per-step
/// times) and the total cost over all occurrences.
public struct DNSSearchExpansionAnalyzer {
    public static let kind = "dns.search-expansion"
    /// Chains with fewer distinct NXDOMAIN names than this are not reported.
    public static let minimumSteps = 2
    /// How far back (seconds) an NXDOMAIN can belong to a later successful lookup.
    static let window = 30.0

    struct NX { var name: String; var labels: [Substring]; var query: FrameRef?; var answer: FrameRef }
    struct Group {
        var occurrences = 0
        var wastedQueries = 0
        var totalCost = 0.0
        var maxCost = 0.0
        var sample: (chain: [NX], answer: FrameRef, client: String, server: String, first: FrameRef?)?
    }

    private var recent: [IPAddress: [NX]] = [:]
    private var queries: [QueryKey: FrameRef] = [:]
    private var groups: [String: Group] = [:]
    private var order: [String] = []
    private var nextSweep: Int64 = .min

    struct QueryKey: Hashable { var client: Endpoint; var id: UInt16 }

    public init() {}

    /// True when `y` is `b.S1` and `x` is `b.S2` (or `b`) for the same leading labels `b` and a
    /// suffix S2 that is a proper suffix of S1: `x` is a later step of the same search walk.
    static func isExpansion(_ y: [Substring], of x: [Substring]) -> Bool {
        guard y.count > x.count else { return false }
        for b in 1...x.count {
            guard y[b - 1] == x[b - 1] else { return false }
            let rx = x[b...], ry = y[b...]
            if ry.count > rx.count && ry.suffix(rx.count).elementsEqual(rx) { return true }
        }
        return false
    }

    mutating func observe(_ p: Packet) {
        guard let dns = p.dns, let src = p.sourceAddress, let dst = p.destinationAddress,
              let sp = p.sourcePort, let dp = p.destinationPort else { return }
        let now = p.timestamp
        if now.seconds >= nextSweep {
            recent = recent.compactMapValues { l in
                let k = l.filter { now - $0.answer.time <= Self.window }
                return k.isEmpty ? nil : k
            }
            queries = queries.filter { now - $0.value.time <= Self.window }
            nextSweep = now.seconds + 10
        }
        if !dns.isResponse {
            if dp == 53 { queries[QueryKey(client: Endpoint(src, sp), id: dns.id)] = FrameRef(frame: p.number, time: now) }
            return
        }
        guard sp == 53, let q = dns.firstQuestion, q.type == .a || q.type == .aaaa,
              let name = dns.name(at: q.nameOffset)?.lowercased() else { return }
        let answer = FrameRef(frame: p.number, time: now)
        let query = queries[QueryKey(client: Endpoint(dst, dp), id: dns.id)]
        if dns.rcode == .nxDomain {
            var l = recent[dst] ?? []
            if !l.contains(where: { $0.name == name }) {
                if l.count >= 32 { l.removeFirst() }
                l.append(NX(name: name, labels: name.split(separator: "."), query: query, answer: answer))
            }
            recent[dst] = l
            return
        }
        guard dns.rcode == .noError, var l = recent[dst], !l.isEmpty else { return }
        let x = name.split(separator: ".")
        let chain = l.filter { Self.isExpansion($0.labels, of: x) }
        guard chain.count >= Self.minimumSteps else { return }
        l.removeAll { n in chain.contains { $0.name == n.name } }
        recent[dst] = l
        let start = chain.compactMap { $0.query?.time ?? $0.answer.time }.min() ?? now
        let cost = now - start
        if groups[name] == nil { order.append(name) }
        var g = groups[name] ?? Group()
        g.occurrences += 1
        g.wastedQueries += chain.count
        g.totalCost += cost
        g.maxCost = max(g.maxCost, cost)
        if g.sample == nil {
            g.sample = (chain, answer, "\(dst)", "\(src):\(sp)", query)
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
            ev.append(Evidence(frame: s.answer.frame, time: s.answer.time, note: "\(name) resolves"))
            let steps = s.chain.count
            let avg = g.totalCost / Double(g.occurrences)
            return Finding(
                kind: Self.kind, title: "DNS search-list expansion (ndots) before the name resolves",
                severity: steps >= 3 || avg > 0.1 ? .warning : .info,
                confidence: Confidence(.high, "\(steps) NXDOMAIN answers for \(name) with search suffixes appended, from the same client, before \(name) resolved"),
                summary: "\(name): \(steps) NXDOMAIN steps first (\(s.chain.map(\.name).joined(separator: ", "))); seen \(g.occurrences)x, \(fmt(avg * 1000, 3)) ms per lookup on average",
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
