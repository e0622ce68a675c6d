import KnetcapWire
import KnetcapDissect

/// A packet the cross-vantage analysis follows: a DNS query or answer over UDP, a SYN, a SYN-ACK.
public enum CrossKind: UInt8, Sendable, CaseIterable {
    case dnsQuery, dnsResponse, syn, synAck
    /// Client to server (a query, a SYN) or back.
    public var isForward: Bool { self == .dnsQuery || self == .syn }
    public var words: String {
        switch self {
        case .dnsQuery: return "DNS query"
        case .dnsResponse: return "DNS answer"
        case .syn: return "SYN"
        case .synAck: return "SYN-ACK"
        }
    }
    public var plural: String { self == .dnsQuery ? "DNS queries" : words + "s" }
}

/// One packet at one vantage point (a capture interface: a node's, a pod's), with the
/// endpoints as that vantage point saw them (NAT rewrites them between vantage points).
public struct Sighting: Sendable, Equatable {
    public var vantage: UInt32
    public var frame: FrameRef
    public var client: Endpoint
    public var server: Endpoint
}

/// A packet seen at `seen.vantage` and never at `missing`, the next vantage point on its
/// path: `missing` saw this client socket's other packets of the same direction that
/// `seen.vantage` saw (`linked`: its frames of them), and was capturing at the time.
public struct VantageLoss: Sendable {
    public var kind: CrossKind
    public var seen: Sighting
    public var missing: UInt32
    /// Frames at `missing` of the same socket and direction, matched to packets of `seen.vantage`.
    public var linked: [FrameRef]
    /// What the packet was (`A api.test id 0x1a2b`, `seq 123456`).
    public var detail: String
}

/// The clock offset between two vantage points' captures, from packets seen at both:
/// forward delays d1 = t(b) − t(a) and reverse ones d2 = t(a) − t(b) give offset (d1 − d2)/2
/// and one-way delay (d1 + d2)/2 (medians; NTP's reasoning, RFC 5905 §8). With packets in one
/// direction only, the offset is not separable from the delay: `offset` is nil.
public struct ClockOffset: Sendable, Equatable {
    public var a: UInt32
    public var b: UInt32
    /// Seconds to add to `a`'s times to get `b`'s clock (nil: one direction only).
    public var offset: Double?
    /// Median one-way delay in seconds (with `offset`), else the median of the one direction seen.
    public var delay: Double
    public var samples: Int
}

/// Matches the packets a capture saw at several vantage points (pcapng interfaces: the nodes
/// and pods of a `knetcap merge`, or several `-i`): the same packet is recognised by what
/// NAT leaves alone (Linux's nf_nat rewrites addresses, ports and checksums, never the IPv4
/// identification, the TCP sequence numbers or the payload): a 64-bit FNV-1a hash of the IPv4
/// id, the DNS message bytes or the TCP seq/ack/flags. Packets seen at one vantage point only
/// are judged at the end: lost between two vantage points when the other one saw this
/// socket's other packets of the same direction (`VantageLoss`).
///
/// Bounded: packets are matched within `window` seconds of capture time (expiry through an
/// `EvictionQueue`), at most `maxGroups` pending matches, `maxSingles` unmatched packets and
/// `maxLinks` socket links are kept; past them the newest are not kept (counted in `dropped`).
/// Only vantage ids below 64 are followed.
public struct VantageLedger {
    /// Seconds within which copies of one packet at two vantage points are matched: more than
    /// any one-way delay and clock offset between NTP-synchronised nodes.
    public var window = 10.0
    public static let maxGroups = 1 << 17
    public static let maxSingles = 1 << 15
    public static let maxLinks = 1 << 15
    public static let maxSamples = 512

    struct Group {
        var kind: CrossKind
        var first: Sighting
        /// The first sighting at each other vantage point (at most 3 more).
        var others: [Sighting]
        var serial: UInt32
    }
    struct LinkKey: Hashable { var up: UInt32, down: UInt32, client: Endpoint, forward: Bool }
    /// A link's key without its downstream vantage point: what a single packet is judged by.
    struct PathKey: Hashable { var up: UInt32, client: Endpoint, forward: Bool }
    struct Link { var count: Int; var frames: [FrameRef] }
    struct Pair: Hashable { var a: UInt32, b: UInt32 }

