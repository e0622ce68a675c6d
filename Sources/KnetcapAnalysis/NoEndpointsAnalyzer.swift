import KnetcapWire
import KnetcapDissect

/// `svc.no-endpoints`: a connection or datagram to a Service address rejected before it reached
/// any backend, the shape of kube-proxy's rule for a Service without ready endpoints: iptables
/// mode `-A KUBE-SERVICES -d VIP -p tcp --dport P -j REJECT` (default
/// `--reject-with icmp-port-unreachable`; KUBE-EXTERNAL-SERVICES for NodePorts and external
/// IPs), nftables mode `ip daddr . meta l4proto . th dport vmap @no-endpoint-services` →
/// `goto reject-chain` → `reject` (ICMP / ICMPv6 port unreachable). Three shapes, each decided
/// by evidence the look-alike cannot produce:
///
/// - a SYN answered by ICMP/ICMPv6 destination unreachable (port unreachable or administratively
///   prohibited) quoting it: a host's TCP answers a SYN to a closed port with RST/ACK (RFC 9293
///   §3.10.7.1, Linux tcp_v4_send_reset), never with ICMP, so the ICMP is a netfilter REJECT
///   (nf_send_unreach) wherever it came from — the sender is the node or router that holds the
///   rule, or the destination's own firewall when the sender is the destination;
/// - a UDP datagram answered by ICMP port unreachable / prohibited from an address other than
///   the one it was sent to: a host with nothing on the port answers from its own address (and
///   a backend behind DNAT is translated back to the VIP, nf_nat_icmp_reply_translation), so a
///   different sender is a rule on the path. From the destination itself it is the host's own
///   "nothing listens on this UDP port" and is not named;
/// - a SYN answered by RST/ACK carrying the destination's address but with a higher IP TTL
///   (IPv6 hop limit) than that address's own SYN-ACK seen earlier in the capture: the RST was
///   built fewer hops away, by a `reject with tcp reset` rule (nf_reject_ipv4 copies the SYN's
///   destination address into the RST and sets the route's default TTL), not by the
///   destination's kernel. Without such a reference the RST cannot be told from the host's own
///   (both carry the same address, IP id 0, window 0) and stays `tcp.rst-unlistened-port`.
public struct NoEndpointsAnalyzer: Analyzer {
    public static let kind = "svc.no-endpoints"
    public static let kinds = [kind]

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        switch event {
        case .handshake(.unreachable(let h, let u)):
            report(Self.finding(syn: h, u, vips: context.vips))
        case .datagramUnreachable(let u) where u.isReject && !u.fromDestination:
            report(Self.finding(datagram: u, vips: context.vips))
        case .handshake(.refused(let h)) where Self.resetFromPath(h, vips: context.vips) && h.dnsTruncatedAnswer == nil:
            report(Self.finding(reset: h))
        default: break
        }
    }

    /// The RST/ACK arrived with a higher TTL than the server address's own SYN-ACK: built nearer.
    /// Not for a `--vip` address: its SYN-ACKs and RSTs come from backends on different nodes
    /// (after DNAT), whose hop counts differ anyway.
    static func resetFromPath(_ h: Handshake, vips: Set<IPAddress>) -> Bool {
        guard !vips.contains(h.server.address), let r = h.resetTTL, let s = h.serverTTL else { return false }
        return r > s.ttl
    }

    static let fix = [
        "check the Service's endpoints: `kubectl get endpointslices -l kubernetes.io/service-name=NAME` — no ready address means no pod matches the selector, or none passes its readinessProbe",
        "check the selector against the pods' labels (`kubectl get pods -l KEY=VALUE`) and the Service's port / targetPort names",
        "see the rule on the node: `iptables -S KUBE-SERVICES | grep 'has no endpoints'` (iptables mode) or `nft list map ip kube-proxy no-endpoint-services` (nftables mode)",
    ]

    /// High for port unreachable (what kube-proxy's reject sends), medium for the prohibited codes.
    static func confidence(_ u: Unreachable, _ why: String, vips: Set<IPAddress>) -> Confidence {
        let reason = why + vipNote(u.server.address, vips)
        if u.isPortUnreachable { return Confidence(.high, reason) }
        return Confidence(.medium, reason + "; kube-proxy sends port unreachable, \(u.codeText) is a firewall's or NetworkPolicy's reject")
    }

    static func vipNote(_ a: IPAddress, _ vips: Set<IPAddress>) -> String { vips.contains(a) ? "; \(a) is a known VIP (--vip)" : "" }

    static func finding(syn h: Handshake, _ u: Unreachable, vips: Set<IPAddress>) -> Finding {
        let client = h.client.text, server = h.server.text
        var ev = [h.synEvidence()] + h.resentSYNEvidence { _ in "SYN re-sent" }
        let quote = u.quotedSequence.map { ", quoting the SYN (seq \($0))" } ?? ", quoting \(client) -> \(server)"
        ev.append(Evidence(frame: u.frame.frame, time: u.frame.time,
                           note: "\(u.codeText) from \(u.sender)\(quote), TTL \(u.ttl)"))
        let who = u.fromDestination ? "the destination's own netfilter (a NodePort / external IP rule on that node, or a host firewall)"
                                    : "\(u.sender), not \(h.server.address): the node or router holding the rule"
        let why = "a SYN is answered by \(u.isV6 ? "ICMPv6" : "ICMP") only by a reject rule — a host with nothing on the port sends RST/ACK, never ICMP — and it came from \(who)"
        return Finding(
            kind: kind, title: "Rejected before any backend: the Service has no ready endpoints", severity: .critical,
            confidence: confidence(u, why, vips: vips),
            summary: "\(client) -> \(server): SYN rejected by \(u.sender) (\(u.codeText)), no backend reached",
            client: client, server: server, measurements: ["reject_after_s": u.frame.time - h.syns[0].time],
            evidence: ev, fix: fix)
    }

    static func finding(datagram u: Unreachable, vips: Set<IPAddress>) -> Finding {
        let client = u.client.text, server = u.server.text
        let why = "the ICMP came from \(u.sender), not from \(u.server.address): a host with nothing on the port answers from its own address, so a rule on the path rejected it"
        return Finding(
            kind: kind, title: "Rejected before any backend: the Service has no ready endpoints", severity: .critical,
            confidence: confidence(u, why, vips: vips),
            summary: "\(client) -> \(server) udp: datagram rejected by \(u.sender) (\(u.codeText)), no backend reached",
            client: client, server: server,
            evidence: [Evidence(frame: u.frame.frame, time: u.frame.time,
                                note: "\(u.codeText) from \(u.sender) quoting udp \(client) -> \(server), TTL \(u.ttl)")],
            fix: fix)
    }

    static func finding(reset h: Handshake) -> Finding {
        let client = h.client.text, server = h.server.text
        var ev = [h.synEvidence()] + h.resentSYNEvidence { _ in "SYN re-sent" }
        var m: [String: Double] = [:]
        let rttl = Int(h.resetTTL ?? 0), sttl = Int(h.serverTTL?.ttl ?? 0)
        if let s = h.serverTTL {
            ev.append(Evidence(frame: s.frame.frame, time: s.frame.time, note: "SYN-ACK from \(h.server.address) (its own kernel), TTL \(sttl)"))
        }
        if let r = h.refused {
            ev.append(Evidence(frame: r.frame, time: r.time, note: "RST/ACK \"from\" \(server), ack \(h.isn &+ 1) = SYN seq + 1, TTL \(rttl)"))
            m["rst_after_s"] = r.time - h.syns[0].time
        }
        m["ttl_difference"] = Double(rttl - sttl)
        let why = "the RST carries \(h.server.address)'s address but arrived with TTL \(rttl), \(rttl - sttl) more than \(h.server.address)'s own SYN-ACK (\(sttl)): it was built \(rttl - sttl) hop(s) nearer the client, by a `reject with tcp reset` rule, not by \(h.server.address)'s kernel (which is what tcp.rst-unlistened-port would mean)"
        return Finding(
            kind: kind, title: "Rejected before any backend: a reset rule answered for the server", severity: .critical,
            confidence: Confidence(.medium, why + "; a path change between the two packets, or another host answering for the same address (backends of a ClusterIP on different nodes), would also change the TTL"),
            summary: "\(client) -> \(server): SYN answered by a RST built \(rttl - sttl) hop(s) before \(h.server.address)",
            client: client, server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame },
            fix: ["find the rule: `nft list ruleset | grep -B3 'reject with tcp reset'` or `iptables -S | grep tcp-reset` on the hosts between \(h.client.address) and \(h.server.address) (the node's kube-proxy / CNI / firewall)"] + fix)
    }
}
