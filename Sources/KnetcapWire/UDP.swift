/// UDP header (RFC 768): source port 0..<2, destination port 2..<4, length 4..<6,
/// checksum 6..<8. Validated at init: the 8-byte header captured.
public struct UDPView {
    enum Field { static let srcPort = 0; static let dstPort = 2; static let length = 4; static let checksum = 6 }
    public let bytes: ByteView

    /// - Throws: `WireError` truncated when fewer than 8 bytes were captured.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 8 else { throw WireError("udp", .truncated, need: 8, have: bytes.count) }
        self.bytes = bytes
    }
    public var sourcePort: UInt16 { bytes.be16(Field.srcPort) }
    public var destinationPort: UInt16 { bytes.be16(Field.dstPort) }
    /// The length field: header plus data, in bytes (`udp.length`).
    public var length: UInt16 { bytes.be16(Field.length) }
    public var checksum: UInt16 { bytes.be16(Field.checksum) }
    /// Data as captured, trimmed to the length field when it is sane.
    public var payload: ByteView {
        let l = Int(length)
        return l >= 8 ? bytes.slice(from: 8, length: l - 8) : bytes.suffix(from: 8)
    }
    /// The data length the header claims (length − 8, at least 0).
    public var payloadLength: Int { max(Int(length) - 8, 0) }
}
