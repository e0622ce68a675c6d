import KnetcapWire
import KnetcapDissect

/// `tcp.paws-syn-drop`: a SYN whose TCP timestamp (TSval) went backwards compared with an
/// earlier SYN on the same 4-tuple (same client address and port, same server), left
/// unanswered. Typical of clients behind one NAT with different timestamp clocks reusing a
/// tuple the server still holds in TIME_WAIT, or a server with per-host timestamp checks
/// (RFC 7323 §5 PAWS; Linux `tcp_tw_recycle`, removed in 4.12).
public struct PAWSAnalyzer: Analyzer {
    public static let kind = "tcp.paws-syn-drop"
    public static let kinds = [kind]

    public init() {}

    /// An unanswered SYN whose TSval went backwards on its tuple (not a DNS-over-TCP fallback).
    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .handshake(.unanswered(let h, let listening)) = event, h.dnsTruncatedAnswer == nil, h.earlierTS != nil else { return }
        report(Self.finding(h, listening: listening, live: context.live))
    }

    /// `listening`: a SYN-ACK from the same server port elsewhere in the capture. Alone it would
    /// suggest a full listen queue (`tcp.syn-backlog-drop`); the TSval going backwards on a
    /// reused tuple is what decides for PAWS, and the finding says so.
    static func finding(_ h: Handshake, listening: FrameRef? = nil, live: LiveEvidence?) -> Finding {
        let client = "\(h.client.text)", server = "\(h.server.text)"
        var (ev, m, gaps) = SYNDropAnalyzer.evidence(h)
        if let e = h.earlierTS {
            ev.append(Evidence(frame: e.frame.frame, time: e.frame.time, note: "earlier segment on the same tuple \(client) -> \(server) with TSval \(e.tsval)"))
            m["tsval_backwards_by"] = Double(e.tsval &- (h.tsval ?? 0))
        }
        var why = "TSval \(h.tsval ?? 0) is below \(h.earlierTS?.tsval ?? 0) sent earlier on the same 4-tuple; \(h.synCount) SYNs (backoff \(gaps)) unanswered"
        if let l = listening {
            ev.append(Evidence(frame: l.frame, time: l.time, note: "\(server) answered another SYN with SYN-ACK: the port listens"))
            why += "; \(server) answered other SYNs (frame \(l.frame)), which alone would point at a full listen queue, but a listen-queue drop does not depend on the tuple: the backwards TSval on a reused tuple decides for PAWS (the server's PAWSPassive/PAWSActive rise, ListenOverflows does not)"
        }
        var f = Finding(
            kind: kind, title: "SYN dropped: TCP timestamp went backwards (PAWS)", severity: .warning,
            confidence: Confidence(.medium, why),
            summary: "\(client) -> \(server): SYN with a TSval older than an earlier segment on the same tuple, never answered",
            client: client, server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "clients share one source address (SNAT/masquerade) but not one timestamp clock: avoid per-host timestamp checks on the server (`net.ipv4.tcp_tw_recycle=0` on old kernels)",
                "or give the clients distinct source addresses / avoid SNAT for this path",
                "confirm on the server: `netstat -s | grep -i paws` (PAWSPassive / PAWSActive rising)",
            ])
        if let live, !live.owns(h.server.address) {
            f.observed.append(live.notOwned(h.server))
        } else if let live {
            // PAWSPassive (older kernels), PAWSActive/PAWSEstab (current ones).
            let d = live.deltas(LiveProbe.Counter.paws)
            f.observed.append("\(live.source): " + (d.isEmpty ? "PAWS counters did not rise" : d.joined(separator: ", ")))
        }
        return f
    }
}
