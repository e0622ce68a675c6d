/// GRE header: version 0 (RFC 2784, with RFC 2890's key and sequence number): C (0x8000),
/// K (0x2000) and S (0x1000) flags, the Protocol Type of the payload (an EtherType: 0x0800
/// IPv4, 0x86DD IPv6, 0x6558 Ethernet), then checksum+reserved, key and sequence number when
/// their flags are set; version 1, PPTP's enhanced GRE (RFC 2637 §4.1): K always set, its
/// key the payload length and call ID (16 bits each), then the sequence number (S) and the
/// acknowledgment number (A, 0x0080), carrying PPP (0x880B). IP protocol 47. Validated at
/// init: version 0 or 1 (with K) and the header captured.
public struct GREView {
    public let bytes: ByteView
    public let headerLength: Int

    /// - Throws: `WireError` truncated when the header was not captured, malformed when the
    ///   version is not 0 or 1, or a version 1 header has no key (RFC 2637: K is always set).
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 4 else { throw WireError("gre", .truncated, need: 4, have: bytes.count) }
        let f = bytes.be16(0)
        switch f & 0x7 {
        case 0: headerLength = 4 + (f & 0x8000 != 0 ? 4 : 0) + (f & 0x2000 != 0 ? 4 : 0) + (f & 0x1000 != 0 ? 4 : 0)
        case 1:
            guard f & 0x2000 != 0 else { throw WireError("gre", .malformed, need: 1, have: 0, reason: "enhanced GRE without its key") }
            headerLength = 8 + (f & 0x1000 != 0 ? 4 : 0) + (f & 0x0080 != 0 ? 4 : 0)
        default: throw WireError("gre", .malformed, need: 0, have: Int(f & 0x7), reason: "version")
        }
        guard bytes.count >= headerLength else { throw WireError("gre", .truncated, need: headerLength, have: bytes.count) }
        self.bytes = bytes
    }
    public var flagsAndVersion: UInt16 { bytes.be16(0) }
    public var protocolType: UInt16 { bytes.be16(2) }
    /// 0, or 1 for PPTP's enhanced GRE.
    public var version: Int { Int(flagsAndVersion & 0x7) }
    /// The key (RFC 2890 §2.1), when K is set (version 0).
    public var key: UInt32? {
        guard version == 0, flagsAndVersion & 0x2000 != 0 else { return nil }
        return bytes.be32(flagsAndVersion & 0x8000 != 0 ? 8 : 4)
    }
    /// Version 1: the payload length and the call ID (the key's halves).
    public var payloadLength: UInt16? { version == 1 ? bytes.be16(4) : nil }
    public var callID: UInt16? { version == 1 ? bytes.be16(6) : nil }
    /// The sequence number, when S is set.
    public var sequenceNumber: UInt32? {
        let f = flagsAndVersion
        guard f & 0x1000 != 0 else { return nil }
        return bytes.be32(version == 1 ? 8 : 4 + (f & 0x8000 != 0 ? 4 : 0) + (f & 0x2000 != 0 ? 4 : 0))
    }
    /// Version 1: the acknowledgment number, when A is set.
    public var acknowledgmentNumber: UInt32? {
        let f = flagsAndVersion
        guard version == 1, f & 0x0080 != 0 else { return nil }
        return bytes.be32(f & 0x1000 != 0 ? 12 : 8)
    }
    public var payload: ByteView { bytes.suffix(from: headerLength) }
}

extension GREView {
    /// tcpdump 4.99's line for PPTP's enhanced GRE (print-gre.c, gre_print_1, without -v):
    /// `GREv1, call 0, seq 0, length 60: ` then the PPP frame it carries (`PPP.summary`);
    /// `, no-payload` without a sequence number (an acknowledgment alone). `length` is the IP
    /// payload length, as tcpdump prints it.
    public func summary(into out: inout TextBuffer, length: Int) { Self.summaryV1(bytes, length: length, into: &out) }

