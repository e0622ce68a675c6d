import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// What the HTML report's sequence diagrams need of one packet: who sent it to whom and what
/// it was (a DNS query or response with its id, a SYN with its sequence number, a SYN-ACK or
/// RST/ACK with its acknowledgment number). A small value, kept for the last
/// `FrameRing.capacity` packets of a run.
public struct FrameRecord: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case other, dnsQuery, dnsResponse, syn, synAck, rst, tcp }
    public var frame: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    public var kind: Kind
    /// DNS id, or the TCP sequence number (SYN) / acknowledgment number (SYN-ACK, RST).
    public var number: UInt32
    public var tcp: Bool

    /// The record of `p`, or `nil` for a packet without IP addresses and ports.
    public init?(_ p: Packet) {
        // An IP fragment held for reassembly has no transport layer: its ports are its first
        // fragment's as captured (`Packet.wire`), or 0 for a later fragment.
        guard let s = p.sourceAddress, let d = p.destinationAddress else { return nil }
        let sp = p.sourcePort ?? p.wire?.udp?.sourcePort ?? p.wire?.tcp?.sourcePort ?? 0
        let dp = p.destinationPort ?? p.wire?.udp?.destinationPort ?? p.wire?.tcp?.destinationPort ?? 0
        frame = p.number; time = p.timestamp; source = Endpoint(s, sp); destination = Endpoint(d, dp)
        tcp = p.tcp != nil
        kind = .other; number = 0
        if let dns = p.dns {
            kind = dns.isResponse ? .dnsResponse : .dnsQuery
            number = UInt32(dns.id)
        } else if let t = p.tcp {
            let f = t.flags
            if f.contains(.syn) { kind = f.contains(.ack) ? .synAck : .syn; number = f.contains(.ack) ? t.acknowledgment : t.sequence &+ 1 }
            else if f.contains(.rst) && f.contains(.ack) { kind = .rst; number = t.acknowledgment }
            else { kind = .tcp }
        }
    }

    /// What a reply to this request carries: DNS (client, server, id); TCP (client, ISN + 1),
    /// from any address (a reply from the wrong one is still a reply on the wire).
    struct ReplyKey: Hashable { var client: Endpoint; var server: Endpoint?; var number: UInt32 }

    var requestKey: ReplyKey? {
        switch kind {
        case .dnsQuery: return ReplyKey(client: source, server: destination, number: number)
        case .syn: return ReplyKey(client: source, server: nil, number: number)
        default: return nil
        }
    }

    var replyKey: ReplyKey? {
        switch kind {
        case .dnsResponse: return ReplyKey(client: destination, server: source, number: number)
        case .synAck, .rst: return ReplyKey(client: destination, server: nil, number: number)
        default: return nil
        }
    }

    /// A short label for a packet that is not in a finding's evidence (a reply shown for context).
    var label: String {
        switch kind {
        case .dnsQuery: return "DNS query id \(number)"
        case .dnsResponse: return "DNS response id \(number)"
        case .syn: return "SYN"
        case .synAck: return "SYN-ACK"
        case .rst: return "RST/ACK"
        case .tcp: return "TCP"
        case .other: return tcp ? "TCP" : "UDP"
        }
    }
}

/// The records of the last `capacity` packets, indexed by frame number (bounded: `capacity`
/// records, about 90 bytes each).
public struct FrameRing {
    public let capacity: Int
    private var slots: [FrameRecord?]

    public init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        slots = Array(repeating: nil, count: capacity)
    }

    public mutating func add(_ r: FrameRecord) { slots[r.frame % capacity] = r }

    public subscript(frame: Int) -> FrameRecord? {
        guard frame > 0, let r = slots[frame % capacity], r.frame == frame else { return nil }
        return r
    }

    /// Every record held, in frame order.
    public var records: [FrameRecord] { slots.compactMap { $0 }.sorted { $0.frame < $1.frame } }
}

