/// Linux "cooked" capture headers, written by libpcap for `-i any`.
///
/// SLL (LINKTYPE_LINUX_SLL, 113), 16 bytes: packet type 0..<2, ARPHRD type 2..<4,
/// address length 4..<6, address 6..<14, protocol 14..<16.
/// SLL2 (LINKTYPE_LINUX_SLL2, 276), 20 bytes: protocol 0..<2, reserved 2..<4,
/// interface index 4..<8, ARPHRD type 8..<10, packet type 10, address length 11,
/// address 12..<20. (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html)
public struct LinuxCookedView {
    public enum Version: Sendable { case v1, v2 }
    public let bytes: ByteView
    public let version: Version
    /// The protocol of the payload; an EtherType for `ARPHRD_ETHER`-like devices.
    public let protocolType: EtherType
    /// 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    public let packetType: UInt16
    public let arphrdType: UInt16
    /// Interface index (SLL2 only; 0 for SLL).
    public let interfaceIndex: UInt32
    public let payloadOffset: Int

    /// - Throws: `WireError` (truncated) when the 16- or 20-byte header does not fit.
    public init(_ bytes: ByteView, version: Version) throws(WireError) {
        self.bytes = bytes
        self.version = version
        switch version {
        case .v1:
            guard bytes.count >= 16 else { throw WireError("sll", .truncated, need: 16, have: bytes.count) }
            packetType = bytes.be16(0)
            arphrdType = bytes.be16(2)
            protocolType = EtherType(rawValue: bytes.be16(14))
            interfaceIndex = 0
            payloadOffset = 16
        case .v2:
            guard bytes.count >= 20 else { throw WireError("sll2", .truncated, need: 20, have: bytes.count) }
            protocolType = EtherType(rawValue: bytes.be16(0))
            interfaceIndex = bytes.be32(4)
            arphrdType = bytes.be16(8)
            packetType = UInt16(bytes.b(10))
            payloadOffset = 20
        }
    }

    /// tcpdump's direction word for `-i any` output: `In`, `B`, `M`, `P`, `Out`.
    public var directionName: String {
        switch packetType {
        case 0: return "In"
        case 1: return "B"
        case 2: return "M"
        case 3: return "P"
        case 4: return "Out"
        default: return "?"
        }
    }
    public var payload: ByteView { bytes.suffix(from: payloadOffset) }
}

/// BSD loopback (LINKTYPE_NULL 0, host byte order; LINKTYPE_LOOP 108, network byte order):
/// a 4-byte address family, then the IP packet. AF_INET is 2; AF_INET6 is 10 (Linux),
/// 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin).
public struct NullLoopbackView {
    public let family: UInt32
    public let bytes: ByteView
    /// - Throws: `WireError` (truncated) when the 4-byte family does not fit.
    public init(_ bytes: ByteView, networkOrder: Bool) throws(WireError) {
        guard let fam = networkOrder ? bytes.u32(at: 0) : bytes.u32le(at: 0) else {
            throw WireError("null", .truncated, need: 4, have: bytes.count)
        }
        // A big-endian capture read as little-endian shows the family in the high bytes.
        family = fam & 0xFFFF_0000 != 0 && fam & 0xFFFF == 0 ? fam.byteSwapped : fam
        self.bytes = bytes
    }
    public var isIPv4: Bool { family == 2 }
    public var isIPv6: Bool { family == 10 || family == 24 || family == 28 || family == 30 }
    public var payload: ByteView { bytes.suffix(from: 4) }
}

/// Linux NFLOG (LINKTYPE_NFLOG 239), written by iptables/nftables `log group N` captures
/// (`tcpdump -i nflog:N`): a 4-byte header (address family, version, resource id) then TLVs
/// whose length and type are in host byte order (libpcap swaps them on read), each padded to
/// 4 bytes. TLV type 9 (NFULA_PAYLOAD) carries the IP packet.
/// (tcpdump.org/linktypes/LINKTYPE_NFLOG.html)
public struct NFLOGView {
    public static let payloadType: UInt16 = 9
    public let family: UInt8
    /// The packet inside NFULA_PAYLOAD, or `nil` when there is none.
    public let payload: ByteView?

    /// - Throws: `WireError` truncated when the 4-byte header does not fit.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 4 else { throw WireError("nflog", .truncated, need: 4, have: bytes.count) }
        family = bytes.b(0)
        var o = 4
        var found: ByteView? = nil
        while o + 4 <= bytes.count {
            let len = Int(UInt16(bytes.b(o)) | UInt16(bytes.b(o + 1)) << 8)
            let type = UInt16(bytes.b(o + 2)) | UInt16(bytes.b(o + 3)) << 8
            guard len >= 4 else { break }  // a zero length would never advance
            if type & 0x7fff == Self.payloadType {
                found = bytes.slice(from: o + 4, length: len - 4)
                break
            }
            o += (len + 3) & ~3
        }
        payload = found
    }
    public var isIPv4: Bool { family == 2 }
    public var isIPv6: Bool { family == 10 }
}
