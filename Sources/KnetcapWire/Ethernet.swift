/// EtherType (IEEE 802 numbers). Open: an unknown value is data, not an error.
public struct EtherType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let ipv4 = Self(rawValue: 0x0800)
    public static let arp = Self(rawValue: 0x0806)
    public static let vlan = Self(rawValue: 0x8100)      // IEEE 802.1Q
    public static let qinq = Self(rawValue: 0x88a8)      // IEEE 802.1ad
    public static let vlanLegacy = Self(rawValue: 0x9100)
    public static let ipv6 = Self(rawValue: 0x86dd)

    /// tcpdump's name for the type in `-e` style output, or `ethertype 0x....`.
    public var name: String {
        switch self {
        case .ipv4: return "IPv4"
        case .ipv6: return "IPv6"
        case .arp: return "ARP"
        case .vlan: return "802.1Q"
        case .qinq: return "802.1Q-QinQ"
        default:
            let h = String(rawValue, radix: 16)
            return "ethertype 0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
    }
}

/// A 48-bit IEEE 802 MAC address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    @inlinable public init(_ value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }
    public init?(in bytes: ByteView, at offset: Int) {
        guard let hi = bytes.u16(at: offset), let lo = bytes.u32(at: offset + 2) else { return nil }
        self.init(UInt64(hi) << 32 | UInt64(lo))
    }
    /// `0a:58:0a:f4:00:01` (`TextBuffer.append(mac:)`).
    public var description: String {
        var b = TextBuffer(capacity: 17)
        b.append(mac: value)
        return b.string
    }
}

/// Ethernet II header with any number of 802.1Q / 802.1ad tags (IEEE 802.3, 802.1Q §9).
///
/// Layout: dst MAC 0..<6, src MAC 6..<12, EtherType (or TPID) 12..<14, then per tag 4 bytes
/// (TPID already read, TCI 2 bytes, inner type 2 bytes). `payloadOffset` is 14 + 4 × tags.
public struct EthernetView {
    enum Field { static let dst = 0; static let src = 6; static let type = 12; static let minLength = 14 }
    public static let maxTags = 4

    public let bytes: ByteView
    /// The innermost EtherType, after the VLAN tags.
    public let etherType: EtherType
    /// The VLAN tags read (at most `maxTags`), outermost first: `tag(i)`.
    public let vlanCount: Int
    /// Offset of the payload (the network layer).
    public let payloadOffset: Int

    /// - Throws: `WireError` (truncated) when the 14-byte header or a tag does not fit.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= Field.minLength else {
            throw WireError("ether", .truncated, need: Field.minLength, have: bytes.count)
        }
        self.bytes = bytes
        var type = EtherType(rawValue: bytes.be16(Field.type))
        var offset = Field.minLength
        var tags = 0
        while type == .vlan || type == .qinq || type == .vlanLegacy {
            guard tags < Self.maxTags else { break }
            guard let inner = bytes.u16(at: offset + 2) else {
                throw WireError("802.1Q", .truncated, need: offset + 4, have: bytes.count)
            }
            tags += 1
            type = EtherType(rawValue: inner)
            offset += 4
        }
        etherType = type
        vlanCount = tags
        payloadOffset = offset
    }

    /// The type field of the Ethernet header itself (the TPID `0x8100`/`0x88a8` of a tagged frame).
    public var outerType: EtherType { EtherType(rawValue: bytes.be16(Field.type)) }

    /// Tag `i` (`0..<vlanCount`, outermost first): the type that announced it (its TPID), its
    /// 12-bit id, and its 4 bytes (TCI and the type after it).
    public func tag(_ i: Int) -> (tpid: EtherType, id: UInt16, bytes: ByteView) {
        precondition(i >= 0 && i < vlanCount)
        let at = Field.minLength + 4 * i
        return (EtherType(rawValue: bytes.be16(at - 2)), bytes.be16(at) & 0x0fff, bytes.slice(from: at, length: 4))
    }

    public var destination: MACAddress { MACAddress(UInt64(bytes.be16(0)) << 32 | UInt64(bytes.be32(2))) }
    public var source: MACAddress { MACAddress(UInt64(bytes.be16(6)) << 32 | UInt64(bytes.be32(8))) }
    /// True when the type field is a length (IEEE 802.3 with LLC), not an EtherType.
    public var isLengthField: Bool { etherType.rawValue <= 1500 }
    public var payload: ByteView { bytes.suffix(from: payloadOffset) }
}
