/// TCP header (RFC 9293 §3.1).
///
/// Layout: ports 0..<4, sequence 4..<8, acknowledgment 8..<12, data offset (4 bits) and flags
/// 12..<14, window 14..<16, checksum 16..<18, urgent pointer 18..<20, options to
/// data offset × 4. Validated at init: the 20-byte fixed header captured and data offset ≥ 5.
/// Options cut by the snaplen leave the view usable with `isTruncated` set (the fixed fields
/// are kept, the cut options are not walked).
public struct TCPView {
    public let bytes: ByteView
    /// Data offset × 4, in bytes, as the header says.
    public let headerLength: Int
    /// The header's options were not all captured.
    public let isTruncated: Bool

    /// - Throws: `WireError` truncated (< 20 bytes) or malformed (data offset < 5).
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= 20 else { throw WireError("tcp", .truncated, need: 20, have: bytes.count) }
        let hl = Int(bytes.b(12) >> 4) * 4
        guard hl >= 20 else { throw WireError("tcp", .malformed, need: 20, have: hl, reason: "data offset") }
        self.bytes = bytes
        headerLength = hl
        isTruncated = bytes.count < hl
    }

    public var sourcePort: UInt16 { bytes.be16(0) }
    public var destinationPort: UInt16 { bytes.be16(2) }
    public var sequence: UInt32 { bytes.be32(4) }
    public var acknowledgment: UInt32 { bytes.be32(8) }
    /// The flag bits FIN 0x01 … CWR 0x80, and AE (0x100, RFC 9768) in the high byte.
    public var flags: TCPFlags { TCPFlags(rawValue: bytes.be16(12) & 0x01ff) }
    /// The 12 bits after the data offset, the 3 reserved bits (RFC 9293 §3.1: must be zero)
    /// included: Wireshark's `tcp.flags` (mask 0x0FFF).
    public var flagBits: UInt16 { bytes.be16(12) & 0x0fff }
    public var window: UInt16 { bytes.be16(14) }
    public var checksum: UInt16 { bytes.be16(16) }
    public var urgentPointer: UInt16 { bytes.be16(18) }
    /// Options as captured; empty when the header was cut (so a cut option is never misread).
    public var options: ByteView { isTruncated ? bytes.slice(from: 20, length: 0) : bytes.slice(from: 20, length: headerLength - 20) }
    public var payload: ByteView { bytes.suffix(from: headerLength) }

    /// Walks the options (RFC 9293 §3.2, RFC 7323, RFC 2018). Every step advances at least one
    /// byte; a length below 2 or past the end stops the walk and yields `.malformed`.
    public func forEachOption(_ body: (TCPOption) -> Void) {
        let o = options
        var i = 0
        while i < o.count {
            let kind = o.b(i)
            if kind == 0 { body(.eol); return }
            if kind == 1 { body(.nop); i += 1; continue }
            guard let lenByte = o.u8(at: i + 1) else { body(.malformed(kind: kind)); return }
            let len = Int(lenByte)
            guard len >= 2, i + len <= o.count else { body(.malformed(kind: kind)); return }
            body(Self.option(kind: kind, length: len, at: i, in: o))
            i += len
        }
    }

    /// The options of a header cut by the snaplen (`isTruncated`), as tcpdump 4.99 prints
    /// them (print-tcp.c's option loop) after `, options [`: each option captured whole as
    /// `TCPOption.write` spells it, `,` between them, then where the cut falls: ` [|tcp]` when
    /// it cuts the next option's kind or length byte (after the `,`), or the option's name and
    /// ` [|tcp]` when it cuts its data, with `>` after when an option came before it
    /// (tcpdump's `trunc:` label). A length below 2 or past the header is `[bad opt]` (and `]`
    /// after an option). Returns true when the line goes on (an `eol` before the cut: `]`
    /// written), false when it ends here. Every read is checked.
    public func writeCutOptions(to out: inout TextBuffer) -> Bool {
        let b = bytes
        var i = 20
        var left = headerLength - 20
        var first = true
        while left > 0 {
            if !first { out.append(",") }
            guard let kind = b.u8(at: i) else { out.append(" [|tcp]"); return false }
            var len = 1
            if kind > 1 {
                guard let l = b.u8(at: i + 1) else { out.append(" [|tcp]"); return false }
                len = Int(l)
                if len < 2 || len > left {
                    out.append("[bad opt]")
                    if !first { out.append("]") }
                    return false
                }
            }
            // What tcpdump reads of the option's data before printing it (LENCHECK).
            let need: Int
            switch kind {
            case 2: need = 2
            case 3: need = 1
            case 6, 7, 11, 12, 13: need = 4
            case 8: need = 8
            case 0, 1, 4: need = 0
            default: need = len - 2
            }
            if kind > 1 && need > left - 2 {  // data past the header (tcpdump's LENCHECK: bad)
                out.append(Self.optionName(kind)); out.append("[bad opt]")
                if !first { out.append("]") }
                return false
            }
            if i + (kind > 1 ? 2 : 1) + need > b.count || (kind > 1 && i + len > b.count) {
                // Cut inside its data: its name (a SACK's block count), then the cut.
                out.append(Self.optionName(kind))
                if kind == 5 && (len - 2) % 8 == 0 { out.append(" "); out.append(decimal: (len - 2) / 8); out.append(" ") }
                out.append(" [|tcp]")
                if !first { out.append(">") }
                return false
            }
            // Captured whole: as the uncut line prints it.
            let whole = TCPView.option(kind: kind, length: len, at: i, in: b)
            whole.write(to: &out)
            first = false
            i += len
            left -= len
            if kind == 0 { out.append("]"); return true }
        }
        out.append("]")
        return true
    }

    /// tcpdump's name of option `kind` (print-tcp.c's tcp_option_values; `unknown-K` else).
    static func optionName(_ kind: UInt8) -> String {
        switch kind {
        case 0: return "eol"
        case 1: return "nop"
        case 2: return "mss"
        case 3: return "wscale"
        case 4: return "sackOK"
        case 5: return "sack"
        case 6: return "echo"
        case 7: return "echoreply"
        case 8: return "TS"
        case 11: return "cc"
        case 12: return "ccnew"
        case 13: return ""
        case 19: return "md5"
        case 20: return "scps"
        case 28: return "uto"
        case 29: return "tcp-ao"
        case 30: return "mptcp"
        case 34: return "tfo"
        case 254: return "exp"
        default: return "unknown-\(kind)"
        }
    }

    /// The option of `kind` and `length` at `i` in `o`, wholly inside `o` (as `forEachOption`
    /// reads it).
    static func option(kind: UInt8, length len: Int, at i: Int, in o: ByteView) -> TCPOption {
        switch (kind, len) {
        case (0, _): return .eol
        case (1, _): return .nop
        case (2, 4): return .mss(o.be16(i + 2))
        case (3, 3): return .windowScale(o.b(i + 2))
        case (4, 2): return .sackPermitted
        case (5, _) where (len - 2) % 8 == 0: return .sack(blocks: (len - 2) / 8)
        case (8, 10): return .timestamp(value: o.be32(i + 2), echo: o.be32(i + 6))
        default: return .other(kind: kind, length: len)
        }
    }

    /// The TSval of the Timestamps option (RFC 7323 §3), or `nil` when absent.
    public var timestampValue: UInt32? {
        var v: UInt32? = nil
        forEachOption { if case .timestamp(let a, _) = $0 { v = a } }
        return v
    }

    /// The options as values (allocates; for tests and JSON).
    public var optionList: [TCPOption] {
        var r: [TCPOption] = []
        forEachOption { r.append($0) }
        return r
    }
}

