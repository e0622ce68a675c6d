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
    public static let takesEveryAnswer = true
    /// Chains with fewer distinct NXDOMAIN names than this are not reported.
    public static let minimumSteps = 2
    /// How far back (seconds) an NXDOMAIN can belong to a later successful lookup.
    static let window = 30.0

    struct NX {
        var name: String; var query: FrameRef?; var answer: FrameRef
        /// `leadingLabel(name)`: a walk's steps all start with the resolved name's first label.
        var lead: UInt64
    }

    /// FNV-1a of a name's first label (the bytes before the first '.'): two names whose values
    /// differ cannot be steps of one walk (`isExpansion` needs a common leading label).
    static func leadingLabel(_ name: String) -> UInt64 {
        var s = name  // `withUTF8`: the contiguous storage, not the view's iterator (issue 11)
        return s.withUTF8 { b in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for c in b {
                if c == 46 { break }
                h = (h ^ UInt64(c)) &* 0x100_0000_01b3
            }
            return h
        }
    }
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
        if case .dnsProblem(let t, _) = event, t.response == nil { observe(answered: t) }
        if case .dnsFragmentsLost(let t, _, _) = event, t.response == nil { observe(answered: t) }
    }

    public mutating func answered(_ t: DNSTransaction, _ context: AnalysisContext, report: (Finding) -> Void) {
        observe(answered: t)
    }

    public mutating func finish(_ context: AnalysisContext, report: (Finding) -> Void) {
        findings().forEach(report)
    }

    /// True when `y` is `b.S1` and `x` is `b.S2` (or `b`) for the same leading labels `b` and a
    /// suffix S2 that is a proper suffix of S1: `x` is a later step of the same search walk.
    /// Compares UTF-8 bytes in place (no allocation), O(length).
    public static func isExpansion(_ y: String, of x: String) -> Bool {
        guard y.utf8.count > x.utf8.count else { return false }
        var y = y, x = x  // `withUTF8` on a native string reads its storage without a copy
        return y.withUTF8 { yb in x.withUTF8 { xb in isExpansion(yb, of: xb) } }
    }

    static func isExpansion(_ y: UnsafeBufferPointer<UInt8>, of x: UnsafeBufferPointer<UInt8>) -> Bool {
        guard y.count > x.count else { return false }
        // b is x's first `cut` bytes, cut at a label boundary of x (a '.', or x's end); y must
        // start with b, so only cuts within the common prefix of x and y can match.
        var common = 0
        while common < x.count, x[common] == y[common] { common += 1 }
        var cut = 0
        while cut <= common {
            if (cut == x.count || x[cut] == 46), y[cut] == 46 {
                // S2 = x[cut...] ("" or ".svc.cluster.local"); y = b "." labels S2, one label at least.
                let s2 = x.count - cut
                if y.count - cut > s2 + 1 {
                    var i = 0
                    while i < s2, y[y.count - s2 + i] == x[cut + i] { i += 1 }
                    if i == s2 { return true }
                }
            }
            cut += 1
        }
        return false
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
            // In place: the client's list is appended where it is stored, not copied.
            let nx = NX(name: name, query: t.firstSent, answer: answer, lead: Self.leadingLabel(name))
            Self.note(nx, in: &recent[client, default: []])
            return
        }
        guard timedOut || t.rcode == .noError, let l = recent[client], !l.isEmpty else { return }
        // Counted before any array is made: most answers end no walk.
        let lead = Self.leadingLabel(name)
        func isStep(_ n: NX) -> Bool { n.lead == lead && Self.isExpansion(n.name, of: name) }
        var steps = 0
        for n in l where isStep(n) { steps += 1 }
        guard steps >= Self.minimumSteps else { return }
        let chain = l.filter(isStep)
        recent.modify(client) { $0.removeAll(where: isStep) }
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

    /// Adds an NXDOMAIN to a client's recent list (once per name, the newest 32 kept).
    private static func note(_ nx: NX, in l: inout [NX]) {
        guard !l.contains(where: { $0.lead == nx.lead && $0.name == nx.name }) else { return }
        if l.count >= 32 { l.removeFirst() }
        l.append(nx)
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
