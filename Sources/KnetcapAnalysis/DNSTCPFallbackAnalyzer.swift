import KnetcapWire
import KnetcapDissect

/// `dns.tcp-fallback-failed`: a UDP DNS answer with TC=1 (RFC 1035 §4.1.1, RFC 7766 §5: retry
/// over TCP) followed by a TCP connection from the client to the same server's port 53 that
/// is refused (RST) or never answered. The resolver then fails the lookup or times out.
public struct DNSTCPFallbackAnalyzer: Analyzer {
    public static let kind = "dns.tcp-fallback-failed"
    public static let kinds = [kind]

    public init() {}

    /// Every handshake that retries a truncated answer is this analyser's, refused or unanswered.
    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        switch event {
        case .handshake(.refused(let h)) where h.dnsTruncatedAnswer != nil: report(Self.finding(h, refused: true))
        case .handshake(.unanswered(let h, _)) where h.dnsTruncatedAnswer != nil: report(Self.finding(h, refused: false))
        default: break
        }
    }

    static func finding(_ h: Handshake, refused: Bool) -> Finding {
        let client = "\(h.client.address)", server = "\(h.server.text)"
        var ev: [Evidence] = []
        if let tc = h.dnsTruncatedAnswer {
            ev.append(Evidence(frame: tc.frame, time: tc.time, note: "UDP answer from \(h.server.text) with TC=1: retry over TCP"))
        }
        ev.append(h.synEvidence("TCP SYN \(h.client.text) -> \(server)"))
        ev += h.resentSYNEvidence { _ in "SYN re-sent" }
        if let r = h.refused { ev.append(Evidence(frame: r.frame, time: r.time, note: "RST/ACK from \(server): nothing listens on TCP 53")) }
        let what = refused ? "refused (RST)" : "never answered (\(h.synCount) SYNs)"
        return Finding(
            kind: kind, title: "DNS over TCP fallback failed after a truncated UDP answer", severity: .critical,
            confidence: Confidence(.high, "a TC=1 answer was followed within \(fmt((h.syns[0].time - (h.dnsTruncatedAnswer?.time ?? h.syns[0].time)) * 1000, 3)) ms by a TCP connection to the same server's port 53, which was \(what)"),
            summary: "\(client) -> \(server): truncated UDP answer, TCP retry \(what)",
            client: "\(h.client.text)", server: server,
            measurements: ["tcp_syn_transmissions": Double(h.synCount)], evidence: ev,
            fix: [
                "allow TCP port 53 to the DNS server (NetworkPolicy, security groups, node firewall) — RFC 7766 requires DNS over TCP",
                "make sure the DNS server (CoreDNS, node-local cache) listens on TCP 53 as well as UDP",
                "shrink the answer (fewer records) or raise the EDNS0 UDP size so it fits without truncation",
            ],
            endpoint: server)
    }
}
