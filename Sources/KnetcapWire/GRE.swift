/// GRE header (RFC 2784, with RFC 2890's key and sequence number): C (0x8000), K (0x2000) and
/// S (0x1000) flags, version 0, the Protocol Type of the payload (an EtherType: 0x0800 IPv4,
/// 0x86DD IPv6, 0x6558 Ethernet), then checksum+reserved, key and sequence number when their
/// flags are set. IP protocol 47. Validated at init: version 0 and the header captured.
public struct GREView {
    public let bytes: ByteView
    public let headerLength: Int

    /// - Throws: `WireError` truncated when the header was not captured, malformed when the
    ///   version is not 0 (PPTP's enhanced GRE, version 1, is not decoded).
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 4 else { throw WireError("gre", .truncated, need: 4, have: bytes.count) }
        let f = bytes.be16(0)
        guard f & 0x7 == 0 else { throw WireError("gre", .malformed, need: 0, have: Int(f & 0x7), reason: "version") }
        headerLength = 4 + (f & 0x8000 != 0 ? 4 : 0) + (f & 0x2000 != 0 ? 4 : 0) + (f & 0x1000 != 0 ? 4 : 0)
        guard bytes.count >= headerLength else { throw WireError("gre", .truncated, need: headerLength, have: bytes.count) }
        self.bytes = bytes
    }
    public var flagsAndVersion: UInt16 { bytes.be16(0) }
    public var protocolType: UInt16 { bytes.be16(2) }
    /// The key (RFC 2890 §2.1), when K is set.
    public var key: UInt32? {
        guard flagsAndVersion & 0x2000 != 0 else { return nil }
        return bytes.be32(flagsAndVersion & 0x8000 != 0 ? 8 : 4)
    }
    public var payload: ByteView { bytes.suffix(from: headerLength) }
}
