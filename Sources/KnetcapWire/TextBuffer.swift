/// A reusable byte buffer for building output lines without per-packet `String` allocation.
/// Call `removeAll()` between packets; capacity is kept.
public struct TextBuffer: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public var isEmpty: Bool { bytes.isEmpty }
    @inlinable public var count: Int { bytes.count }
    @inlinable public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inlinable public mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
    @inlinable public mutating func append(_ s: String) {
        var s = s
        // Short texts (the separators of a packet line: ".", ": ", " > ") byte by byte:
        // `append(contentsOf:)` costs more than the few bytes it copies (issue 11).
        s.withUTF8 { b in
            if b.count <= 8 { for c in b { bytes.append(c) } } else { bytes.append(contentsOf: b) }
        }
    }
    @inlinable public mutating func append(byte: UInt8) { bytes.append(byte) }

    /// Appends the decimal form of `v`.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            append(decimal: Int64(clamping: v).magnitude)  // magnitude: -Int64.min traps
            return
        }
        var n = UInt64(clamping: v)
        if n < 10 { bytes.append(48 &+ UInt8(n)); return }
        if n < 100 { bytes.append(48 &+ UInt8(n / 10)); bytes.append(48 &+ UInt8(n % 10)); return }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 digit scratch
        var len = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while n > 0 {
                buf[23 - len] = 48 &+ UInt8(n % 10)
                n /= 10
                len += 1
            }
            for i in (24 - len)..<24 { bytes.append(buf[i]) }
        }
    }

    /// Appends `v` in decimal, left-padded with zeros to `width` digits.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T, width: Int) {
        let n = UInt64(clamping: v)
        if width == 2, v >= 0, n < 100 { bytes.append(48 &+ UInt8(n / 10)); bytes.append(48 &+ UInt8(n % 10)); return }
        var digits = 1
        var t = n
        while t >= 10 { t /= 10; digits += 1 }
        if digits < width { for _ in 0..<(width - digits) { bytes.append(48) } }
        append(decimal: v)
    }

    /// Appends lowercase hex of `v` (no prefix), at least `width` digits.
    @inlinable public mutating func append<T: BinaryInteger>(hex v: T, width: Int = 1) {
        let n = UInt64(truncatingIfNeeded: v)
        var started = false
        for i in (0..<16).reversed() {
            let d = UInt8(truncatingIfNeeded: n >> (UInt64(i) * 4)) & 0xf
            if d != 0 || started || i < width {
                started = true
                bytes.append(d < 10 ? 48 + d : 87 + d)
            }
        }
    }

    /// Appends an IPv4/IPv6 address in text form.
    @inlinable public mutating func append(_ a: IPAddress) {
        if !a.isIPv6 {
            let v = a.v4
            append(decimal: v >> 24); bytes.append(46)
            append(decimal: v >> 16 & 0xff); bytes.append(46)
            append(decimal: v >> 8 & 0xff); bytes.append(46)
            append(decimal: v & 0xff)
        } else {
            append(a.description)
        }
    }

    /// The contents as a `String` (allocates; for tests and rare paths).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
