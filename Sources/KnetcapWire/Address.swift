/// An IPv4 or IPv6 address held in 16 bytes (IPv4 as the low 32 bits), fixed size and
/// `Hashable`, so flow keys never allocate.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var hi: UInt64
    public var lo: UInt64
    public var isIPv6: Bool

    @inlinable public init(v4: UInt32) { hi = 0; lo = UInt64(v4); isIPv6 = false }
    @inlinable public init(v6hi: UInt64, lo: UInt64) { hi = v6hi; self.lo = lo; isIPv6 = true }

    /// Reads an IPv4 address (4 bytes) at `offset`; `nil` when it does not fit.
    @inlinable public init?(v4In bytes: ByteView, at offset: Int) {
        guard let v = bytes.u32(at: offset) else { return nil }
        self.init(v4: v)
    }

    /// Reads an IPv6 address (16 bytes) at `offset`; `nil` when it does not fit.
    @inlinable public init?(v6In bytes: ByteView, at offset: Int) {
        guard let a = bytes.u32(at: offset), let b = bytes.u32(at: offset + 4),
              let c = bytes.u32(at: offset + 8), let d = bytes.u32(at: offset + 12) else { return nil }
        self.init(v6hi: UInt64(a) << 32 | UInt64(b), lo: UInt64(c) << 32 | UInt64(d))
    }

    /// The IPv4 value (meaningful only when `!isIPv6`).
    @inlinable public var v4: UInt32 { UInt32(truncatingIfNeeded: lo) }

    /// One 64-bit mix of the address (folded, multiplied), so hashing a flow key costs one
    /// `Hasher.combine` per address instead of three.
    @inlinable public var mix: UInt64 {
        (hi &* 0x9E37_79B9_7F4A_7C15) ^ (lo &+ (isIPv6 ? 0x5851_F42D_4C95_7F2D : 0)) &* 0xBF58_476D_1CE4_E5B9
    }

    @inlinable public func hash(into h: inout Hasher) { h.combine(mix) }
    @inlinable public func _rawHashValue(seed: Int) -> Int {
        var h = TableHasher(seed: seed)
        h.combine(self)
        return h.finalized
    }

    /// Multicast (224.0.0.0/4, ff00::/8) or IPv4 limited broadcast.
    public var isMulticastOrBroadcast: Bool {
        if isIPv6 { return hi >> 56 == 0xff }
        return v4 >> 28 == 0xE || v4 == 0xFFFF_FFFF
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv6 != b.isIPv6 { return !a.isIPv6 }
        return (a.hi, a.lo) < (b.hi, b.lo)
    }

    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (longest run of zero groups as `::`,
    /// `::ffff:a.b.c.d` for IPv4-mapped): what `TextBuffer.append(_:)` writes.
    public var description: String {
        var t = TextBuffer(capacity: 46)
        t.append(self)
        return t.string
    }
}

/// An address and a port: one end of a TCP or UDP conversation.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    @inlinable public init(_ address: IPAddress, _ port: UInt16) { self.address = address; self.port = port }
    @inlinable public func hash(into h: inout Hasher) { h.combine(address.mix ^ UInt64(port) &* 0x94D0_49BB_1331_11EB) }
    @inlinable public func _rawHashValue(seed: Int) -> Int {
        var h = TableHasher(seed: seed)
        h.combine(self)
        return h.finalized
    }
    /// tcpdump's form: `10.0.0.1.53`, `2001:db8::1.53`.
    public var description: String { "\(address).\(port)" }
    /// The URL form used in findings: `10.0.0.1:53`, `[2001:db8::1]:53` (RFC 3986 §3.2.2).
    public var text: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// IP protocol number (IANA "Assigned Internet Protocol Numbers"). Open: unknown values are data.
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let hopByHop = Self(rawValue: 0)
    public static let icmp = Self(rawValue: 1)
    public static let ipip = Self(rawValue: 4)           // IPv4 in IP (RFC 2003)
    public static let tcp = Self(rawValue: 6)
    public static let udp = Self(rawValue: 17)
    public static let ipv6InIP = Self(rawValue: 41)      // IPv6 in IP (RFC 4213, 2473)
    public static let ipv6Route = Self(rawValue: 43)
    public static let gre = Self(rawValue: 47)
    public static let ipv6Fragment = Self(rawValue: 44)
    public static let esp = Self(rawValue: 50)
    public static let ah = Self(rawValue: 51)
    public static let icmpv6 = Self(rawValue: 58)
    public static let ipv6NoNext = Self(rawValue: 59)
    public static let ipv6Options = Self(rawValue: 60)
}

