import KnetcapWire
import KnetcapDissect

/// A listener whose queue is full: SYNs retransmitted on RTO backoff (≈1 s, 2 s, 4 s ...) with
/// no SYN-ACK and no RST, or handshakes the client completed that the server never took.
///
/// - `tcp.syn-backlog-drop`: the port demonstrably listens — another handshake to the same
///   address and port completed in the capture, or the live listener table says LISTEN — so
///   the server dropped the SYN: its listen queue (SYN backlog / accept queue) was full.
/// - `tcp.syn-unanswered`: the same shape where nothing shows the port listens: a drop
///   somewhere on the path (policy, routing, load-balancer datapath). Never called a backlog drop.
/// - `tcp.syn-backlog-drop` too, the accept queue full when the client's ACK arrives
///   (`HandshakeOutcome.ackNotTaken`; Linux tcp_minisocks.c tcp_check_req → `listen_overflow`):
///   with `tcp_abort_on_overflow=0` the ACK is dropped and the request socket re-sends its
///   SYN-ACK (1 s, 2 s, 4 s ...) while the client's data is never acknowledged; with `=1` the
///   server answers the ACK with a bare RST (seq = its ISN + 1). A later SYN refused by the port
///   (the listener was closed, not full) makes no finding; the RST is never
///   `tcp.rst-unlistened-port` (the port answered the SYN).
public struct SYNDropAnalyzer: Analyzer {
    public static let kinds = ["tcp.syn-backlog-drop", "tcp.syn-unanswered"]

    public init() {}

