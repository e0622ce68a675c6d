/// Text as Wireshark 4.0's `format_text` (wsutil/str_util.c) spells bytes a dissector shows as a
/// string, checked byte for byte against tshark 4.0 on crafted DNS names
/// (`Tests/Captures/crafted/dns-name-bytes.pcap`): printable ASCII as it is; other ASCII as
/// `\a \b \f \n \r \t \v` or a three-digit octal escape (`\001`, `\177`); a UTF-8 sequence
/// (leads of 2 to 6 bytes, overlong forms decoded too) as its character when printable, as
/// `\uXXXX` (`\UXXXXXXXX` past U+FFFF) when it is a control, format or unassigned character,
/// and as U+FFFD when it is cut short, a surrogate, past U+10FFFF, or a byte no sequence starts
/// with (one U+FFFD each; a cut sequence's next byte starts afresh).
public enum WiresharkText {
    /// The most bytes `format` writes for one input byte (`\001`; `\u000A` for 2 bytes).
    public static let maxExpansion = 4

    /// Calls `put` with each byte of the text for `bytes`.
    public static func format(_ bytes: some Collection<UInt8>, _ put: (UInt8) -> Void) {
        var i = bytes.startIndex
        func replacement() { put(0xef); put(0xbf); put(0xbd) }
        func hex(_ v: UInt32, digits: Int) {
            for k in stride(from: digits - 1, through: 0, by: -1) {
                let d = UInt8((v >> (4 * UInt32(k))) & 0xf)
                put(d < 10 ? 48 + d : 55 + d)
            }
        }
        while i != bytes.endIndex {
            let c = bytes[i]
            bytes.formIndex(after: &i)
            if c >= 0x20 && c < 0x7f { put(c); continue }
            if c < 0x80 {
                put(92)
                switch c {
                case 7: put(97)     // \a
                case 8: put(98)     // \b
                case 12: put(102)   // \f
                case 10: put(110)   // \n
                case 13: put(114)   // \r
                case 9: put(116)    // \t
                case 11: put(118)   // \v
                default: put(48 + (c >> 6)); put(48 + (c >> 3) & 7); put(48 + c & 7)
                }
                continue
            }
            var more: Int, uc: UInt32
            switch c {
            case 0xc0...0xdf: more = 1; uc = UInt32(c & 0x1f)
            case 0xe0...0xef: more = 2; uc = UInt32(c & 0x0f)
            case 0xf0...0xf7: more = 3; uc = UInt32(c & 0x07)
            case 0xf8...0xfb: more = 4; uc = UInt32(c & 0x03)
            case 0xfc...0xfd: more = 5; uc = UInt32(c & 0x01)
            default: replacement(); continue
            }
            while more > 0, i != bytes.endIndex, bytes[i] & 0xc0 == 0x80 {
                uc = uc << 6 | UInt32(bytes[i] & 0x3f)
                bytes.formIndex(after: &i)
                more -= 1
            }
            guard more == 0, let scalar = Unicode.Scalar(uc) else { replacement(); continue }
            switch scalar.properties.generalCategory {
            case .control, .format, .unassigned, .surrogate:
                put(92)
                if uc <= 0xffff { put(117); hex(uc, digits: 4) } else { put(85); hex(uc, digits: 8) }
            default:
                for b in scalar.utf8 { put(b) }
            }
        }
    }
}
