import KnetcapWire
import KnetcapDissect

extension FieldValue {
    /// Absolute times as nanoseconds since the epoch (wrapping, never trapping), the unit
    /// the evaluator compares times in; other values unchanged.
    @inline(__always) var comparable: FieldValue {
        if case .time(let t) = self { return .ns(t.seconds &* 1_000_000_000 &+ Int64(t.nanoseconds)) }
        return self
    }
}

/// How the checker and evaluator treat a field's values, from its registry `FieldType`.
enum ValueKind: Equatable {
    case unsigned, boolean, string, ipv4, ipv6, ether, bytes, time, proto

    init(_ t: FieldType) {
        switch t {
        case .unsigned: self = .unsigned
        case .boolean: self = .boolean
        case .string: self = .string
        case .address: self = .ipv4
        case .ipv6: self = .ipv6
        case .ether: self = .ether
        case .bytes: self = .bytes
        case .time, .relativeTime: self = .time
        case .proto: self = .proto
        }
    }

    /// Values of these kinds are bytes in `FieldValue`.
    var isByteLike: Bool { self == .string || self == .bytes || self == .proto }
}

/// A literal after checking: a value of the field's kind.
enum Literal {
    case uint(UInt64)
    case bool(Bool)
    /// An address with a prefix length (32 or 128 for a single address).
    case ip(IPAddress, prefix: Int)
    case ether(UInt64)
    case ns(Int64)
    case bytes([UInt8])
}

// MARK: - Comparison

