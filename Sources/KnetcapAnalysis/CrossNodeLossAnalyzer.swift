import Foundation
import KnetcapWire
import KnetcapDissect

/// `net.cross-node-loss`: in a capture holding several vantage points (a `knetcap merge` of
/// nodes' and pods' captures), a DNS query or answer, SYN or SYN-ACK seen at one vantage
/// point and never at the next one on its path (`VantageLedger`). "Next on its path" is
/// decided by the traffic itself: that vantage point saw the same client socket's other
/// packets of that direction after this one did (so it is downstream on this socket's path),
/// and it was capturing at the time. One finding per pair of vantage points and packet kind.
///
/// What it is not: a packet the sender never sent (then no vantage point sees it), a drop
/// inside one node before its first vantage point, or a capture's own drops at the downstream
/// vantage point (`ps_ifdrop`; a capture that loses packets loses them from every socket,
/// so check its drop counts when many sockets show losses at once).
public struct CrossNodeLossAnalyzer: Analyzer {
    public static let kind = "net.cross-node-loss"
    public static let kinds = [kind]
    /// Evidence frames kept per finding.
    static let maxEvidence = 8

    public init() {}

    public mutating func observe(_ event: TrackerEvent, _ context: AnalysisContext, report: (Finding) -> Void) {
        guard case .crossVantage(let losses, let offsets) = event else { return }
        struct Key: Hashable { var up: UInt32, down: UInt32, kind: CrossKind }
        var groups: [Key: [VantageLoss]] = [:]
        var order: [Key] = []
        for l in losses {
            let k = Key(up: l.seen.vantage, down: l.missing, kind: l.kind)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(l)
        }
        for k in order { report(Self.finding(groups[k]!, offsets: offsets, context)) }
    }

    static func finding(_ ls: [VantageLoss], offsets: [ClockOffset], _ context: AnalysisContext) -> Finding {
        let first = ls[0]
        let up = context.vantage(first.seen.vantage), down = context.vantage(first.missing)
        let what = first.kind.words
        let arrow = "\(first.seen.client.text) -> \(first.seen.server.text)"
        let flow = first.kind.isForward ? arrow : "\(first.seen.server.text) -> \(first.seen.client.text)"
        var ev: [Evidence] = []
        for l in ls.prefix(maxEvidence) {
            ev.append(Evidence(frame: l.seen.frame.frame, time: l.seen.frame.time,
                               note: "\(what) \(l.detail) at \(up); never at \(down)"))
        }
        if let linked = first.linked.first {
            ev.append(Evidence(frame: linked.frame, time: linked.time,
                               note: "at \(down): another \(what) of this socket that \(up) saw, so \(down) is on its path"))
        }
        var m: [String: Double] = ["lost": Double(ls.count)]
        var why = "\(down) saw this socket's other \(first.kind.plural) after \(up) did, and was capturing at the time"
        let pair = offsets.first { ($0.a == first.seen.vantage && $0.b == first.missing) || ($0.b == first.seen.vantage && $0.a == first.missing) }
        if let o = pair {
            m["delay_s"] = o.delay
            if let off = o.offset {
                let signed = o.b == first.missing ? off : -off  // offset is b's clock minus a's; shown as down's minus up's
                m["clock_offset_s"] = signed
                why += String(format: "; clock offset %@ − %@ ≈ %+.3f ms, one-way delay ≈ %.3f ms (from %d packets seen at both)",
                              down, up, signed * 1000, o.delay * 1000, o.samples)
                if abs(off) > max(o.delay, 0.001) {
                    why += "; the clocks differ by more than the delay: times across the two captures are not comparable, the loss is decided by the packets' identity, not by time"
                }
            } else {
                why += String(format: "; packets went one way only, so the clock offset is unknown (delay plus offset ≈ %.3f ms)", o.delay * 1000)
            }
        }
        let socketWord = first.kind.isForward ? "client socket \(first.seen.client.text)" : "answers to \(first.seen.client.text)"
        return Finding(
            kind: kind, title: "Packets lost between two vantage points", severity: .critical,
            confidence: Confidence(ls.count > 1 || first.linked.count > 1 ? .high : .medium, why),
            summary: "\(flow): \(ls.count) \(ls.count == 1 ? what : first.kind.plural) seen at \(up) never reached \(down) (\(socketWord))",
            client: first.seen.client.text, server: first.seen.server.text, measurements: m, evidence: ev,
            fix: [
                "look at what lies between \(up) and \(down): the node firewall (`nft list ruleset`, `iptables -L -v -n`: a DROP rule's counter rising), NetworkPolicies, cloud security groups",
                "on an overlay (VXLAN UDP 4789/8472, Geneve 6081): the tunnel port allowed between the nodes, and the overlay MTU (large answers lost, small ones pass)",
                "capture the hop in between (`kubectl knetcap capture --node ...`) and merge it in: the loss is then named between closer vantage points",
            ],
            occurrences: ls.count, endpoint: first.seen.server.text)
    }
}