    private var groups: [UInt64: Group] = [:]
    private var queue = EvictionQueue<UInt64>()
    private var singles: [(kind: CrossKind, s: Sighting, detail: String)] = []
    private var details: [UInt64: String] = [:]
    private var links: [LinkKey: Link] = [:]
    private var forward: [Pair: [Double]] = [:]   // t(b) - t(a), a < b, a saw it first
    private var reverse: [Pair: [Double]] = [:]   // t(a) - t(b), b saw it first
    /// The largest |t(b) − t(a)| of a packet matched between a and b.
    private var widestGap: [Pair: Double] = [:]
    /// When matching began: the first packet of the second vantage point. Packets before it
    /// were not followed (one vantage point does no work), so a copy at the first vantage
    /// point from before it is unknown.
    private var matchingSince: Timestamp?
    /// Each vantage point's first and last packet time (index: the vantage id).
    private var spans = [(first: Timestamp, last: Timestamp)?](repeating: nil, count: 64)
    /// Vantage points seen so far.
    public private(set) var vantageCount = 0
    /// Packets not followed because a table was full.
    public private(set) var dropped = 0

    /// What the tables' limits dropped (empty when nothing was).
    public var limits: [StateLimitNote] {
        dropped == 0 ? [] : [StateLimitNote(what: "packets matched across vantage points", dropped: dropped,
                                             budgetBytes: Self.maxGroups * 112, maxEntries: Self.maxGroups)]
    }

    /// Several vantage points are known to come (a pcapng whose interfaces precede its
    /// packets, several live handles): packets are followed from the first one, not only
    /// from the second vantage point's first packet.
    public var severalExpected = false

    public init() {}

    /// Follows `p`; true when it is a copy of a packet already seen at another vantage point
    /// (within `window`): the same packet again, not a new one.
    @discardableResult
    public mutating func observe(_ p: Packet) -> Bool {
        let v = p.vantage
        guard v < 64 else { return false }
        let now = p.timestamp
        if let s = spans[Int(v)] { spans[Int(v)] = (min(s.first, now), max(s.last, now)) } else { spans[Int(v)] = (now, now); vantageCount += 1 }
        // One vantage point (every capture but a merge or a multi-interface pcapng): nothing to
        // match, nothing kept, no work past this; unless several are known to come.
        guard vantageCount > 1 || severalExpected else { return false }
        if matchingSince == nil { matchingSince = now }
        expire(before: now)
        guard let (kind, fp, client, server) = Self.classify(p) else { return false }
        let seen = Sighting(vantage: v, frame: FrameRef(frame: p.number, time: now), client: client, server: server)
        if var g = groups[fp] {
            let elsewhere = g.first.vantage != v && !g.others.contains(where: { $0.vantage == v })
            if elsewhere && g.others.count < 3 {
                g.others.append(seen)
                groups[fp] = g
            }
            return g.first.vantage != v
        }
        guard groups.count < Self.maxGroups else { dropped += 1; return false }
        let serial = queue.serial()
        groups[fp] = Group(kind: kind, first: seen, others: [], serial: serial)
        queue.push(fp, serial)
        details[fp] = Self.detail(p, kind)
        return false
    }

    /// The losses and clock offsets, once the capture is over.
    public mutating func finish() -> (losses: [VantageLoss], offsets: [ClockOffset]) {
        for (fp, g) in groups { settle(fp, g) }
        groups.removeAll(); queue.removeAll()
        guard vantageCount > 1 else { return ([], []) }
        var losses: [VantageLoss] = []
        // The links by what a single is judged by (one pass), then each single in frame order
        // (the groups left at the end were settled in hash order).
        var downstream: [PathKey: [(down: UInt32, link: Link)]] = [:]
        for (key, link) in links where key.down != key.up {
            downstream[PathKey(up: key.up, client: key.client, forward: key.forward), default: []].append((key.down, link))
        }
        for s in singles.sorted(by: { $0.s.frame.frame < $1.s.frame.frame }) {
            let v = s.s.vantage, t = s.s.frame.time
            guard let candidates = downstream[PathKey(up: v, client: s.s.client, forward: s.kind.isForward)] else { continue }
            for (down, link) in candidates.sorted(by: { $0.down < $1.down }) {
                guard let span = spans[Int(down)], span.first <= t, t <= span.last else { continue }
                // `down` must have been followed for longer than a copy can be apart from this
                // packet (the widest gap of a packet matched between the two): a copy from
                // before it was followed is not a loss. Copies at equal times (a capture merged
                // with itself) leave no room: never judged at the start.
                let pair = Pair(a: min(v, down), b: max(v, down))
                let followedFrom = max(span.first, matchingSince ?? span.first)
                guard t - followedFrom > widestGap[pair] ?? 0 else { continue }
                losses.append(VantageLoss(kind: s.kind, seen: s.s, missing: down, linked: link.frames, detail: s.detail))
            }
        }
        var offsets: [ClockOffset] = []
        for pair in Set(forward.keys).union(reverse.keys).sorted(by: { ($0.a, $0.b) < ($1.a, $1.b) }) {
            let f = forward[pair].map(Self.median), r = reverse[pair].map(Self.median)
            let n = (forward[pair]?.count ?? 0) + (reverse[pair]?.count ?? 0)
            if let f, let r { offsets.append(ClockOffset(a: pair.a, b: pair.b, offset: (f - r) / 2, delay: (f + r) / 2, samples: n)) }
            else { offsets.append(ClockOffset(a: pair.a, b: pair.b, offset: nil, delay: f ?? r ?? 0, samples: n)) }
        }
        return (losses, offsets)
    }

