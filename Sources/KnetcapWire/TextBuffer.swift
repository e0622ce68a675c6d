/// A reusable byte buffer for building output lines without per-packet `String` allocation.
/// Call `removeAll()` between packets; capacity is kept.
///
/// Noncopyable: it owns its allocation (freed in `deinit`) and writes through its pointer
/// with a count of its own, with no uniqueness or exclusivity check per byte (an `Array`'s
/// `withUnsafeMutableBytes` checked uniqueness on every append: a packet line is ~15
/// appends, a JSON object ~100; issue 11). Pass it `inout`.
public struct TextBuffer: ~Copyable, @unchecked Sendable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var written: Int
    /// Bytes written.
    @inlinable public var count: Int { written }

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        written = 0
    }

    deinit { base.deallocate() }

    /// The bytes written (a copy; `withBytes` reads them in place).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: written)) }

    /// Calls `body` with the bytes written, in place.
    @inlinable public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: written))
    }

    @inlinable public var isEmpty: Bool { written == 0 }
    @inlinable public mutating func removeAll() { written = 0 }
    /// Drops what was written from `offset` on (`offset` ≤ `count`).
    @inlinable public mutating func removeSuffix(from offset: Int) { written = max(0, min(offset, written)) }

    /// Room for `n` more bytes (doubling).
    @inlinable mutating func reserve(_ n: Int) {
        if written &+ n > capacity { grow(n) }
    }
    @usableFromInline mutating func grow(_ n: Int) {
        let new = capacity + max(capacity, n)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: new)
        b.update(from: base, count: written)
        base.deallocate()
        base = b
        capacity = new
    }

    /// Appends raw bytes.
    @inlinable public mutating func append(bytes src: UnsafeRawBufferPointer) {
        let n = src.count
        guard n > 0 else { return }
        reserve(n)
        let dst = UnsafeMutableRawPointer(base + written), s = src.baseAddress!
        // Up to 32 bytes (most appends: a JSON key, a name label) by overlapping word moves: a
        // memcpy call costs more than they do (and a byte loop is turned into one by LLVM).
        // Every load before any store.
        if n > 32 {
            dst.copyMemory(from: s, byteCount: n)
        } else if n > 16 {
            let w0 = s.loadUnaligned(as: UInt64.self), w1 = s.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let w2 = s.loadUnaligned(fromByteOffset: n &- 16, as: UInt64.self), w3 = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            dst.storeBytes(of: w0, as: UInt64.self); dst.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            dst.storeBytes(of: w2, toByteOffset: n &- 16, as: UInt64.self); dst.storeBytes(of: w3, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 8 {
            let w0 = s.loadUnaligned(as: UInt64.self), w1 = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            dst.storeBytes(of: w0, as: UInt64.self); dst.storeBytes(of: w1, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 {
            let w0 = s.loadUnaligned(as: UInt32.self), w1 = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            dst.storeBytes(of: w0, as: UInt32.self); dst.storeBytes(of: w1, toByteOffset: n &- 4, as: UInt32.self)
        } else {
            let b0 = s.load(as: UInt8.self), b1 = s.load(fromByteOffset: n >> 1, as: UInt8.self), b2 = s.load(fromByteOffset: n &- 1, as: UInt8.self)
            dst.storeBytes(of: b0, as: UInt8.self); dst.storeBytes(of: b1, toByteOffset: n >> 1, as: UInt8.self)
            dst.storeBytes(of: b2, toByteOffset: n &- 1, as: UInt8.self)
        }
        written &+= n
    }
    @inlinable public mutating func append(bytes src: [UInt8]) {
        src.withUnsafeBytes { append(bytes: $0) }
    }

    @inlinable public mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
    }
    /// A `String` (a literal takes the `StaticString` overload: its bytes in place, no
    /// `withUTF8` copy of a small string per call; issue 11).
    @_disfavoredOverload @inlinable public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }
    @inlinable public mutating func append(byte: UInt8) {
        reserve(1)
        base[written] = byte
        written &+= 1
    }

    /// Appends the decimal form of `v`.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T) {
        if v < 0 {
            append(byte: UInt8(ascii: "-"))
            append(decimal: Int64(clamping: v).magnitude)  // magnitude: -Int64.min traps
            return
        }
        appendDecimal(UInt64(clamping: v))
    }
    /// The digits of `n` written back to front in place (at most 20), two at a time from a
    /// table of the hundred pairs: one division per two digits; zeros in front up to
    /// `minDigits` (a fixed-width field written in the same pass).
    @inlinable mutating func appendDecimal(_ n: UInt64, minDigits: Int = 1) {
        if n < 10 && minDigits <= 1 { append(byte: 48 &+ UInt8(n)); return }
        var digits = n < 10 ? 1 : 2
        var t = n / 100
        while t > 0 { t /= 10; digits &+= 1 }
        let total = max(digits, minDigits)
        reserve(total)
        let pairs = TextBuffer.digitPairs.utf8Start
        var n = n
        var i = written &+ total
        while n >= 100 {
            let r = Int(truncatingIfNeeded: n % 100) &* 2
            n /= 100
            i &-= 2
            base[i] = pairs[r]; base[i &+ 1] = pairs[r &+ 1]
        }
        if n >= 10 {
            let r = Int(truncatingIfNeeded: n) &* 2
            i &-= 2
            base[i] = pairs[r]; base[i &+ 1] = pairs[r &+ 1]
        } else {
            i &-= 1
            base[i] = 48 &+ UInt8(truncatingIfNeeded: n)
        }
        // The zeros in front (a clock field under 10, a fraction under 10^5): one or two
        // stores each, not a loop the compiler makes a memset call of.
        var z = written
        while z &+ 2 <= i { UnsafeMutableRawPointer(base + z).storeBytes(of: 0x3030, as: UInt16.self); z &+= 2 }
        if z < i { base[z] = 48 }
        written &+= total
    }
    @usableFromInline static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// Appends `v` in decimal, left-padded with zeros to `width` digits.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T, width: Int) {
        // Non-negative (the clock fields, fractions): digits and zeros in one pass.
        if v >= 0 { appendDecimal(UInt64(clamping: v), minDigits: width); return }
        let n = UInt64(clamping: v)
        var digits = 1
        var t = n
        while t >= 10 { t /= 10; digits += 1 }
        if digits < width { for _ in 0..<(width - digits) { append(byte: 48) } }
        append(decimal: v)
    }

    /// Appends lowercase hex of `v` (no prefix), at least `width` digits (at most 16).
    @inlinable public mutating func append<T: BinaryInteger>(hex v: T, width: Int = 1) {
        let n = UInt64(truncatingIfNeeded: v)
        var digits = 1
        while digits < 16, n >> (UInt64(digits) &* 4) != 0 { digits &+= 1 }
        digits = max(digits, min(width, 16))
        reserve(digits)
        for i in 0..<digits {
            base[written &+ i] = TextBuffer.hexDigit(UInt8(truncatingIfNeeded: n >> (UInt64(digits &- 1 &- i) &* 4)))
        }
        written &+= digits
    }
    /// The lowercase hex digit of `v`'s low four bits.
    @inlinable static func hexDigit(_ v: UInt8) -> UInt8 { let d = v & 0xf; return d < 10 ? 48 &+ d : 87 &+ d }

    /// Appends a 48-bit MAC address (the low 48 bits of `m`, first byte highest) as
    /// `MACAddress.description` writes it, `0a:58:0a:f4:00:01`: 17 bytes in place.
    @inlinable public mutating func append(mac m: UInt64) {
        reserve(17)
        let d = base + written
        for i in 0..<6 {
            let v = UInt8(truncatingIfNeeded: m >> UInt64(40 &- 8 &* i))
            d[3 &* i] = TextBuffer.hexDigit(v >> 4); d[3 &* i &+ 1] = TextBuffer.hexDigit(v)
            if i < 5 { d[3 &* i &+ 2] = 0x3a }
        }
        written &+= 17
    }

    /// Appends an IPv4/IPv6 address in text form, in place, no `String` (`IPAddress.description`
    /// is this text): dotted quad; RFC 5952 §4 for IPv6 (lowercase hex, the first longest run
    /// of two or more zero groups as `::`), §5 `::ffff:a.b.c.d` for IPv4-mapped.
    @inlinable public mutating func append(_ a: IPAddress) {
        if !a.isIPv6 { appendIPv4(a.v4); return }
        if a.hi == 0 && a.lo >> 32 == 0xffff {
            append("::ffff:")
            appendIPv4(UInt32(truncatingIfNeeded: a.lo))
            return
        }
        appendIPv6(hi: a.hi, lo: a.lo)
    }

    /// `a.b.c.d`, each octet's one to three digits stored directly after one `reserve` (at most
    /// 15 bytes): four `appendDecimal` calls cost 1 % more instructions on `-r` (callgrind, 200 k
    /// packets, two addresses a line).
    @inlinable mutating func appendIPv4(_ v: UInt32) {
        reserve(15)
        var i = written
        for shift in stride(from: 24, through: 0, by: -8) {
            let o = UInt8(truncatingIfNeeded: v >> UInt32(shift))
            if o >= 100 {
                let r = o % 100
                base[i] = 48 &+ o / 100; base[i &+ 1] = 48 &+ r / 10; base[i &+ 2] = 48 &+ r % 10; i &+= 3
            } else if o >= 10 {
                base[i] = 48 &+ o / 10; base[i &+ 1] = 48 &+ o % 10; i &+= 2
            } else {
                base[i] = 48 &+ o; i &+= 1
            }
            if shift != 0 { base[i] = 46; i &+= 1 }
        }
        written = i
    }

    /// The eight groups of an IPv6 address (not IPv4-mapped), RFC 5952 §4 (at most 39 bytes).
    @usableFromInline mutating func appendIPv6(hi: UInt64, lo: UInt64) {
        func group(_ k: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (k < 4 ? hi : lo) >> (48 &- 16 &* UInt64(k & 3)))
        }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if group(i) == 0 {
                var j = i
                while j < 8 && group(j) == 0 { j &+= 1 }
                if j &- i > bestLen && j &- i >= 2 { bestStart = i; bestLen = j &- i }
                i = j
            } else { i &+= 1 }
        }
        i = 0
        while i < 8 {
            if i == bestStart {
                append(byte: 58); append(byte: 58)  // ::
                i &+= bestLen
                continue
            }
            if i > 0 && i != bestStart &+ bestLen { append(byte: 58) }
            append(hex: group(i))
            i &+= 1
        }
    }

    /// The contents as a `String` (allocates; for tests and rare paths).
    public var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
