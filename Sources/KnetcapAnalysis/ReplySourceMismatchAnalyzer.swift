import KnetcapWire
import KnetcapDissect

/// `nat.reply-source-mismatch`: a SYN to A:p answered by a SYN-ACK that acknowledges it
/// (ack = SYN seq + 1, same client port) but comes from another address or port B. The client
/// kernel does not know B's SYN-ACK (RFC 9293 §3.10.7.3), answers it with RST and keeps
/// retransmitting its SYN to A. This is the load-balancer loopback (hairpin): A is an LB or
/// Service address, the LB forwarded to a NodePort or pod on the client's own node, and the
/// reply skipped the reverse NAT.
public struct ReplySourceMismatchAnalyzer: Analyzer {
    public static let kind = "nat.reply-source-mismatch"
    public static let kinds = [kind]

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        if case .handshake(.replyMismatch(let h)) = event { report(Self.finding(h, vips: context.vips)) }
        if case .handshake(.escapedSegment(let h, let e)) = event { report(Self.finding(h, e, vips: context.vips)) }
    }

    /// Inside an established connection: a segment of it from another source, reset by the
    /// client. A reply that conntrack marked INVALID (out of window, or its entry gone with
    /// `nf_conntrack_tcp_loose=0`) gets no NAT and leaves with the backend's own address.
    static func finding(_ h: Handshake, _ e: EscapedSegment, vips: Set<IPAddress>) -> Finding {
        let client = h.client.text, asked = h.server.text, replied = e.from.text
        let isVIP = vips.contains(h.server.address)
        let ev = [h.synEvidence(),
                  Evidence(frame: e.established.frame, time: e.established.time, note: "the client's ACK: connection to \(asked) established"),
                  Evidence(frame: e.segment.frame, time: e.segment.time,
                           note: "segment from \(replied) (not \(asked)), seq \(e.seq), ack \(e.ack): it acknowledges the client's bytes to \(asked)"),
                  Evidence(frame: e.reset.frame, time: e.reset.time, note: "client resets it (RST to \(replied)): it has no connection with \(replied)")]
        var why = "a segment of the connection to \(asked) came from \(replied): its ack (\(e.ack)) is in the client's sequence space, \(e.ack &- h.isn &- 1) bytes past its ISN, so it is the same connection with its source not translated back; the client reset it"
        if isVIP { why += "; \(h.server.address) is a known VIP (--vip)" }
        return Finding(
            kind: kind, title: "Reply from the wrong source inside a connection: NAT not reversed (conntrack INVALID)", severity: .critical,
            confidence: Confidence(.high, why),
            summary: "\(client) -> \(asked): a segment of the established connection came back from \(replied), reset by the client",
            client: client, server: asked, measurements: ["escaped_after_s": e.segment.time - e.established.time],
            evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "drop INVALID packets on the node before they are forwarded un-NATed: `iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP` (kube-proxy's iptables mode puts it in KUBE-FORWARD; nftables: `ct state invalid drop`), or set `net.netfilter.nf_conntrack_tcp_be_liberal=1` so out-of-window segments are not marked INVALID",
                "check why conntrack lost the connection: `conntrack -S` (insert_failed, drop, early_drop), `nf_conntrack_count` near `nf_conntrack_max`, `nf_conntrack_tcp_timeout_established` shorter than the connection's idle time",
                "on the backend: `conntrack -L -s \(e.from.address)` and counters of INVALID packets (`nstat`, `iptables -L -v`)",
            ],
            endpoint: asked)
    }

    static func finding(_ h: Handshake, vips: Set<IPAddress>) -> Finding {
        let client = "\(h.client.text)", asked = "\(h.server.text)"
        let replied = h.mismatch.map { "\($0.from.text)" } ?? "?"
        var ev = [h.synEvidence()]
        if let mm = h.mismatch {
            ev.append(Evidence(frame: mm.frame.frame, time: mm.frame.time,
                               note: "SYN-ACK from \(replied) (not \(asked)) acknowledging it: ack \(h.isn &+ 1)"))
        }
        if let r = h.clientReset { ev.append(Evidence(frame: r.frame, time: r.time, note: "client resets the unexpected SYN-ACK (RST to \(replied))")) }
        if let c = h.dnatCopy {
            ev.append(Evidence(frame: c.frame.frame, time: c.frame.time, note: "the same SYN (seq \(h.isn)) again, to \(c.to.text): its DNATed copy"))
        }
        ev += h.resentSYNEvidence { _ in "client re-sends its SYN to \(asked)" }
        let isVIP = vips.contains(h.server.address)
        let sameAddress = h.mismatch.map { $0.from.address == h.server.address } ?? false
        var why = "the SYN-ACK acknowledges this SYN (ack = seq + 1, same client port) but comes from \(replied)"
        if isVIP { why += "; \(h.server.address) is a known VIP (--vip)" }
        if h.clientReset != nil { why += "; the client reset it" }
        if let c = h.dnatCopy {
            why += "; the capture shows the SYN translated to \(c.to.text)" + (c.to == h.mismatch?.from ? ", whose answer came back without its reverse NAT" : "")
        }
        let title = isVIP ? "Load-balancer loopback (hairpin): the reply skipped the VIP's NAT"
                          : "Reply from the wrong source: NAT not reversed on the way back"
        return Finding(
            kind: kind, title: title, severity: .critical,
            confidence: Confidence(isVIP || h.clientReset != nil ? .high : .medium, why),
            summary: "\(client) -> \(asked): SYN-ACK came back from \(replied)" + (sameAddress ? " (same address, other port)" : ""),
            client: client, server: asked, evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "call the Service by its in-cluster DNS name or ClusterIP instead of its LoadBalancer address from inside the cluster",
                "use the provider's loopback-prevention setting (e.g. the `service.cloud.tencent.com/prevent-loopback: \"true\"` annotation) or an up-to-date kube-proxy that binds LB addresses locally",
                "review `externalTrafficPolicy` (Local keeps the client source, Cluster SNATs) for this Service",
                "for a ClusterIP whose backend sits on the same bridge: load `br_netfilter` and set `net.bridge.bridge-nf-call-iptables=1` so replies pass the reverse NAT",
            ],
            endpoint: asked)
    }
}
