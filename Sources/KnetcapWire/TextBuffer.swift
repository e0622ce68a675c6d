/// A reusable byte buffer for building output lines without per-packet `String` allocation.
/// Call `removeAll()` between packets; capacity is kept.
public struct TextBuffer: Sendable {
    /// The storage: `count` bytes written, the rest room to write into (kept zero-filled).
    /// Writing through its buffer pointer and a count of our own, not `Array.append`, which
    /// checks uniqueness and capacity per byte (a packet line is ~15 appends; issue 11).
    @usableFromInline var storage: [UInt8]
    @usableFromInline var written: Int
    /// Bytes written.
    @inlinable public var count: Int { written }

    public init(capacity: Int = 4096) {
        storage = [UInt8](repeating: 0, count: max(capacity, 16))
        written = 0
    }

    /// The bytes written (a copy; `withBytes` reads them in place).
    public var bytes: [UInt8] { Array(storage[0..<written]) }

    /// Calls `body` with the bytes written, in place.
    @inlinable public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
    }

    @inlinable public var isEmpty: Bool { written == 0 }
    @inlinable public mutating func removeAll() { written = 0 }
    /// Drops what was written from `offset` on (`offset` ≤ `count`).
    @inlinable public mutating func removeSuffix(from offset: Int) { written = max(0, min(offset, written)) }

    /// Room for `n` more bytes (doubling).
    @inlinable mutating func reserve(_ n: Int) {
        if written &+ n > storage.count { grow(n) }
    }
    @usableFromInline mutating func grow(_ n: Int) {
        storage.append(contentsOf: repeatElement(0, count: max(storage.count, n)))
    }

    /// Appends raw bytes.
    @inlinable public mutating func append(bytes src: UnsafeRawBufferPointer) {
        let n = src.count
        guard n > 0 else { return }
        reserve(n)
        let c = written
        storage.withUnsafeMutableBytes { dst in
            // A few bytes (most appends) by hand: a memcpy call costs more than they do.
            if n <= 16 { for i in 0..<n { dst[c &+ i] = src[i] } }
            else { (dst.baseAddress! + c).copyMemory(from: src.baseAddress!, byteCount: n) }
        }
        written = c &+ n
    }
    @inlinable public mutating func append(bytes src: [UInt8]) {
        src.withUnsafeBytes { append(bytes: $0) }
    }

    @inlinable public mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
    }
    @inlinable public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }
    @inlinable public mutating func append(byte: UInt8) {
        reserve(1)
        let c = written
        storage.withUnsafeMutableBufferPointer { $0[c] = byte }
        written = c &+ 1
    }

    /// Appends the decimal form of `v`.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T) {
        if v < 0 {
            append(byte: UInt8(ascii: "-"))
            append(decimal: Int64(clamping: v).magnitude)  // magnitude: -Int64.min traps
            return
        }
        var n = UInt64(clamping: v)
        if n < 10 { append(byte: 48 &+ UInt8(n)); return }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 digit scratch
        var len = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while n > 0 {
                buf[23 - len] = 48 &+ UInt8(n % 10)
                n /= 10
                len += 1
            }
            append(bytes: UnsafeRawBufferPointer(rebasing: buf[(24 - len)...]))
        }
    }

    /// Appends `v` in decimal, left-padded with zeros to `width` digits.
    @inlinable public mutating func append<T: BinaryInteger>(decimal v: T, width: Int) {
        let n = UInt64(clamping: v)
        var digits = 1
        var t = n
        while t >= 10 { t /= 10; digits += 1 }
        if digits < width { for _ in 0..<(width - digits) { append(byte: 48) } }
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
                append(byte: d < 10 ? 48 + d : 87 + d)
            }
        }
    }

    /// Appends an IPv4/IPv6 address in text form.
    @inlinable public mutating func append(_ a: IPAddress) {
        if !a.isIPv6 {
            let v = a.v4
            append(decimal: v >> 24); append(byte: 46)
            append(decimal: v >> 16 & 0xff); append(byte: 46)
            append(decimal: v >> 8 & 0xff); append(byte: 46)
            append(decimal: v & 0xff)
        } else {
            append(a.description)
        }
    }

    /// The contents as a `String` (allocates; for tests and rare paths).
    public var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
