import KnetcapWire
import KnetcapDissect

/// `tcp.mtu-blackhole`: a path MTU black hole (RFC 2923 §2.1). A router whose next link has a
/// smaller MTU (an overlay: VXLAN 50 bytes, WireGuard 60-80, IPsec more) drops every packet
/// larger than it that carries DF, and sends ICMP "fragmentation needed" (3/4, RFC 1191) or
/// ICMPv6 "packet too big" (RFC 8201) back; when a firewall, security group or NetworkPolicy
/// drops that ICMP, the sender never lowers its MSS and re-sends the same full-size segment by
/// retransmission timeout (tcp_retransmit_timer, exponential backoff) until the connection
/// dies, while its small segments (headers, ACKs, the short last segment) still get through.
///
/// Evidence (from `PathMTUTracker`): one segment sent `PathMTUTracker.minSends` or more times at
/// one size and never acknowledged at that size, and a smaller segment of the same sender on the
/// same connection acknowledged at its first transmission. Told apart from:
/// - ordinary loss (`tc netem loss`, a congested link): the lost big segment is acknowledged
///   once re-sent at the same size — never named;
/// - PMTUD working: the ICMP reaches the sender, which re-sends smaller at once (one or two
///   sends at the big size) — never named;
/// - a path that went down entirely: small packets fail too. Only a smaller segment sent
///   *after* the big one first failed and acknowledged (typically the last, short segment of the
///   response, by SACK) rules it out: confidence high with it (or with the ICMP seen, or the
///   data acknowledged once re-sent smaller), medium without.
public struct MTUBlackholeAnalyzer: Analyzer {
    public static let kind = "tcp.mtu-blackhole"
    public static let kinds = [kind]

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        if case .segmentStall(let s) = event { report(Self.finding(s)) }
    }

    static func finding(_ s: SegmentStall) -> Finding {
        let sender = s.sender.text, receiver = s.receiver.text
        let v6 = s.sender.address.isIPv6
        var ev: [Evidence] = []
        for (n, f) in s.sends.enumerated() {
            ev.append(Evidence(frame: f.frame, time: f.time, note: n == 0
                ? "\(s.size)-byte segment (\(s.payload) bytes of data, seq \(s.sequence)\(s.dontFragment && !v6 ? ", DF" : "")) \(sender) -> \(receiver)"
                : "the same \(s.size)-byte segment re-sent after \(Self.seconds(f.time - s.sends[0].time)), still not acknowledged"))
        }
        // The largest size known to pass, from the deliveries.
        var passes = [s.delivered, s.smallAfter, s.recovered].compactMap { $0 }.map(\.size).max() ?? 0
        if let d = s.delivered {
            ev.append(Evidence(frame: d.frame.frame, time: d.frame.time, note: "\(d.size)-byte segment from \(sender) got through (acknowledged in frame \(d.ack.frame))"))
        }
        if let a = s.smallAfter {
            ev.append(Evidence(frame: a.ack.frame, time: a.ack.time,
                               note: "\(receiver) acknowledges the \(a.size)-byte segment of frame \(a.frame.frame), sent after the big one: small packets still pass"))
        }
        if let i = s.icmp {
            ev.append(Evidence(frame: i.frame.frame, time: i.frame.time,
                               note: "\(v6 ? "ICMPv6 packet too big" : "ICMP fragmentation needed") from \(i.from), MTU \(i.mtu), quoting this connection"))
        }
        if let r = s.recovered {
            ev.append(Evidence(frame: r.ack.frame, time: r.ack.time, note: "the data re-sent in \(r.size)-byte segments (frame \(r.frame.frame)) is acknowledged: the sender lowered its MSS"))
            passes = max(passes, r.size)
        }
        var m: [String: Double] = [
            "stalled_size_bytes": Double(s.size),
            "sends": Double(s.sendCount),
            "largest_delivered_bytes": Double(passes),
            "stalled_s": (s.sends.last?.time ?? s.sends[0].time) - s.sends[0].time,
        ]
        let mtuText: String
        if let i = s.icmp, i.mtu >= (v6 ? 1280 : 68) {
            m["path_mtu_bytes"] = Double(i.mtu)
            mtuText = "path MTU \(i.mtu), from the ICMP"
        } else {
            mtuText = "path MTU between \(passes) and \(s.size - 1) bytes"
        }
        let span = Self.seconds((s.sends.last?.time ?? s.sends[0].time) - s.sends[0].time)
        var why = "the same \(s.size)-byte segment was sent \(s.sendCount) times over \(span) and never acknowledged at that size, while a \(passes)-byte segment of \(sender) got through"
        let level: Confidence.Level
        if s.smallAfter != nil || s.icmp != nil || s.recovered != nil {
            level = .high
            if s.smallAfter != nil { why += "; a smaller segment sent after it was acknowledged, so the path itself was up (not a link down)" }
            if let i = s.icmp {
                why += "; the ICMP \(v6 ? "packet too big" : "fragmentation needed") (frame \(i.frame.frame)) is in this capture, yet \(s.sender.address) kept the size: it was dropped between here and the sender's stack, or ignored"
            }
        } else {
            level = .medium
            why += "; nothing smaller was sent after the big segment began to fail, so a path that went down at frame \(s.sends[0].frame) would look the same"
        }
        if s.icmp == nil {
            why += "; no ICMP \(v6 ? "packet too big" : "fragmentation needed") for it in the capture (dropped before reaching here)"
        }
        var fix = [
            "lower the MTU to what the path carries (\(s.icmp.map { "\($0.mtu)" } ?? "at most \(s.size - 1), at least \(passes)")): the pod/CNI MTU must be the node's MTU less the overlay's header (VXLAN 50, Geneve 50+, WireGuard 60/80, IPsec more); e.g. Calico `mtu`/`veth_mtu`, Cilium `--mtu`, Flannel's subnet.env",
            "clamp the MSS on the router or node: `nft add rule inet filter forward tcp flags syn tcp option maxseg size set rt mtu` (iptables `-j TCPMSS --clamp-mss-to-pmtu`)",
            v6 ? "let ICMPv6 type 2 (packet too big) through every firewall, security group and NetworkPolicy on the path (RFC 4890)"
               : "let ICMP type 3 code 4 (fragmentation needed) through every firewall, security group and NetworkPolicy on the path",
            "as a fallback on the sender: `sysctl net.ipv4.tcp_mtu_probing=1` (RFC 4821 probing after repeated timeouts)",
        ]
        if s.recovered != nil { fix.removeLast() }
        return Finding(
            kind: kind, title: "Path MTU black hole: full-size segments vanish, small ones pass", severity: s.recovered == nil ? .critical : .warning,
            confidence: Confidence(level, why),
            summary: "\(sender) -> \(receiver): \(s.size)-byte segments never get through, \(passes)-byte ones do (\(mtuText))" + (s.recovered.map { "; recovered at \($0.size) bytes after \(Self.seconds($0.ack.time - s.sends[0].time))" } ?? ""),
            client: receiver, server: sender, measurements: m, evidence: ev.sorted { $0.frame < $1.frame }, fix: fix, endpoint: sender)
    }

    static func seconds(_ d: Double) -> String {
        // Hostile timestamps make any difference (a fuzzed capture: below Int.min µs): never
        // converted to Int out of its range.
        guard d.isFinite, abs(d) < 1e12 else { return "\(d) s" }
        if d < 0.001 { return "\(Int((d * 1e6).rounded())) µs" }
        let ms = (d * 1000).rounded()
        return ms < 1000 ? "\(Int(ms)) ms" : "\(Double(Int(ms / 10)) / 100) s"
    }
}