/// Picks, from records fed in frame order, the `needed` frames and every reply to a needed
/// request (bounded by what is needed, whatever the number of records fed).
struct EvidenceSelector {
    let needed: Set<Int>
    private(set) var selected: [Int: FrameRecord] = [:]
    private var wanted = Set<FrameRecord.ReplyKey>()

    init(needed: Set<Int>) { self.needed = needed }

    mutating func add(_ r: FrameRecord) {
        if needed.contains(r.frame) {
            selected[r.frame] = r
            if let k = r.requestKey { wanted.insert(k) }
        } else if let k = r.replyKey, wanted.contains(k) {
            selected[r.frame] = r
        }
    }
}

/// From `records` (in frame order): the `needed` frames and every reply to a needed request.
func selectEvidence(_ records: some Sequence<FrameRecord>, needed: Set<Int>) -> [Int: FrameRecord] {
    var s = EvidenceSelector(needed: needed)
    for r in records { s.add(r) }
    return s.selected
}

/// One row of a finding's sequence diagram: a packet (an evidence frame, or a reply to one that
/// the evidence does not list), or a reply that never came (`missing`: drawn from the request's
/// destination back to its source, dashed, ending in a cross).
struct DiagramEvent {
    var record: FrameRecord?
    var frame: Int
    var time: Timestamp
    var from: String
    var to: String
    var label: String
    var inEvidence: Bool
    var missing: Bool
}

/// The diagram of `f`: its evidence frames in time order (the hosts from `records`), replies to
/// its requests that happened inside its time span, and a missing reply after every request
/// that got none before it was sent again or the evidence ended.
func diagramEvents(_ f: Finding, records: [Int: FrameRecord]) -> [DiagramEvent] {
    let evidence = f.evidence.sorted { ($0.timestamp, $0.frame) < ($1.timestamp, $1.frame) }
    guard let lastFrame = evidence.map(\.frame).max() else { return [] }
    var events: [DiagramEvent] = []
    var seen = Set<Int>()
    for e in evidence where seen.insert(e.frame).inserted {
        let r = records[e.frame]
        events.append(DiagramEvent(record: r, frame: e.frame, time: e.timestamp, from: r.map { host($0.source) } ?? "?",
                                   to: r.map { host($0.destination) } ?? "?", label: e.note, inEvidence: true, missing: false))
    }
    // Replies to this finding's requests that the evidence does not list, inside its span
    // (`records` holds the frames of every finding).
    let asked = Set(evidence.compactMap { records[$0.frame]?.requestKey })
    let firstFrame = evidence.map(\.frame).min() ?? 0
    for r in records.values where !seen.contains(r.frame) && r.frame > firstFrame && r.frame < lastFrame
        && r.replyKey.map(asked.contains) == true {
        events.append(DiagramEvent(record: r, frame: r.frame, time: r.time, from: host(r.source), to: host(r.destination),
                                   label: r.label + " (frame \(r.frame), not in the evidence)", inEvidence: false, missing: false))
    }
    events.sort { ($0.time, $0.frame) < ($1.time, $1.frame) }
    // A request with no reply before its next transmission (or the end): the reply is missing.
    var out: [DiagramEvent] = []
    for (i, e) in events.enumerated() {
        out.append(e)
        guard let r = e.record, let key = r.requestKey else { continue }
        var answered = false
        for later in events[(i + 1)...] {
            guard let l = later.record else { continue }
            if l.replyKey == key { answered = true; break }
            if l.requestKey == key { break }  // sent again first: this transmission went unanswered
        }
        if !answered {
            let what = r.kind == .syn ? "no SYN-ACK or RST" : "no response"
            out.append(DiagramEvent(record: nil, frame: r.frame, time: r.time, from: host(r.destination), to: host(r.source),
                                    label: "\(what) to frame \(r.frame)", inEvidence: false, missing: true))
        }
    }
    return out
}

/// A host column's name: the address (`10.53.0.1`, `2001:db8::1`).
func host(_ e: Endpoint) -> String { e.address.description }
