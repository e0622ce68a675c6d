import KnetcapWire
import KnetcapDissect

/// SYNs retransmitted on RTO backoff (≈1 s, 2 s, 4 s ...) with no SYN-ACK and no RST.
///
/// - `tcp.syn-backlog-drop`: the port demonstrably listens — another handshake to the same
///   address and port completed in the capture, or the live listener table says LISTEN — so
///   the server dropped the SYN: its listen queue (SYN backlog / accept queue) was full.
/// - `tcp.syn-unanswered`: the same shape where nothing shows the port listens: a drop
///   somewhere on the path (policy, routing, load-balancer datapath). Never called a backlog drop.
public struct SYNDropAnalyzer: Analyzer {
    public static let kinds = ["tcp.syn-backlog-drop", "tcp.syn-unanswered"]

    public init() {}

    /// An unanswered handshake, unless it is a DNS-over-TCP fallback or its TSval went
    /// backwards (`DNSTCPFallbackAnalyzer`, `PAWSAnalyzer`).
    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .handshake(.unanswered(let h, let listening)) = event, h.dnsTruncatedAnswer == nil, h.earlierTS == nil else { return }
        report(Self.finding(h, listening: listening, live: context.live))
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
