// How the harnesses are linked (Fuzz/run.sh): `swift build --sanitize fuzzer` makes SwiftPM
// build executables with -parse-as-library and link libFuzzer's own `main`, which calls each
// harness's `@_cdecl("LLVMFuzzerTestOneInput")` function; `-Xswiftc -sanitize=fuzzer,address`
// comes after it as one flag, because swiftc keeps only the last `-sanitize=` option (SwiftPM's
// `--sanitize fuzzer --sanitize address` would lose the coverage instrumentation). Without
// SwiftPM's fuzzer flag it aliases `main` to the target's entry point and the link fails
// against libFuzzer's `main`.

/// Reads big-endian integers off the front of a fuzzer input.
public struct InputReader {
    public var bytes: UnsafeRawBufferPointer
    public var offset = 0
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }
    public mutating func u8() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }
    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    public mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }
    /// The next `n` bytes (fewer at the end).
    public mutating func take(_ n: Int) -> UnsafeRawBufferPointer {
        let k = max(0, min(n, remaining))
        defer { offset += k }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + k)])
    }
    public mutating func rest() -> UnsafeRawBufferPointer { take(remaining) }
}
