/// Geneve header (RFC 8926 §3.4): version (2 bits, 0), options length (6 bits, 4-byte
/// units), O and C flags, the Protocol Type of the payload (an EtherType: 0x6558 Ethernet,
/// 0x0800 IPv4, 0x86DD IPv6), the 24-bit VNI; then the options. On UDP port 6081 (OVN,
/// Antrea, Cilium's Geneve mode). Validated at init: version 0, header and options captured.
public struct GeneveView {
    public static let port: UInt16 = 6081
    /// Transparent Ethernet bridging (RFC 1701's protocol type for an Ethernet payload).
    public static let ethernet: UInt16 = 0x6558
    public let bytes: ByteView
    public let headerLength: Int

    /// - Throws: `WireError` truncated when the 8-byte header or its options were not
    ///   captured, malformed when the version is not 0.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 8 else { throw WireError("geneve", .truncated, need: 8, have: bytes.count) }
        guard bytes.b(0) >> 6 == 0 else { throw WireError("geneve", .malformed, need: 0, have: Int(bytes.b(0) >> 6), reason: "version") }
        headerLength = 8 + Int(bytes.b(0) & 0x3f) * 4
        guard bytes.count >= headerLength else { throw WireError("geneve", .truncated, need: headerLength, have: bytes.count) }
        self.bytes = bytes
    }
    public var flags: UInt8 { bytes.b(1) }
    public var protocolType: UInt16 { bytes.be16(2) }
    public var vni: UInt32 { bytes.be32(4) >> 8 }
    public var payload: ByteView { bytes.suffix(from: headerLength) }
}
