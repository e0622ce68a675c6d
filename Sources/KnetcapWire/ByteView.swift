/// A read-only, non-owning window over packet bytes.
///
/// A `ByteView` never outlives the buffer it was made from: a packet source's buffer is valid
/// only until its next read (DESIGN.md, example 4). Every accessor here is bounds-checked:
/// the `checked` family returns `nil` past the end, and the views built on top validate the
/// lengths their accessors use once, in their initialisers (smoltcp's `check_len`).
public struct ByteView: @unchecked Sendable {
    public let base: UnsafeRawBufferPointer

    @inlinable public init(_ base: UnsafeRawBufferPointer) { self.base = base }

    /// Number of bytes in the view.
    @inlinable public var count: Int { base.count }

    /// The byte at `offset`, or `nil` when `offset` is outside the view.
    @inlinable public func u8(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < base.count else { return nil }
        return base[offset]
    }

    /// The big-endian (network order) 16-bit value at `offset`, or `nil` when it does not fit.
    @inlinable public func u16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= base.count &- 2 else { return nil }
        return UInt16(base[offset]) << 8 | UInt16(base[offset &+ 1])
    }

    /// The big-endian 32-bit value at `offset`, or `nil` when it does not fit.
    @inlinable public func u32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= base.count &- 4 else { return nil }
        return UInt32(base[offset]) << 24 | UInt32(base[offset &+ 1]) << 16
            | UInt32(base[offset &+ 2]) << 8 | UInt32(base[offset &+ 3])
    }

    /// The little-endian 32-bit value at `offset` (used by NULL/LOOP link headers).
    @inlinable public func u32le(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= base.count &- 4 else { return nil }
        return UInt32(base[offset &+ 3]) << 24 | UInt32(base[offset &+ 2]) << 16
            | UInt32(base[offset &+ 1]) << 8 | UInt32(base[offset])
    }

    // Unchecked reads for views that validated their length at init. Internal on purpose.
    @inlinable func b(_ offset: Int) -> UInt8 { base[offset] }
    @inlinable func be16(_ offset: Int) -> UInt16 { UInt16(base[offset]) << 8 | UInt16(base[offset &+ 1]) }
    @inlinable func be32(_ offset: Int) -> UInt32 {
        UInt32(base[offset]) << 24 | UInt32(base[offset &+ 1]) << 16
            | UInt32(base[offset &+ 2]) << 8 | UInt32(base[offset &+ 3])
    }

    /// The bytes from `offset` to the end, or an empty view when `offset` is past the end.
    @inlinable public func suffix(from offset: Int) -> ByteView {
        guard offset > 0 else { return self }
        guard offset < base.count else { return ByteView(UnsafeRawBufferPointer(rebasing: base[base.count...])) }
        return ByteView(UnsafeRawBufferPointer(rebasing: base[offset...]))
    }

    /// The bytes in `offset ..< offset + length`, clamped to the view.
    @inlinable public func slice(from offset: Int, length: Int) -> ByteView {
        let start = Swift.min(Swift.max(offset, 0), base.count)
        let end = Swift.min(start &+ Swift.max(length, 0), base.count)
        return ByteView(UnsafeRawBufferPointer(rebasing: base[start..<end]))
    }

    /// The first `length` bytes (clamped).
    @inlinable public func prefix(_ length: Int) -> ByteView { slice(from: 0, length: length) }
}

/// Why a view could not be made: which layer, how many bytes it needed and how many it had
/// (DESIGN.md, example 7). `truncated` means the capture stopped early (a snaplen cut);
/// `malformed` means the bytes contradict themselves (a header length below its minimum).
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case truncated, malformed }
    public let layer: StaticString
    public let kind: Kind
    public let need: Int
    public let have: Int
    public let reason: StaticString

    public init(_ layer: StaticString, _ kind: Kind, need: Int, have: Int, reason: StaticString = "") {
        self.layer = layer; self.kind = kind; self.need = need; self.have = have; self.reason = reason
    }

    public static func == (a: WireError, b: WireError) -> Bool {
        a.layer.description == b.layer.description && a.kind == b.kind && a.need == b.need && a.have == b.have
    }

    public var description: String {
        let r = reason.description.isEmpty ? "" : " (\(reason))"
        switch kind {
        case .truncated: return "\(layer): truncated, need \(need) bytes, have \(have)\(r)"
        case .malformed: return "\(layer): malformed\(r), need \(need), have \(have)"
        }
    }
}
