/// ICMP (RFC 792) and ICMPv6 (RFC 4443) messages.
///
/// Layout: type 0, code 1, checksum 2..<4, then 4 bytes whose meaning depends on the type
/// (echo: identifier 4..<6, sequence 6..<8), then the data. Error messages (IPv4 destination
/// unreachable 3, source quench 4, redirect 5, time exceeded 11, parameter problem 12; ICMPv6
/// types 1–4) quote the offending datagram's IP header and at least 8 bytes of its payload
/// from offset 8, which `quoted` exposes. Validated at init: the 4-byte header captured.
public struct ICMPView {
    public let bytes: ByteView
    public let isV6: Bool

    /// - Throws: `WireError` truncated when fewer than 4 bytes were captured.
    public init(_ bytes: ByteView, v6: Bool) throws(WireError) {
        guard bytes.count >= 4 else { throw WireError(v6 ? "icmp6" : "icmp", .truncated, need: 4, have: bytes.count) }
        self.bytes = bytes
        isV6 = v6
    }

    public var type: UInt8 { bytes.b(0) }
    public var code: UInt8 { bytes.b(1) }
    public var checksum: UInt16 { bytes.be16(2) }
    /// Echo identifier and sequence (`nil` when not captured).
    public var identifier: UInt16? { bytes.u16(at: 4) }
    public var sequence: UInt16? { bytes.u16(at: 6) }

    public var isEcho: Bool { isV6 ? (type == 128 || type == 129) : (type == 8 || type == 0) }
    public var isError: Bool {
        if isV6 { return (1...4).contains(type) }
        switch type { case 3, 4, 5, 11, 12: return true; default: return false }
    }
    /// Port unreachable: ICMP 3/3 or ICMPv6 1/4.
    public var isPortUnreachable: Bool { isV6 ? (type == 1 && code == 4) : (type == 3 && code == 3) }

    /// The quoted datagram of an error message: its addresses, protocol and ports when captured.
    public var quoted: QuotedDatagram? {
        guard isError else { return nil }
        let inner = bytes.suffix(from: 8)
        if isV6 {
            guard let ip = try? IPv6View(inner) else { return nil }
            let ports = ip.payload
            return QuotedDatagram(source: ip.source, destination: ip.destination, proto: ip.upperProtocol,
                                  sourcePort: ports.u16(at: 0), destinationPort: ports.u16(at: 2))
        } else {
            // The quoted header may claim a total length beyond what was quoted: read ports raw.
            guard inner.count >= 20, let vihl = inner.u8(at: 0), vihl >> 4 == 4 else { return nil }
            let hl = Int(vihl & 0x0f) * 4
            guard hl >= 20, let src = IPAddress(v4In: inner, at: 12), let dst = IPAddress(v4In: inner, at: 16),
                  let proto = inner.u8(at: 9) else { return nil }
            return QuotedDatagram(source: src, destination: dst, proto: IPProtocol(rawValue: proto),
                                  sourcePort: inner.u16(at: hl), destinationPort: inner.u16(at: hl + 2))
        }
    }

    /// tcpdump's text for the message, e.g. `ICMP echo request, id 1, seq 1, length 64` or
    /// `ICMP 10.0.0.2 udp port 53 unreachable, length 68`. `length` is the ICMP message length.
    public func summary(into out: inout TextBuffer, length: Int) {
        if isV6 {
            out.append("ICMP6, ")
            switch type {
            case 128, 129:
                out.append(type == 128 ? "echo request" : "echo reply")
                out.append(", id "); out.append(decimal: identifier ?? 0)
                out.append(", seq "); out.append(decimal: sequence ?? 0)
            case 1:
                out.append("destination unreachable")
                if let q = quoted, isPortUnreachable {
                    out.append(", unreachable port, "); out.append(q.destination)
                    out.append(q.proto == .udp ? " udp port " : " tcp port "); out.append(decimal: q.destinationPort ?? 0)
                }
            case 2: out.append("packet too big")
            case 3: out.append("time exceeded in-transit")
            case 4: out.append("parameter problem")
            case 133: out.append("router solicitation")
            case 134: out.append("router advertisement")
            case 135: out.append("neighbor solicitation")
            case 136: out.append("neighbor advertisement")
            case 143: out.append("multicast listener report v2")
            default: out.append("type-#"); out.append(decimal: type)
            }
            out.append(", length "); out.append(decimal: length)
            return
        }
        out.append("ICMP ")
        switch type {
        case 0, 8:
            out.append(type == 8 ? "echo request" : "echo reply")
            out.append(", id "); out.append(decimal: identifier ?? 0)
            out.append(", seq "); out.append(decimal: sequence ?? 0)
        case 3:
            if let q = quoted {
                switch code {
                case 3:
                    guard let port = q.destinationPort else { out.append("[|icmp]"); return }
                    out.append(q.destination)
                    if q.proto == .udp || q.proto == .tcp {
                        out.append(q.proto == .udp ? " udp port " : " tcp port ")
                    } else {
                        out.append(" protocol "); out.append(decimal: q.proto.rawValue); out.append(" port ")
                    }
                    out.append(decimal: port); out.append(" unreachable")
                case 1: out.append("host "); out.append(q.destination); out.append(" unreachable")
                case 0: out.append("net "); out.append(q.destination); out.append(" unreachable")
                case 2: out.append(q.destination); out.append(" protocol "); out.append(decimal: q.proto.rawValue); out.append(" unreachable")
                case 4: out.append(q.destination); out.append(" unreachable - need to frag")
                case 13: out.append("host "); out.append(q.destination); out.append(" unreachable - admin prohibited filter")
                default: out.append(q.destination); out.append(" unreachable - code "); out.append(decimal: code)
                }
            } else {
                out.append("unreachable")
            }
        case 11: out.append(code == 0 ? "time exceeded in-transit" : "ip reassembly time exceeded")
        case 5: out.append("redirect")
        case 12: out.append("parameter problem")
        default: out.append("type-#"); out.append(decimal: type)
        }
        out.append(", length "); out.append(decimal: length)
    }
}

/// The header fields an ICMP error quotes from the datagram that caused it.
public struct QuotedDatagram: Sendable, Equatable {
    public var source: IPAddress
    public var destination: IPAddress
    public var proto: IPProtocol
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
}
