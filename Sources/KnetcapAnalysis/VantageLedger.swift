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
        /// The first sighting at each other vantage point (at most `maxCopies` more).
        var others: [Sighting]
        var serial: UInt32
    }
    static let maxCopies = 7
    /// What a packet seen at a vantage point is judged by: that vantage point, the client
    /// socket as it saw it (NAT rewrites it between vantage points), the direction.
    struct PathKey: Hashable { var up: UInt32, client: Endpoint, forward: Bool }
    /// The packets of one socket and direction seen at `PathKey.up` and at `other`: how many,
    /// the sum of t(other) − t(up) (raw clocks; oriented with the clock offset at the end) and
    /// some of `other`'s frames.
    struct Link { var other: UInt32; var count: Int; var delaySum: Double; var frames: [FrameRef] }
    struct Pair: Hashable { var a: UInt32, b: UInt32 }

    private var groups: [UInt64: Group] = [:]
    private var queue = EvictionQueue<UInt64>()
    /// Packets seen at fewer vantage points than the capture has, judged at the end.
    private var partial: [(kind: CrossKind, seen: [Sighting], detail: String)] = []
    private var details: [UInt64: String] = [:]
    private var links: [PathKey: [Link]] = [:]
    private var linkCount = 0
    private var forward: [Pair: [Double]] = [:]   // t(b) − t(a), a < b, of queries and SYNs
    private var reverse: [Pair: [Double]] = [:]   // t(b) − t(a) of answers and SYN-ACKs
    /// The range of t(b) − t(a) over the packets matched between a and b (raw clocks).
    private var gaps: [Pair: (low: Double, high: Double)] = [:]
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
    /// Every vantage point was capturing from the capture's first packet on (several live
    /// handles opened together), not only from its own first packet.
    public var allCapturingFromStart = false

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
            if elsewhere && g.others.count < Self.maxCopies {
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
        var offsets: [ClockOffset] = []
        for pair in Set(forward.keys).union(reverse.keys).sorted(by: { ($0.a, $0.b) < ($1.a, $1.b) }) {
            let f = forward[pair].map(Self.median), r = reverse[pair].map(Self.median)
            let n = (forward[pair]?.count ?? 0) + (reverse[pair]?.count ?? 0)
            // Queries go one way between a and b, their answers the other: with d = t(b) − t(a),
            // queries give ±delay + offset and answers ∓delay + offset, whichever side the
            // client is on (RFC 5905 §8's reasoning).
            if let f, let r { offsets.append(ClockOffset(a: pair.a, b: pair.b, offset: (f + r) / 2, delay: abs(f - r) / 2, samples: n)) }
            else { offsets.append(ClockOffset(a: pair.a, b: pair.b, offset: nil, delay: abs(f ?? r ?? 0), samples: n)) }
        }
        // Which way each socket's packets went between two vantage points: the mean raw delay
        // with the clocks' offset taken out (RFC 5905's estimate; none when the pair saw one
        // direction only, where offset and delay cannot be told apart and the raw order is
        // all there is). A node clock 300 ms off no longer turns the path around.
        func offset(_ x: UInt32, _ y: UInt32) -> Double {  // t(y) − t(x) of one instant
            guard let o = offsets.first(where: { ($0.a, $0.b) == (min(x, y), max(x, y)) })?.offset else { return 0 }
            return x < y ? o : -o
        }
        var downstream: [PathKey: [Link]] = [:]
        for (key, ls) in links {
            // >= 0: copies at equal times (a capture merged with itself) could have gone either way.
            for l in ls where l.delaySum / Double(max(l.count, 1)) - offset(key.up, l.other) >= 0 {
                downstream[key, default: []].append(l)
            }
        }
        var losses: [VantageLoss] = []
        let captureStart = spans.compactMap { $0?.first }.min()
        // In frame order (the groups left at the end were settled in hash order).
        for g in partial.sorted(by: { $0.seen[0].frame.frame < $1.seen[0].frame.frame }) {
            var missingReported = Set<UInt32>()
            let seenAt = Set(g.seen.map(\.vantage))
            for s in g.seen.sorted(by: { $0.frame.frame < $1.frame.frame }) {
                let v = s.vantage, t = s.frame.time
                guard let candidates = downstream[PathKey(up: v, client: s.client, forward: g.kind.isForward)] else { continue }
                for l in candidates.sorted(by: { $0.other < $1.other }) where !seenAt.contains(l.other) && !missingReported.contains(l.other) {
                    guard let span = spans[Int(l.other)] else { continue }
                    let first = allCapturingFromStart ? (captureStart ?? span.first) : span.first
                    // Its copy would reach `other` at t + d in `other`'s clock, d within the
                    // range matched packets took between the two (delay and clock offset
                    // together): `other` must have been followed over all of that range, so a
                    // copy from before it was followed (or after it stopped) is no loss.
                    let pair = Pair(a: min(v, l.other), b: max(v, l.other))
                    let gap = gaps[pair] ?? (0, 0)
                    let (low, high) = v == pair.a ? (gap.low, gap.high) : (-gap.high, -gap.low)
                    let followedFrom = max(first, matchingSince ?? first)
                    guard (t - followedFrom) + low > 0, (span.last - t) - high >= 0 else { continue }
                    missingReported.insert(l.other)
                    losses.append(VantageLoss(kind: g.kind, seen: s, missing: l.other, linked: l.frames, detail: g.detail))
                }
            }
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

    /// A group whose window is over: its links and delays noted; kept to judge when some
    /// vantage point of the capture did not see it.
    private mutating func settle(_ fp: UInt64, _ g: Group) {
        let detail = details.removeValue(forKey: fp) ?? ""
        let all = [g.first] + g.others
        if all.count < vantageCount {
            if partial.count < Self.maxSingles { partial.append((g.kind, all, detail)) } else { dropped += 1 }
        }
        guard all.count > 1 else { return }
        for x in all {
            for y in all where y.vantage != x.vantage {
                let key = PathKey(up: x.vantage, client: x.client, forward: g.kind.isForward)
                let d = y.frame.time - x.frame.time
                var ls = links.removeValue(forKey: key) ?? []  // one lookup, updated in place
                if let i = ls.firstIndex(where: { $0.other == y.vantage }) {
                    ls[i].count += 1
                    ls[i].delaySum += d
                    if ls[i].frames.count < 4 { ls[i].frames.append(y.frame) } else { ls[i].frames[3] = y.frame }
                } else if linkCount < Self.maxLinks {
                    ls.append(Link(other: y.vantage, count: 1, delaySum: d, frames: [y.frame]))
                    linkCount += 1
                } else { dropped += 1 }
                if !ls.isEmpty { links[key] = ls }
                guard x.vantage < y.vantage else { continue }
                // Delay samples, per unordered pair, by the packet's direction on its socket.
                let pair = Pair(a: x.vantage, b: y.vantage)
                let gap = gaps[pair] ?? (d, d)
                gaps[pair] = (min(gap.low, d), max(gap.high, d))
                if g.kind.isForward { if forward[pair, default: []].count < Self.maxSamples { forward[pair, default: []].append(d) } }
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
