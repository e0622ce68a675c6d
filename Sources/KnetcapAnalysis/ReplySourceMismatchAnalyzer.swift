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
        ev += h.resentSYNEvidence { _ in "client re-sends its SYN to \(asked)" }
        let isVIP = vips.contains(h.server.address)
        let sameAddress = h.mismatch.map { $0.from.address == h.server.address } ?? false
        var why = "the SYN-ACK acknowledges this SYN (ack = seq + 1, same client port) but comes from \(replied)"
        if isVIP { why += "; \(h.server.address) is a known VIP (--vip)" }
        if h.clientReset != nil { why += "; the client reset it" }
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
