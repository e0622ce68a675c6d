/// IPv4 header (RFC 791 §3.1).
///
/// Validated at init: version 4, IHL ≥ 5 and the 20-byte fixed header captured. When the
/// options were cut by the snaplen the fixed fields stay readable, `payload` is empty and
/// `isTruncated` is set.
/// `payload` ends at min(total length, captured bytes); `isTruncated` is true when the capture
/// holds fewer bytes than the total length says (a snaplen cut), and frames padded past the
/// total length (Ethernet trailers) are trimmed.
public struct IPv4View {
    public let bytes: ByteView
    public let headerLength: Int
    public let totalLength: Int
    /// The datagram's payload as captured (trimmed to total length).
    public let payload: ByteView
    /// Fewer bytes were captured than `totalLength` says.
    public let isTruncated: Bool
    /// The total length field was 0 (TSO/GSO capture): the datagram runs to the end of the
    /// captured bytes, so only the frame's original length tells whether it was cut.
    public let lengthFromCapture: Bool

    /// - Throws: `WireError` truncated (fewer than 20 / IHL×4 bytes captured) or malformed
    ///   (version ≠ 4, IHL < 5, total length < header length).
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 20 else { throw WireError("ip", .truncated, need: 20, have: bytes.count) }
        let vihl = bytes.b(0)
        guard vihl >> 4 == 4 else { throw WireError("ip", .malformed, need: 4, have: Int(vihl >> 4), reason: "version") }
        let hl = Int(vihl & 0x0f) * 4
        guard hl >= 20 else { throw WireError("ip", .malformed, need: 20, have: hl, reason: "header length") }
        var total = Int(bytes.be16(2))
        // TSO/GSO captures carry total length 0; take what was captured (tcpdump does likewise).
        lengthFromCapture = total == 0
        if total == 0 { total = bytes.count }
        guard total >= hl else { throw WireError("ip", .malformed, need: hl, have: total, reason: "total length") }
        self.bytes = bytes
        headerLength = hl
        totalLength = total
        isTruncated = bytes.count < total || bytes.count < hl
        payload = bytes.count < hl ? bytes.slice(from: bytes.count, length: 0) : bytes.slice(from: hl, length: total - hl)
    }

    public var tos: UInt8 { bytes.b(1) }
    public var identification: UInt16 { bytes.be16(4) }
    public var flagsAndOffset: UInt16 { bytes.be16(6) }
    public var dontFragment: Bool { flagsAndOffset & 0x4000 != 0 }
    public var moreFragments: Bool { flagsAndOffset & 0x2000 != 0 }
    /// Fragment offset in bytes.
    public var fragmentOffset: Int { Int(flagsAndOffset & 0x1fff) * 8 }
    /// True for any piece of a fragmented datagram (MF set or offset ≠ 0).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    public var ttl: UInt8 { bytes.b(8) }
    public var proto: IPProtocol { IPProtocol(rawValue: bytes.b(9)) }
    public var checksum: UInt16 { bytes.be16(10) }
    public var source: IPAddress { IPAddress(v4: bytes.be32(12)) }
    public var destination: IPAddress { IPAddress(v4: bytes.be32(16)) }
    /// Options bytes (IHL×4 − 20), possibly empty.
    public var options: ByteView { bytes.slice(from: 20, length: min(headerLength, bytes.count) - 20) }
}