/// A conversation key that is the same for both directions (gopacket `Flow.FastHash`):
/// the lower endpoint is always `a`. Fixed size; hashing never allocates.
public struct FlowKey: Hashable, Sendable {
    public var a: Endpoint
    public var b: Endpoint
    public var proto: IPProtocol

    @inlinable public init(_ x: Endpoint, _ y: Endpoint, proto: IPProtocol) {
        if (x.address, x.port) <= (y.address, y.port) { a = x; b = y } else { a = y; b = x }
        self.proto = proto
    }
    @inlinable public func _rawHashValue(seed: Int) -> Int {
        var h = TableHasher(seed: seed)
        h.combine(a); h.combine(b); h.combine(UInt64(proto.rawValue))
        return h.finalized
    }
}

/// The hash the packet-path tables (flows, transactions, handshakes) use in place of the
/// standard library's SipHash (issue 11: `Hasher` was an eighth of the time per packet):
/// keyed by the table's own seed (random per process and table, as `Hasher`'s), one 64x64→128
/// multiply per word folded into the state, a SplitMix64 finalizer at the end. Keyed so that
/// hostile addresses cannot be chosen to collide (each word's effect depends on the seeded
/// state before it). Types use it through `_rawHashValue(seed:)`, the hook `Dictionary` and
/// `Set` call; their `hash(into:)` stays for every other use. Equal keys hash equal.
public struct TableHasher {
    @usableFromInline var state: UInt64
    @inlinable @inline(__always) public init(seed: Int) { state = UInt64(bitPattern: Int64(seed)) ^ 0x243F_6A88_85A3_08D3 }
    @inlinable @inline(__always) public mutating func combine(_ v: UInt64) {
        let m = (state ^ v).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        state = m.high ^ m.low
    }
    /// An IPv4 address is one word (tagged), an IPv6 address two.
    @inlinable @inline(__always) public mutating func combine(_ a: IPAddress) {
        if a.isIPv6 { combine(a.hi); combine(a.lo ^ 0x6) } else { combine(a.lo | 1 << 40) }
    }
    /// An IPv4 endpoint is one word: address, port and a tag.
    @inlinable @inline(__always) public mutating func combine(_ e: Endpoint) {
        if e.address.isIPv6 { combine(e.address.hi); combine(e.address.lo); combine(UInt64(e.port) | 2 << 48) }
        else { combine(e.address.lo | UInt64(e.port) << 32 | 1 << 48) }
    }
    @inlinable public var finalized: Int {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: z ^ (z >> 31))
    }
}

extension Endpoint: Comparable {
    public static func < (l: Endpoint, r: Endpoint) -> Bool { (l.address, l.port) < (r.address, r.port) }
}

/// A TCP sequence number with RFC 793 §3.3 modulo-2^32 comparison (wraparound-safe).
public struct SeqNumber: Hashable, Sendable {
    public var rawValue: UInt32
    @inlinable public init(_ v: UInt32) { rawValue = v }
    /// `self - other` as a signed distance (RFC 1982 serial arithmetic).
    @inlinable public func distance(from other: SeqNumber) -> Int32 { Int32(bitPattern: rawValue &- other.rawValue) }
    @inlinable public static func + (s: SeqNumber, n: UInt32) -> SeqNumber { SeqNumber(s.rawValue &+ n) }
}

extension IPAddress {
    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (`::` compression, embedded IPv4 tail).
    /// Returns `nil` for anything else.
    public init?(parsing s: String) {
        if !s.contains(":") {
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                guard !p.isEmpty, p.count <= 3, let b = UInt32(p), b <= 255 else { return nil }
                v = v << 8 | b
            }
            self.init(v4: v)
            return
        }
        var halves = [s]
        if let r = s.firstRange(of: "::") {
            halves = [String(s[..<r.lowerBound]), String(s[r.upperBound...])]
            guard halves[1].firstRange(of: "::") == nil else { return nil }
        }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var r: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, g) in items.enumerated() {
                if i == items.count - 1, g.contains("."), let v4 = IPAddress(parsing: String(g)) {
                    r.append(UInt16(v4.v4 >> 16)); r.append(UInt16(v4.v4 & 0xffff))
                } else {
                    guard !g.isEmpty, g.count <= 4, let x = UInt16(g, radix: 16) else { return nil }
                    r.append(x)
                }
            }
            return r
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        self.init(v6hi: hi, lo: lo)
    }
}
