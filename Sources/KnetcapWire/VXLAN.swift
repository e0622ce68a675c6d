/// VXLAN header (RFC 7348 §5): flags (I = 0x08: the VNI is valid), 24 reserved bits, the
/// 24-bit VXLAN Network Identifier, 8 reserved bits; an Ethernet frame follows. On UDP port
/// 4789 (IANA) or 8472 (Linux's default, flannel). Validated at init: 8 bytes captured.
public struct VXLANView {
    /// A VXLAN UDP port, 4789 or 8472 (compared, not a `Set`: a SipHash per UDP datagram, issue 11).
    @inlinable public static func isPort(_ port: UInt16) -> Bool { port == 4789 || port == 8472 }
    public let bytes: ByteView

    /// - Throws: `WireError` truncated when fewer than 8 bytes were captured.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 8 else { throw WireError("vxlan", .truncated, need: 8, have: bytes.count) }
        self.bytes = bytes
    }
    public var flags: UInt8 { bytes.b(0) }
    public var vni: UInt32 { bytes.be32(4) >> 8 }
    /// The encapsulated Ethernet frame.
    public var payload: ByteView { bytes.suffix(from: 8) }
}