    private mutating func expire(before now: Timestamp) {
        while let item = queue.first {
            guard let g = groups[item.key], g.serial == item.serial else { queue.removeFirst(); continue }
            guard now - g.first.frame.time > window else { break }
            queue.removeFirst()
            groups[item.key] = nil
            settle(item.key, g)
        }
    }

    /// A group whose window is over: matched (links and delays noted) or single (kept to judge).
    private mutating func settle(_ fp: UInt64, _ g: Group) {
        let detail = details.removeValue(forKey: fp) ?? ""
        if g.others.isEmpty {
            if singles.count < Self.maxSingles { singles.append((g.kind, g.first, detail)) } else { dropped += 1 }
            return
        }
        let all = [g.first] + g.others
        for up in all {
            for down in all where down.vantage != up.vantage && up.frame.time <= down.frame.time {
                let key = LinkKey(up: up.vantage, down: down.vantage, client: up.client, forward: g.kind.isForward)
                if var l = links[key] {
                    l.count += 1
                    if l.frames.count < 4 { l.frames.append(down.frame) } else { l.frames[3] = down.frame }
                    links[key] = l
                } else if links.count < Self.maxLinks {
                    links[key] = Link(count: 1, frames: [down.frame])
                } else { dropped += 1 }
                // Delay samples, per unordered pair, in the direction the packet went.
                let pair = Pair(a: min(up.vantage, down.vantage), b: max(up.vantage, down.vantage))
                let d = down.frame.time - up.frame.time
                widestGap[pair] = max(widestGap[pair] ?? 0, abs(d))
                if up.vantage == pair.a { if forward[pair, default: []].count < Self.maxSamples { forward[pair, default: []].append(d) } }
                else if reverse[pair, default: []].count < Self.maxSamples { reverse[pair, default: []].append(d) }
            }
        }
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    /// The packet's kind, its NAT-proof fingerprint, and its client and server endpoints.
    static func classify(_ p: Packet) -> (CrossKind, UInt64, Endpoint, Endpoint)? {
        guard p.fragment == nil, p.tunnel == nil, let src = p.sourceAddress, let dst = p.destinationAddress,
              let sp = p.sourcePort, let dp = p.destinationPort else { return nil }
        var h = FNV64()
        h.add(UInt64(p.ipv4?.identification ?? 0))
        if let udp = p.udp, let dns = p.dns, !p.dnsOverTCP {
            let payload = udp.payload
            h.add(UInt64(payload.count))
            for i in 0..<min(payload.count, 512) { h.byte(payload.u8(at: i) ?? 0) }
            return dns.isResponse ? (.dnsResponse, h.value, Endpoint(dst, dp), Endpoint(src, sp))
                                  : (.dnsQuery, h.value, Endpoint(src, sp), Endpoint(dst, dp))
        }
        if let tcp = p.tcp, tcp.flags.contains(.syn) {
            h.add(UInt64(tcp.sequence)); h.add(UInt64(tcp.acknowledgment)); h.add(UInt64(tcp.flags.rawValue))
            return tcp.flags.contains(.ack) ? (.synAck, h.value, Endpoint(dst, dp), Endpoint(src, sp))
                                            : (.syn, h.value, Endpoint(src, sp), Endpoint(dst, dp))
        }
        return nil
    }

    static func detail(_ p: Packet, _ kind: CrossKind) -> String {
        switch kind {
        case .dnsQuery, .dnsResponse:
            guard let d = p.dns else { return "" }
            let q = d.firstQuestion
            let name = q.flatMap { d.name(at: $0.nameOffset, lowercased: false) } ?? ""
            return "\(q?.type.name ?? "") \(name) id \(d.id)"
        case .syn, .synAck:
            return "seq \(p.tcp?.sequence ?? 0)"
        }
    }
}

/// FNV-1a, 64 bits.
struct FNV64 {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func byte(_ b: UInt8) { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    mutating func add(_ x: UInt64) { for i in 0..<8 { byte(UInt8(truncatingIfNeeded: x >> (8 * i))) } }
}
