import KnetcapWire
import KnetcapDissect

/// `dns.fragment-lost`: a DNS answer too big for the path MTU left the server as IP fragments
/// and some never arrived, so the client re-sent its query or gave up. Typical of EDNS0
/// answers (buffer 4096) over overlay networks (VXLAN/Geneve take 50 bytes off the MTU) or
/// through firewalls and security groups that drop non-first fragments (RFC 8900 §3; DNS Flag
/// Day 2020 advises an EDNS0 buffer of 1232 bytes).
///
/// Evidence that decides: a fragmented UDP datagram from the server to the client, seen in
/// part and never completed (`FragmentLedger`), while the query waited; a first fragment that
/// was seen must carry the query's ports and DNS ID. Without that, the same retry is a plain
/// `dns.timeout`.
public struct DNSFragmentLostAnalyzer: Analyzer {
    public static let kind = "dns.fragment-lost"
    public static let kinds = [kind]

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .dnsFragmentsLost(let t, let lost, let end) = event else { return }
        report(Self.finding(t, lost, end: end))
    }

    /// `a; b` with repeats counted: `its last fragment never arrived (2 answers)`.
    static func counted(_ items: [String]) -> String {
        var order: [String] = [], n: [String: Int] = [:]
        for i in items { if n[i] == nil { order.append(i) }; n[i, default: 0] += 1 }
        return order.map { n[$0]! > 1 ? "\($0) (\(n[$0]!) answers)" : $0 }.joined(separator: "; ")
    }

    static func finding(_ t: DNSTransaction, _ lost: [IncompleteDatagram], end: Timestamp) -> Finding {
        let client = t.key.client.text, server = t.key.server.text
        let q = "\(t.qtype.name) \(t.qname)"
        let first = t.firstSent
        var ev = [Evidence(frame: first.frame, time: first.time, note: "\(q) query sent from \(client) (id \(t.key.id))")]
        var m: [String: Double] = [:]
        var what: [String] = []
        for d in lost {
            let missing: String
            if !d.sawFirst { missing = "its first fragment (with the UDP and DNS headers) never arrived" }
            else if d.totalLength == nil { missing = "its last fragment never arrived" }
            else { missing = "\((d.totalLength ?? 0) - d.bytesSeen) of its \(d.totalLength ?? 0) bytes never arrived" }
            what.append(missing)
            for (i, f) in d.frames.enumerated() {
                ev.append(Evidence(frame: f.frame, time: f.time, note: i == 0
                    ? "fragment of a UDP datagram from \(t.key.server.address) to \(t.key.client.address), \(fmt(f.time - first.time, 3)) s after the query; \(missing)"
                    : "another fragment of that datagram"))
            }
            m["fragments_seen"] = Double(d.fragmentCount) + (m["fragments_seen"] ?? 0)
            if let total = d.totalLength { m["datagram_bytes"] = Double(total) }
        }
        for r in t.resent {
            ev.append(Evidence(frame: r.frame, time: r.time, note: "\(t.qtype.name) query re-sent (same id \(t.key.id)), \(fmt(r.time - first.time, 3)) s after the first"))
        }
        var outcome: String
        if !t.resent.isEmpty {
            let gap = t.resent[0].time - first.time
            m["retransmit_gap_s"] = gap
            outcome = "the client re-sent the query after \(fmt(gap, 3)) s"
            switch DNSTimeoutAnalyzer.resolver(forGap: gap) {
            case .glibc: outcome += " (glibc's 5 s timeout)"
            case .musl: outcome += " (musl's 2.5 s retry)"
            case .unknown: break
            }
        } else {
            outcome = "the client gave up or never retried"
        }
        if let r = t.response {
            m["resolution_time_s"] = r.time - first.time
            ev.append(Evidence(frame: r.frame, time: r.time, note: "\(t.qtype.name) answered (\(t.rcode?.name ?? "?")) \(fmt(r.time - first.time, 3)) s after the first query"))
            outcome += "; answered \(fmt(r.time - first.time, 3)) s after the first query"
        } else {
            m["waited_s"] = end - first.time
            outcome += "; never answered"
        }
        let matchedByID = lost.contains { $0.dnsID == t.key.id }
        let why = matchedByID
            ? "the incomplete datagram's first fragment carries this query's ports and DNS id \(t.key.id)"
            : "a fragmented UDP datagram from the server to the client arrived in part while the query waited (its first fragment, which would name the DNS id, is missing; matched by addresses and time)"
        return Finding(
            kind: kind, title: "DNS answer lost in IP fragments", severity: .critical,
            confidence: Confidence(matchedByID ? .high : .medium, why),
            summary: "\(client) -> \(server) UDP \(q) (id \(t.key.id)): the answer was fragmented and \(Self.counted(what)); \(outcome)",
            client: client, server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "keep DNS answers under the path MTU: an EDNS0 UDP buffer of 1232 bytes (DNS Flag Day 2020) on the server (CoreDNS `bufsize 1232`) or the client (`dig +bufsize=1232`)",
                "check the MTU on the path: overlays (VXLAN, Geneve, IP-in-IP, WireGuard) need the pod MTU below the node's (e.g. 1450 for VXLAN on 1500)",
                "allow IP fragments (and ICMP fragmentation-needed / packet-too-big) through firewalls, security groups and NetworkPolicy implementations on the path",
                "or have the resolver retry large answers over TCP (`options use-vc` in resolv.conf)",
            ])
    }
}