/// `a` compared with `b` (-1, 0, 1), or `nil` when their kinds differ.
func compareValues(_ a: FieldValue, _ b: FieldValue) -> Int? {
    switch (a.comparable, b.comparable) {
    case (.uint(let x), .uint(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
    case (.ip(let x), .ip(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.ether(let x), .ether(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.ns(let x), .ns(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.bytes(let x), .bytes(let y)): return compareBytes(x, y)
    default: return nil
    }
}

/// Lexicographic byte order (memcmp, then length).
func compareBytes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Int {
    let n = min(x.count, y.count)
    for i in 0..<n where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
    return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
}

extension Literal {
    /// Equality as Wireshark has it: an address literal with a prefix (`10.0.0.0/8`) equals
    /// every address in that network.
    func equals(_ v: FieldValue) -> Bool {
        switch (self, v.comparable) {
        case (.uint(let l), .uint(let x)): return l == x
        case (.bool(let l), .bool(let x)): return l == x
        case (.ip(let l, let bits), .ip(let x)): return l.isIPv6 == x.isIPv6 && sameNetwork(l, x, bits)
        case (.ether(let l), .ether(let x)): return l == x
        case (.ns(let l), .ns(let x)): return l == x
        case (.bytes(let l), .bytes(let x)):
            guard l.count == x.count else { return false }
            return l.withUnsafeBytes { compareBytes(x, $0) == 0 }
        default: return false
        }
    }

    /// `v` compared with the literal (-1 when `v` is smaller), or `nil` for other kinds.
    func compare(_ v: FieldValue) -> Int? {
        switch self {
        case .uint(let l): return compareValues(v, .uint(l))
        case .bool(let l): return compareValues(v, .bool(l))
        case .ip(let l, let bits):
            // Against a network, as tshark: the value's first `bits` bits against the network's
            // (`ip.src > 10.0.0.0/8` is false for 10.53.0.2: 10.0.0.0 is not above 10.0.0.0).
            if case .ip(let x) = v, x.isIPv6 == l.isIPv6, bits < (l.isIPv6 ? 128 : 32) {
                return compareValues(.ip(masked(x, bits)), .ip(masked(l, bits)))
            }
            return compareValues(v, .ip(l))
        case .ether(let l): return compareValues(v, .ether(l))
        case .ns(let l): return compareValues(v, .ns(l))
        case .bytes(let l): return l.withUnsafeBytes { b in compareValues(v, .bytes(b)) }
        }
    }
}

/// `a` with all but its first `bits` bits cleared.
func masked(_ a: IPAddress, _ bits: Int) -> IPAddress {
    if !a.isIPv6 {
        let m: UInt32 = bits <= 0 ? 0 : (bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits)))
        return IPAddress(v4: a.v4 & m)
    }
    func mask(_ n: Int) -> UInt64 { n <= 0 ? 0 : (n >= 64 ? .max : ~(UInt64.max >> UInt64(n))) }
    return IPAddress(v6hi: a.hi & mask(bits), lo: a.lo & mask(bits - 64))
}

/// Whether `a` and `b` share their first `bits` bits.
func sameNetwork(_ a: IPAddress, _ b: IPAddress, _ bits: Int) -> Bool {
    if !a.isIPv6 {
        let m: UInt32 = bits <= 0 ? 0 : (bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits)))
        return a.v4 & m == b.v4 & m
    }
    func mask(_ n: Int) -> UInt64 { n <= 0 ? 0 : (n >= 64 ? .max : ~(UInt64.max >> UInt64(n))) }
    let mh = mask(bits), ml = mask(bits - 64)
    return a.hi & mh == b.hi & mh && a.lo & ml == b.lo & ml
}

/// Whether `hay` contains `needle` as a contiguous byte sequence (an empty needle never does).
func containsBytes(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    let n = needle.count
    // An empty needle is found nowhere, as tshark 4.0 has it (`contains ""` matches no frame).
    if n == 0 { return false }
    if hay.count < n { return false }
    let first = needle[0]
    var i = 0
    let last = hay.count - n
    while i <= last {
        if hay[i] == first {
            var j = 1
            while j < n && hay[i + j] == needle[j] { j += 1 }
            if j == n { return true }
        }
        i += 1
    }
    return false
}

// MARK: - Literal parsing (words are Wireshark's "unparsed" values: their meaning depends on
// the field on the other side of the operator)

enum LiteralParse {
    /// An unsigned number: decimal, `0x` hex, `0b` binary, or `0`-prefixed octal (as
    /// Wireshark's strtoul with base 0).
    static func unsigned(_ w: String) -> UInt64? {
        let s = Substring(w)
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return s.count > 2 ? UInt64(s.dropFirst(2), radix: 16) : nil }
        if s.hasPrefix("0b") || s.hasPrefix("0B") { return s.count > 2 ? UInt64(s.dropFirst(2), radix: 2) : nil }
        if s.count > 1 && s.hasPrefix("0") { return UInt64(s.dropFirst(), radix: 8) }
        return UInt64(s, radix: 10)
    }

    /// Seconds as a decimal (`1`, `0.25`, `-0.5`), to nanoseconds (digits past the ninth are
    /// dropped).
    static func seconds(_ w: String) -> Int64? {
        var s = Substring(w)
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let intPart = parts.first, !(intPart.isEmpty && parts.count < 2) else { return nil }
        guard intPart.allSatisfy(\.isASCII), intPart.allSatisfy(\.isNumber) else { return nil }
        guard let whole = intPart.isEmpty ? 0 : Int64(intPart), whole < 9_000_000_000 else { return nil }
        var frac: Int64 = 0
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty || !intPart.isEmpty, f.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            let digits = String(f.prefix(9)).padding(toLength: 9, withPad: "0", startingAt: 0)
            guard let v = Int64(digits) else { return nil }
            frac = v
        }
        let ns = whole * 1_000_000_000 + frac
        return negative ? -ns : ns
    }

    /// `a.b.c.d` or `a.b.c.d/bits`.
    static func ipv4(_ w: String) -> (IPAddress, Int)? {
        let (addr, bits) = splitPrefix(w, max: 32)
        guard let b = bits else { return nil }
        let parts = addr.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return (IPAddress(v4: v), b)
    }

    /// RFC 4291 §2.2 text (`2001:db8::1`, `::ffff:10.0.0.1`), optionally `/bits`.
    static func ipv6(_ w: String) -> (IPAddress, Int)? {
        let (addr, bits) = splitPrefix(w, max: 128)
        guard let b = bits, addr.contains(":") else { return nil }
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        let halves = addr.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ s: String, allowV4: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if allowV4 && i == parts.count - 1 && p.contains(".") {
                    guard let (v4, _) = ipv4(String(p)) else { return nil }
                    out.append(UInt16(truncatingIfNeeded: v4.v4 >> 16)); out.append(UInt16(truncatingIfNeeded: v4.v4))
                    continue
                }
                guard !p.isEmpty, p.count <= 4, let g = UInt16(p, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        if halves.count == 2 {
            sawGap = true
            guard let h = parseGroups(halves[0], allowV4: false), let t = parseGroups(halves[1], allowV4: true) else { return nil }
            groups = h; tail = t
            guard groups.count + tail.count <= 7 else { return nil }
        } else {
            guard let g = parseGroups(addr, allowV4: true), g.count == 8 else { return nil }
            groups = g
        }
        if sawGap { groups += [UInt16](repeating: 0, count: 8 - groups.count - tail.count) + tail }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
        return (IPAddress(v6hi: hi, lo: lo), b)
    }

    /// Splits `addr/bits`; bits is `max` when absent and `nil` when out of range or not a number.
    static func splitPrefix(_ w: String, max: Int) -> (String, Int?) {
        guard let slash = w.firstIndex(of: "/") else { return (w, max) }
        let bits = Int(w[w.index(after: slash)...])
        guard let b = bits, b >= 0, b <= max else { return (String(w[..<slash]), nil) }
        return (String(w[..<slash]), b)
    }

    /// A MAC address: six hex bytes separated by `:` or `-` (`00:13:72:89:fb:2c`), three
    /// groups of four separated by `.` (`0013.7289.fb2c`), or twelve hex digits.
    static func ether(_ w: String) -> UInt64? {
        var bytes: [UInt8]
        if w.contains(":") || w.contains("-") {
            guard let b = hexBytes(w), b.count == 6 else { return nil }
            bytes = b
        } else {
            let digits = w.replacingOccurrences(of: ".", with: "")
            if w.contains(".") {
                let groups = w.split(separator: ".", omittingEmptySubsequences: false)
                guard groups.count == 3, groups.allSatisfy({ $0.count == 4 }) else { return nil }
            }
            guard digits.count == 12, let v = UInt64(digits, radix: 16) else { return nil }
            return v
        }
        var v: UInt64 = 0
        for b in bytes { v = v << 8 | UInt64(b) }
        return v
    }

    /// Hex bytes separated by `:`, `-` or `.` (`aa:bb:cc`), each one or two hex digits; or a
    /// single byte written as two hex digits (`aa`).
    static func hexBytes(_ w: String) -> [UInt8]? {
        let seps: Set<Character> = [":", "-", "."]
        let parts = w.split(whereSeparator: { seps.contains($0) }).map(String.init)
        let separatorCount = w.filter { seps.contains($0) }.count
        guard !parts.isEmpty, separatorCount == parts.count - 1 else { return nil }
        if parts.count == 1 && parts[0].count != 2 { return nil }
        var out: [UInt8] = []
        for p in parts {
            // Two hex digits a byte when there are separators (tshark 4.0 refuses `47:45:5`).
            guard p.count == 2, let v = UInt8(p, radix: 16) else { return nil }
            out.append(v)
        }
        return out
    }
}
