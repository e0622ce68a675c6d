import KnetcapWire
import KnetcapDissect

/// Every link type the dissector handles (`LinkType.isSupported`), in a fixed order: a
/// harness picks one with an input byte.
public let supportedLinkTypes: [LinkType] = [
    .ethernet, .raw, .linuxSLL, .linuxSLL2, .null, .loop, .ipv4, .ipv6, .nflog, .rawOpenBSD, .rawLinktype,
]

/// Builds IPv4 frames (LINKTYPE_RAW) around a transport payload: fixed addresses
/// 10.0.0.1 -> 10.0.0.2, no checksums (knetcap does not verify them).
public enum Frames {
    public static func ipv4(proto: UInt8, _ payload: [UInt8], src: UInt32 = 0x0a00_0001, dst: UInt32 = 0x0a00_0002) -> [UInt8] {
        let total = min(20 + payload.count, 65535)
        var b: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, proto, 0, 0]
        b += be32(src) + be32(dst)
        return b + payload.prefix(total - 20)
    }

    public static func udp(sport: UInt16, dport: UInt16, _ data: [UInt8]) -> [UInt8] {
        let len = min(8 + data.count, 65535)
        return be16(sport) + be16(dport) + be16(UInt16(len)) + [0, 0] + data
    }

    /// A TCP header (20 bytes, no options) and `data`.
    public static func tcp(sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32 = 0, flags: UInt16 = 0x18,
                           _ data: [UInt8]) -> [UInt8] {
        be16(sport) + be16(dport) + be32(seq) + be32(ack) + [0x50 | UInt8(flags >> 8 & 0x0f), UInt8(flags & 0xff)]
            + [0xff, 0xff, 0, 0, 0, 0] + data
    }

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}

/// Calls `body` with the packet `bytes` dissect to (valid only during the call).
public func withPacket<R>(_ bytes: [UInt8], link: LinkType = .raw, number: Int = 1,
                          timestamp: Timestamp = Timestamp(seconds: 1_700_000_000, nanoseconds: 0),
                          originalLength: Int? = nil, _ body: (inout Packet) -> R) -> R {
    bytes.withUnsafeBytes { raw in
        var p = Dissector(linkType: link).dissect(ByteView(raw), number: number, timestamp: timestamp,
                                                  originalLength: max(originalLength ?? raw.count, raw.count))
        return body(&p)
    }
}

/// Reads every field the registry knows from `p` (the `-Y` readers and the JSON readers), so
/// each reader runs on the packet; returns how many values were seen.
@discardableResult
public func readEveryField(_ p: Packet) -> Int {
    var n = 0
    for d in FieldRegistry.all {
        _ = d.read(p) { v in n &+= touch(v); return false }
    }
    p.forEachJSONField { _, v in n &+= touch(v) }
    return n
}

@inline(never) func touch(_ v: FieldValue) -> Int {
    switch v {
    case .uint(let x): return Int(truncatingIfNeeded: x)
    case .bool(let b): return b ? 1 : 0
    case .ip(let a): return Int(truncatingIfNeeded: a.mix)
    case .ether(let e): return Int(truncatingIfNeeded: e)
    case .ns(let x): return Int(truncatingIfNeeded: x)
    case .time(let t): return Int(truncatingIfNeeded: t.seconds) &+ Int(t.nanoseconds)
    case .bytes(let b): return b.count &+ Int(b.last ?? 0)
    }
}

/// The packet line in every timestamp style knetcap prints (one printer, state kept).
public func printLine(_ p: Packet, style: TimestampStyle, nano: Bool = false, absolute: Bool = false) -> Int {
    var printer = PacketLinePrinter(timestampStyle: style, nanoseconds: nano, printNumber: true,
                                    absoluteSequence: absolute, utcOffset: { _ in 3600 })
    var out = TextBuffer()
    printer.write(p, to: &out)
    return out.count
}

public let allTimestampStyles: [TimestampStyle] = [.none, .timeOfDay, .epoch, .deltaPrevious, .dateTime, .deltaFirst]
