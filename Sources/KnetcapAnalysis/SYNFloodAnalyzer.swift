import KnetcapWire
import KnetcapDissect

/// `tcp.syn-flood`: more handshakes to one server endpoint were half-open at once (SYN seen,
/// handshake not completed by the client's ACK, not refused) than a listen queue holds, from
/// that many distinct client endpoints, and (almost) none completed. One finding for the
/// flood instead of one per connection.
///
/// The mechanism (Linux `net/ipv4/tcp_input.c`, `tcp_conn_request`): every SYN to a listener
/// takes a request socket in its SYN queue until the handshake completes or the SYN-ACK
/// retries give up (`tcp_synack_retries` 5: 1+2+4+8+16+32 = 63 s). When the queue holds
/// `sk_max_ack_backlog` requests — `min(listen(2) backlog, net.core.somaxconn)` — the kernel
/// calls `tcp_syn_flood_action`: it logs "Possible SYN flooding on port X. Sending cookies."
/// (or "Dropping request") once per listener and then either answers with a SYN cookie
/// (`tcp_syncookies`, TCPReqQFullDoCookies) or drops the SYN (TCPReqQFullDrop,
/// ListenDrops). `halfOpenThreshold` is the smallest queue Linux gives by default (128: the
/// old `SOMAXCONN` and `tcp_max_syn_backlog`'s floor), so past it a default listener's queue is
/// full; `completedAtMost` says "no handshake completing" with room for the few real clients
/// that got through. SYN-ACKs do not count as completion: with syncookies the server answers
/// every SYN and keeps nothing; a flood's sources never send the ACK.
///
/// What decides between this and `tcp.syn-backlog-drop` (`SYNDropAnalyzer`): a full accept or
/// SYN queue there is seen from a few real clients, each re-sending its SYN on RTO backoff
/// (1 s, 2 s, 4 s) while the port completes other handshakes; a flood is hundreds or more of
/// distinct source endpoints, most sending one SYN and never again (spoofed or raw-socket
/// senders keep no state), none answered. The confidence text says which evidence was seen.
public struct SYNFloodAnalyzer: Analyzer {
    public static let kind = "tcp.syn-flood"
    public static let kinds = [kind]
    /// Half-open handshakes to one endpoint at once past which a default listen queue is full.
    public static let halfOpenThreshold = 128
    /// At most this share of the handshakes completed (or refused).
    public static let completedAtMost = 0.1
    /// At most this share re-sent for high confidence: flood senders do not retransmit.
    public static let retransmittedAtMost = 0.1

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .synLoad(let l) = event, Self.isFlood(l) else { return }
        report(Self.finding(l, live: context.live))
    }

    static func isFlood(_ l: SYNLoad) -> Bool {
        l.peakHalfOpen >= halfOpenThreshold && Double(l.completed + l.refused) <= completedAtMost * Double(l.handshakes)
    }

    static func finding(_ l: SYNLoad, live: LiveEvidence?) -> Finding {
        let server = l.server.text
        let span = l.last.time - l.first.time
        let sources = l.sourceAddressEstimate.map { "~\($0)" } ?? "more than 1400"
        var ev: [Evidence] = []
        for (i, e) in l.examples.enumerated() {
            ev.append(Evidence(frame: e.frame.frame, time: e.frame.time,
                               note: i == 0 ? "first SYN to \(server), from \(e.client.text)" : "SYN from \(e.client.text)"))
        }
        if !ev.contains(where: { $0.frame == l.peak.frame }) {
            ev.append(Evidence(frame: l.peak.frame, time: l.peak.time, note: "\(l.peakHalfOpen) handshakes to \(server) waiting for an answer at once"))
        }
        if let a = l.firstAnswer { ev.append(Evidence(frame: a.frame, time: a.time, note: "SYN-ACK from \(server)")) }
        if !ev.contains(where: { $0.frame == l.last.frame }) {
            ev.append(Evidence(frame: l.last.frame, time: l.last.time, note: "last SYN to \(server)"))
        }
        var m: [String: Double] = [
            "handshakes": Double(l.handshakes), "peak_half_open": Double(l.peakHalfOpen),
            "answered": Double(l.answered), "completed": Double(l.completed), "refused": Double(l.refused),
            "retransmitted": Double(l.retransmitted), "duration_s": span,
        ]
        if let s = l.sourceAddressEstimate { m["source_addresses_est"] = Double(s) }
        if span > 0 { m["syn_rate_per_s"] = Double(l.handshakes) / span }
        let resentShare = Double(l.retransmitted) / Double(max(1, l.handshakes))
        var why = "\(l.handshakes) handshakes from distinct client endpoints (\(sources) source addresses), up to \(l.peakHalfOpen) half-open at once — more than the \(halfOpenThreshold) a default listen queue holds (tcp_conn_request: past sk_max_ack_backlog the kernel sends cookies or drops) — and \(l.completed) completed"
        why += l.answered == 0 ? "; the server answered none (SYNs dropped, or its answers not in the capture)"
            : "; the server answered \(l.answered) with SYN-ACK (SYN cookies, or before its queue filled) that the sources never acknowledged"
        let level: Confidence.Level
        if resentShare <= retransmittedAtMost {
            level = .high
            why += "; \(l.retransmitted) re-sent their SYN: flood senders keep no state, whereas clients behind a full accept queue re-send on RTO backoff (tcp.syn-backlog-drop)"
        } else {
            level = .medium
            why += "; \(l.retransmitted) of them re-sent their SYN on backoff as real clients do: a connection storm overflowing the queue rather than spoofed sources (the per-client tcp.syn-backlog-drop / tcp.syn-unanswered findings give each one)"
        }
        var f = Finding(
            kind: kind, title: "SYN flood: many sources, no handshake completing", severity: .critical,
            confidence: Confidence(level, why),
            summary: "\(l.handshakes) SYNs to \(server) from \(sources) addresses in \(fmt(span, 3)) s, \(l.completed) handshakes completed",
            server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "confirm on the server: `dmesg | grep 'Possible SYN flooding'`, `nstat -az TcpExtListenDrops TcpExtTCPReqQFullDrop TcpExtTCPReqQFullDoCookies`, `ss -ltn 'sport = :\(l.server.port)'` (Recv-Q at the backlog)",
                "keep `net.ipv4.tcp_syncookies = 1` (the default) so a full SYN queue answers with cookies instead of dropping real clients",
                "raise the SYN queue: `net.ipv4.tcp_max_syn_backlog`, `net.core.somaxconn` and the application's listen backlog",
                "filter the flood before the node: rate-limit SYNs per source at the load balancer or cloud firewall (SYN proxy)",
            ])
        if let note = live?.listenCountersNote(l.server) { f.observed.append(note) }
        return f
    }
}
