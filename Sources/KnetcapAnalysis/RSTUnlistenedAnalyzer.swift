import KnetcapWire
import KnetcapDissect

/// `tcp.rst-unlistened-port`: a SYN answered by RST/ACK (ack = SYN seq + 1) from the
/// destination — nothing listens on that address and port (RFC 9293 §3.10.7.1: a SYN to a
/// CLOSED port gets `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`).
public struct RSTUnlistenedAnalyzer: Analyzer {
    public static let kind = "tcp.rst-unlistened-port"
    public static let kinds = [kind]

    public init() {}

    /// A refused handshake, unless it is a DNS-over-TCP fallback (`DNSTCPFallbackAnalyzer`) or
    /// the RST was built nearer the client than the server (`NoEndpointsAnalyzer.resetFromPath`:
    /// a higher TTL than the server's own SYN-ACK).
    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        if case .handshake(.refused(let h)) = event, h.dnsTruncatedAnswer == nil, !NoEndpointsAnalyzer.resetFromPath(h, vips: context.vips) {
            report(Self.finding(h, live: context.live, vips: context.vips))
        }
    }

    static func finding(_ h: Handshake, live: LiveEvidence?, vips: Set<IPAddress> = []) -> Finding {
        let server = "\(h.server.text)"
        let client = "\(h.client.text)"
        var ev = [h.synEvidence()] + h.resentSYNEvidence { _ in "SYN re-sent" }
        var m: [String: Double] = [:]
        if let r = h.refused {
            ev.append(Evidence(frame: r.frame, time: r.time, note: "RST/ACK from \(server), ack \(h.isn &+ 1) = SYN seq + 1"))
            m["rst_after_s"] = r.time - h.syns[0].time
        }
        // Who built the RST (NoEndpointsAnalyzer): the TTL of the server's own SYN-ACK, if seen.
        var confidence = Confidence(.high, "the destination itself answered the SYN with RST/ACK acknowledging it (ack = seq + 1)")
        if vips.contains(h.server.address) {
            confidence = Confidence(.medium, "a RST/ACK acknowledging the SYN (ack = seq + 1) came back for \(h.server.address), a known VIP (--vip): a backend's kernel after DNAT (nothing listens on the targetPort) and a node's `reject with tcp reset` rule (svc.no-endpoints) send the same RST, and a VIP's SYN-ACKs come from backends at other hop counts, so no TTL in the capture tells them apart")
        } else if let r = h.resetTTL, let s = h.serverTTL, r == s.ttl {
            confidence.reason += "; its TTL (\(r)) is that of \(h.server.address)'s own SYN-ACK (frame \(s.frame.frame)), so its kernel built it"
        }
        var f = Finding(
            kind: kind, title: "Connection refused: nothing listens on the port", severity: .warning,
            confidence: confidence,
            summary: "\(client) -> \(server): SYN answered by RST, nothing listens on \(server)",
            client: client, server: server, measurements: m, evidence: ev,
            fix: [
                "check what listens in the pod: `ss -ltnp` (or `netstat -tunlp`) — is the app up and on port \(h.server.port)?",
                "check the listen address: an app bound to 127.0.0.1 refuses connections to the pod IP; bind 0.0.0.0 (or ::)",
                "check the probe or Service: containerPort / targetPort / readinessProbe port must be the port the app listens on",
            ])
        if let live {
            if !live.owns(h.server.address) {
                f.observed.append(live.notOwned(h.server))
            } else if let l = live.listener(for: h.server) {
                f.observed.append("\(live.source): \(l.text) is LISTEN now (the app may have started after the RST)")
            } else {
                let others = live.otherListeners(port: h.server.port, than: h.server.address)
                f.observed.append("\(live.source): nothing LISTENs on \(server)" + (others.isEmpty ? "" :
                    "; LISTEN on " + others.map { "\($0.text)" }.joined(separator: ", ") + " instead (wrong bind address)"))
            }
        }
        return f
    }
}