    /// The same from `b`, a version 1 header perhaps cut by the snaplen: what was captured,
    /// then ` [|gre]` where tcpdump stops. Every read is checked.
    public static func summaryV1(_ b: ByteView, length: Int, into out: inout TextBuffer) {
        guard let f = b.u16(at: 0) else { out.append(" [|gre]"); return }
        out.append("GREv1")
        guard let proto = b.u16(at: 2) else { out.append(" [|gre]"); return }
        var i = 4
        if f & 0x2000 != 0 {
            guard let call = b.u16(at: 6) else { out.append(" [|gre]"); return }
            out.append(", call "); out.append(decimal: call); i += 4
        }
        let hasSequence = f & 0x1000 != 0
        if hasSequence {
            guard let s = b.u32(at: i) else { out.append(" [|gre]"); return }
            out.append(", seq "); out.append(decimal: s); i += 4
        }
        if f & 0x0080 != 0 {
            guard let a = b.u32(at: i) else { out.append(" [|gre]"); return }
            out.append(", ack "); out.append(decimal: a); i += 4
        }
        if !hasSequence { out.append(", no-payload") }
        out.append(", length "); out.append(decimal: length)
        guard hasSequence else { return }
        if proto == 0x880b {
            out.append(": ")
            PPP.summary(b.suffix(from: i), length: length - i, into: &out)
        } else {
            out.append("unknown-proto-"); out.append(hex: proto, width: 4)
        }
    }
}

/// A PPP frame (RFC 1661), as carried in PPTP's GRE: named as tcpdump 4.99 names it
/// (print-ppp.c, ppp_print without -v): an optional HDLC address and control (0xff03), the
/// protocol (one byte when odd, RFC 1661 §6.5), and for a control protocol (LCP, IPCP, ...)
/// its code, identifier and length: `LCP, Conf-Request (0x01), id 0, length 46`. Other
/// protocols are named only (tcpdump decodes their contents too). `length` is the frame's
/// length as the headers before it say (what tcpdump prints), `b` what was captured of it.
/// Every read is checked.
public enum PPP {
    public static func summary(_ b: ByteView, length: Int, into out: inout TextBuffer) {
        var i = b.u16(at: 0) == 0xff03 ? 2 : 0
        guard let first = b.u8(at: i) else { out.append(" [|ppp]"); return }
        let proto: UInt16
        if first % 2 == 1 { proto = UInt16(first); i += 1 } else {
            guard let p = b.u16(at: i) else { out.append(" [|ppp]"); return }
            proto = p; i += 2
        }
        let rest = length - i
        if let name = controlProtocols[proto] {
            out.append(name); out.append(", ")
            if rest < 4 { out.append(" [|ppp]"); return }
            guard let code = b.u8(at: i), let id = b.u8(at: i + 1) else { out.append("[|"); out.append(name); out.append("]"); return }
            out.append(codes[code] ?? "Unknown Opcode"); out.append(" (0x"); out.append(hex: code, width: 2)
            out.append("), id "); out.append(decimal: id); out.append(", length "); out.append(decimal: rest + 2)
        } else if let name = otherProtocols[proto] {
            out.append(name)
        } else {
            out.append("unknown PPP protocol (0x"); out.append(hex: proto, width: 4); out.append(")")
        }
    }
    /// print-ppp.c's ppptype2str names of the control protocols handle_ctrl_proto prints.
    static let controlProtocols: [UInt16: String] = [0xc021: "LCP", 0x8021: "IPCP", 0x8023: "OSICP", 0x8281: "MPLSCP",
                                                      0x8057: "IP6CP", 0x80fd: "CCP", 0xc02b: "BACP"]
    static let otherProtocols: [UInt16: String] = [0x0021: "IP", 0x0057: "IP6", 0xc223: "CHAP", 0xc023: "PAP"]
    /// print-ppp.c's cpcodes.
    static let codes: [UInt8: String] = [0: "Vend-Ext", 1: "Conf-Request", 2: "Conf-Ack", 3: "Conf-Nack", 4: "Conf-Reject",
                                         5: "Term-Request", 6: "Term-Ack", 7: "Code-Reject", 8: "Prot-Reject", 9: "Echo-Request",
                                         10: "Echo-Reply", 11: "Disc-Req", 12: "Ident", 13: "Time-Rem", 14: "Reset-Req", 15: "Reset-Ack"]
}