    /// An unanswered handshake, unless it is a DNS-over-TCP fallback or its TSval went
    /// backwards (`DNSTCPFallbackAnalyzer`, `PAWSAnalyzer`).
    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        if case .handshake(.ackNotTaken(let h, let a)) = event {
            if let f = Self.finding(h, a, live: context.live) { report(f) }
            return
        }
        guard case .handshake(.unanswered(let h, let listening)) = event, h.dnsTruncatedAnswer == nil, h.earlierTS == nil else { return }
        report(Self.finding(h, listening: listening, live: context.live))
    }

    /// A handshake complete at the client that the server did not take; nil when a later SYN
    /// refused by the port says the listener was closed (not full).
    static func finding(_ h: Handshake, _ a: UnacceptedACK, live: LiveEvidence?) -> Finding? {
        guard a.refusedLater == nil, let synAck = h.synAck else { return nil }
        let client = h.client.text, server = h.server.text
        var ev = [h.synEvidence(),
                  Evidence(frame: synAck.frame, time: synAck.time, note: "SYN-ACK from \(server), seq \(a.serverISN): the port listens"),
                  Evidence(frame: a.ack.frame, time: a.ack.time, note: "the client's ACK (ack \(a.serverISN &+ 1)): the handshake is complete at the client")]
        if let d = a.data { ev.append(Evidence(frame: d.frame, time: d.time, note: "the client's first data, never acknowledged")) }
        var m: [String: Double] = ["ack_to_answer_s": (a.reset ?? a.resentSYNAcks.last ?? a.ack).time - a.ack.time]
        let why: String, summary: String, level: Confidence.Level
        if let r = a.reset {
            ev.append(Evidence(frame: r.frame, time: r.time, note: "bare RST from \(server), seq \(a.serverISN &+ 1) (= the client's ack), \(fmt(r.time - a.ack.time, 3)) s after the ACK, the server having sent nothing else: its reset of a segment with no socket"))
            summary = "\(client) -> \(server): handshake completed, then reset by the server before it sent anything (tcp_abort_on_overflow=1)"
            if let l = a.answeredLater {
                ev.append(Evidence(frame: l.frame, time: l.time, note: "\(server) answered another SYN with SYN-ACK after the reset: the listener is still there"))
                why = "the server answered the SYN, then reset the completed handshake with RST seq = its ISN + 1 (a segment that found no socket), and answered another SYN afterwards (frame \(l.frame)): the listener was there and did not take the connection, as Linux does with tcp_abort_on_overflow=1 when the accept queue is full"
                level = .high
            } else {
                why = "the server answered the SYN, then reset the completed handshake with RST seq = its ISN + 1 (a segment that found no socket), as Linux does with tcp_abort_on_overflow=1 when the accept queue is full; a listener closed between the SYN-ACK and the ACK resets the same way, but then the port refuses later SYNs (RST/ACK), and none is in the capture"
                level = .medium
            }
        } else {
            var gaps: [String] = []
            var prev = synAck.time
            for (i, s) in a.resentSYNAcks.enumerated() {
                gaps.append(fmt(s.time - prev, 1)); prev = s.time
                ev.append(Evidence(frame: s.frame, time: s.time, note: "SYN-ACK re-sent (same seq \(a.serverISN)) \(i == 0 ? "after the client's ACK" : "after the client ACKed again"): the server still holds the request in SYN_RECV"))
            }
            m["synack_transmissions"] = Double(1 + a.resentSYNAcks.count)
            summary = "\(client) -> \(server): handshake completed at the client, but the server re-sent its SYN-ACK \(a.resentSYNAcks.count)x and never took the connection"
            why = "the client ACKed the SYN-ACK and the server re-sent it anyway (after \(gaps.joined(separator: " s, ")) s, the SYN-ACK timer's backoff), each time after the client's ACK: the ACKs reached a listener that did not take them, as Linux drops the ACK when the accept queue is full (tcp_abort_on_overflow=0). An ACK lost on the path is answered by the first re-sent SYN-ACK and taken then; a capture on the server side shows whether the ACKs arrive"
            level = .medium
        }
        var f = Finding(
            kind: "tcp.syn-backlog-drop", title: "Completed handshake not accepted (accept queue full)", severity: .critical,
            confidence: Confidence(level, why), summary: summary, client: client, server: server, measurements: m,
            evidence: ev.sorted { $0.frame < $1.frame },
            fix: [
                "confirm on the server: `nstat -az TcpExtListenOverflows TcpExtListenDrops` rising, `ss -ltn` Recv-Q at Send-Q for \(server)",
                "raise the application's listen backlog and `net.core.somaxconn` (the accept queue holds min(backlog, somaxconn) + 1)",
                "make the application accept faster (more workers/threads) or scale out the pods",
            ])
        if let note = live?.listenCountersNote(h.server) { f.observed.append(note) }
        return f
    }

    static func evidence(_ h: Handshake) -> (ev: [Evidence], m: [String: Double], gaps: String) {
        var gaps: [String] = []
        let ev = [h.synEvidence()] + h.resentSYNEvidence { g in
            gaps.append(fmt(g, 1))
            return "SYN re-sent (same seq), \(fmt(g, 3)) s after the previous one"
        }
        var m: [String: Double] = ["syn_transmissions": Double(h.synCount)]
        if let last = h.syns.last { m["unanswered_for_s"] = last.time - h.syns[0].time }
        return (ev, m, gaps.joined(separator: " s, ") + " s")
    }

    static func finding(_ h: Handshake, listening: FrameRef?, live: LiveEvidence?) -> Finding {
        let client = "\(h.client.text)", server = "\(h.server.text)"
        var (ev, m, gaps) = evidence(h)
        let owned = live?.owns(h.server.address) == true
        let liveListener = owned ? live?.listener(for: h.server) : nil
        let listens = listening != nil || liveListener != nil
        var f: Finding
        if listens {
            var why = "\(h.synCount) SYNs (backoff \(gaps)) got neither SYN-ACK nor RST"
            if let l = listening {
                ev.append(Evidence(frame: l.frame, time: l.time, note: "\(server) answered another SYN with SYN-ACK: the port listens"))
                why += ", while \(server) completed another handshake (frame \(l.frame))"
            }
            if let l = liveListener { why += "; the live listener table shows LISTEN on \(l.text)" }
            f = Finding(
                kind: "tcp.syn-backlog-drop", title: "SYNs dropped by a listening server (listen queue full)", severity: .critical,
                confidence: Confidence(listening != nil && liveListener != nil ? .high : (listening != nil ? .high : .medium), why),
                summary: "\(client) -> \(server): SYN re-sent \(h.synCount - 1)x with no answer while the port listens",
                client: client, server: server, measurements: m, evidence: ev.sorted { $0.frame < $1.frame },
                fix: [
                    "confirm on the server: `netstat -s | grep -i -E 'listen|backlog'` (ListenOverflows, ListenDrops, TCPBacklogDrop rising)",
                    "raise `net.ipv4.tcp_max_syn_backlog` and `net.core.somaxconn`, and the application's listen backlog (e.g. listen(fd, 4096), nginx `backlog=`)",
                    "make the application accept faster (more workers/threads) or scale out the pods",
                ])
        } else {
            f = Finding(
                kind: "tcp.syn-unanswered", title: "SYNs never answered (dropped on the path)", severity: .critical,
                confidence: Confidence(.medium, "\(h.synCount) SYNs (backoff \(gaps)) got neither SYN-ACK nor RST, and nothing in the capture shows \(server) listens"),
                summary: "\(client) -> \(server): SYN re-sent \(h.synCount - 1)x, never answered",
                client: client, server: server, measurements: m, evidence: ev,
                fix: [
                    "check NetworkPolicy and node/cloud firewalls between \(h.client.address) and \(server)",
                    "check routing and the Service/load-balancer datapath (kube-proxy iptables/ipvs rules, `conntrack -L -d \(h.server.address)`)",
                    "capture on the server side too: if the SYN arrives there and still gets no answer, look at its listen queue (`netstat -s | grep -i listen`)",
                ])
        }
        if let live, !owned {
            f.observed.append(live.notOwned(h.server))
        } else if let live {
            let d = live.deltas(LiveProbe.Counter.listen)
            var note = "\(live.source): " + (d.isEmpty ? "ListenOverflows/ListenDrops/TCPBacklogDrop did not rise" : d.joined(separator: ", "))
            if let l = liveListener { note += "; LISTEN on \(l.text)" } else { note += "; no LISTEN socket for \(server) here" }
            for k in LiveProbe.sysctls {
                if let v = live.sysctls[k] { note += "; \(k) = \(v)" }
            }
            f.observed.append(note)
        }
        return f
    }
}