/// TCP flag bits (RFC 9293 §3.1; RFC 3168 ECE/CWR; RFC 9768 AE).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = Self(rawValue: 0x01)
    public static let syn = Self(rawValue: 0x02)
    public static let rst = Self(rawValue: 0x04)
    public static let psh = Self(rawValue: 0x08)
    public static let ack = Self(rawValue: 0x10)
    public static let urg = Self(rawValue: 0x20)
    public static let ece = Self(rawValue: 0x40)
    public static let cwr = Self(rawValue: 0x80)
    public static let ae = Self(rawValue: 0x100)

    /// tcpdump's flag letters in its order: F S R P . U E W e; `none` when empty.
    public func write(to out: inout TextBuffer) {
        if rawValue == 0 { out.append("none"); return }
        if contains(.fin) { out.append("F") }
        if contains(.syn) { out.append("S") }
        if contains(.rst) { out.append("R") }
        if contains(.psh) { out.append("P") }
        if contains(.ack) { out.append(".") }
        if contains(.urg) { out.append("U") }
        if contains(.ece) { out.append("E") }
        if contains(.cwr) { out.append("W") }
        if contains(.ae) { out.append("e") }
    }
}

/// One TCP option.
public enum TCPOption: Equatable, Sendable {
    case eol, nop
    case mss(UInt16)
    case windowScale(UInt8)
    case sackPermitted
    case sack(blocks: Int)
    case timestamp(value: UInt32, echo: UInt32)
    case other(kind: UInt8, length: Int)
    case malformed(kind: UInt8)

    /// tcpdump's spelling inside `options [...]`.
    public func write(to out: inout TextBuffer) {
        switch self {
        case .eol: out.append("eol")
        case .nop: out.append("nop")
        case .mss(let v): out.append("mss "); out.append(decimal: v)
        case .windowScale(let v): out.append("wscale "); out.append(decimal: v)
        case .sackPermitted: out.append("sackOK")
        case .sack(let n): out.append("sack "); out.append(decimal: n)
        case .timestamp(let v, let e): out.append("TS val "); out.append(decimal: v); out.append(" ecr "); out.append(decimal: e)
        case .other(let k, let l): out.append("opt-"); out.append(decimal: k); out.append(":"); out.append(decimal: l - 2)
        case .malformed: out.append("bad opt")
        }
    }
}
