/// IPv6 header (RFC 8200 §3) and its extension-header chain (§4).
///
/// Validated at init: version 6 and the 40-byte fixed header captured. The chain of
/// Hop-by-Hop (0), Routing (43), Fragment (44), Destination Options (60) and AH (51) headers
/// is walked with bounds checks (at most `maxExtensionHeaders`); `upperProtocol` and
/// `upperOffset` name the first header that is not an extension. A non-first fragment has no
/// upper-layer header (`fragmentOffset > 0`).
public struct IPv6View {
    public static let maxExtensionHeaders = 16
    public let bytes: ByteView
    /// Payload length in bytes (the Jumbo Payload option's value for jumbograms).
    public let payloadLength: Int
    public let upperProtocol: IPProtocol
    /// Offset (from the start of the IPv6 header) of the upper-layer header.
    public let upperOffset: Int
    /// Payload length 0 with no Jumbo option (BIG TCP capture): the datagram runs to the end
    /// of the captured bytes.
    public let lengthFromCapture: Bool
    /// Fragment header values when present.
    public let fragmentOffset: Int
    public let moreFragments: Bool
    public let hasFragmentHeader: Bool
    public let fragmentID: UInt32
    /// Where the fragmentable part starts (just after the Fragment header, RFC 8200 §4.5) and
    /// the Next Header value the Fragment header carries; 0 without a Fragment header.
    public let fragmentHeaderEnd: Int
    public let fragmentNextHeader: UInt8
    /// Fewer bytes were captured than the payload length says, or an extension header was cut.
    public let isTruncated: Bool
    /// The end of the datagram within `bytes` (trims Ethernet padding).
    public let end: Int

    /// The Payload Length field as the header has it (RFC 8200 §3: 0 for a jumbogram, RFC
    /// 2675), Wireshark's `ipv6.plen`; `payloadLength` is the length knetcap reads by.
    public var payloadLengthField: UInt16 { bytes.be16(4) }

    /// - Throws: `WireError` truncated (< 40 bytes) or malformed (version ≠ 6).
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 40 else { throw WireError("ip6", .truncated, need: 40, have: bytes.count) }
        guard bytes.b(0) >> 4 == 6 else {
            throw WireError("ip6", .malformed, need: 6, have: Int(bytes.b(0) >> 4), reason: "version")
        }
        self.bytes = bytes
        var plen = Int(bytes.be16(4))
        // Jumbograms (RFC 2675) carry payload length 0 and a Jumbo Payload option (type 0xC2)
        // in the Hop-by-Hop header; without one (BIG TCP captures) take what was captured.
        var fromCapture = false
        if plen == 0 {
            plen = bytes.count - 40
            fromCapture = true
            if bytes.b(6) == 0, let hlen = bytes.u8(at: 41) {
                var o = 42
                let hend = 40 + (Int(hlen) + 1) * 8
                while o < hend, let t = bytes.u8(at: o) {
                    if t == 0 { o += 1; continue }
                    guard let l = bytes.u8(at: o + 1) else { break }
                    if t == 0xC2, l == 4, let j = bytes.u32(at: o + 2) { plen = Int(j); fromCapture = false; break }
                    o += 2 + Int(l)
                }
            }
        }
        payloadLength = plen
        lengthFromCapture = fromCapture
        let datagramEnd = 40 + plen
        end = min(datagramEnd, bytes.count)
        var truncated = bytes.count < datagramEnd
        var next = IPProtocol(rawValue: bytes.b(6))
        var offset = 40
        var fragOff = 0, more = false, hasFrag = false, fragID: UInt32 = 0, fragEnd = 0, fragNext: UInt8 = 0
        var n = 0
        walk: while n < Self.maxExtensionHeaders {
            switch next {
            case .hopByHop, .ipv6Route, .ipv6Options:
                guard let nh = bytes.u8(at: offset), let len = bytes.u8(at: offset + 1), offset + 2 <= end else {
                    truncated = true; break walk
                }
                next = IPProtocol(rawValue: nh)
                offset += (Int(len) + 1) * 8
            case .ipv6Fragment:
                guard let nh = bytes.u8(at: offset), let fo = bytes.u16(at: offset + 2),
                      let id = bytes.u32(at: offset + 4), offset + 8 <= end else {
                    truncated = true; break walk
                }
                next = IPProtocol(rawValue: nh)
                fragOff = Int(fo & 0xfff8)
                more = fo & 1 != 0
                hasFrag = true
                fragID = id
                offset += 8
                fragEnd = offset; fragNext = nh
                if fragOff != 0 { break walk }
            case .ah:
                guard let nh = bytes.u8(at: offset), let len = bytes.u8(at: offset + 1), offset + 2 <= end else {
                    truncated = true; break walk
                }
                next = IPProtocol(rawValue: nh)
                offset += (Int(len) + 2) * 4
            default:
                break walk
            }
            n += 1
        }
        upperProtocol = next
        upperOffset = offset
        fragmentOffset = fragOff
        moreFragments = more
        hasFragmentHeader = hasFrag
        fragmentID = fragID
        fragmentHeaderEnd = fragEnd
        fragmentNextHeader = fragNext
        isTruncated = truncated || offset > end
    }

    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.be16(0) >> 4) }
    public var flowLabel: UInt32 { bytes.be32(0) & 0x000f_ffff }
    public var nextHeader: IPProtocol { IPProtocol(rawValue: bytes.b(6)) }
    public var hopLimit: UInt8 { bytes.b(7) }
    public var source: IPAddress { address(at: 8) }
    public var destination: IPAddress { address(at: 24) }
    private func address(at o: Int) -> IPAddress {  // o + 16 <= 40, validated at init
        IPAddress(v6hi: UInt64(bytes.be32(o)) << 32 | UInt64(bytes.be32(o + 4)),
                  lo: UInt64(bytes.be32(o + 8)) << 32 | UInt64(bytes.be32(o + 12)))
    }
    /// True for any piece of a fragmented datagram.
    public var isFragment: Bool { hasFragmentHeader && (moreFragments || fragmentOffset != 0) }
    /// The upper-layer bytes as captured (empty when the chain runs past the capture).
    public var payload: ByteView {
        upperOffset >= end ? bytes.slice(from: end, length: 0) : bytes.slice(from: upperOffset, length: end - upperOffset)
    }
}
