import Testing
import KnetcapWire

/// `TextBuffer.append(bytes:)` moves up to 32 bytes by overlapping words (issue 11): every
/// length across the 3/4/8/16/32 boundaries, after every offset in a word, must land as
/// the bytes themselves, with nothing before or after touched. `append(mac:)` writes what
/// `MACAddress.description` does.
@Suite struct TextBufferTests {
    @Test func everyLengthAtEveryOffsetLandsAsItself() {
        for prefix in 0..<9 {
            for n in 0...70 {
                var b = TextBuffer(capacity: 16)  // grows on the way
                let head = (0..<prefix).map { UInt8(200 + $0) }
                let body = (0..<n).map { UInt8(($0 * 7 + n) % 251) }
                b.append(bytes: head)
                b.append(bytes: body)
                b.append(byte: 0xee)
                #expect(b.bytes == head + body + [0xee], "prefix \(prefix) length \(n)")
            }
        }
    }

    @Test func macAsMACAddressDescription() {
        for v: UInt64 in [0, 0x0a58_0af4_0001, 0xffff_ffff_ffff, 0x0123_4567_89ab, 0xa0b0_c0d0_e0f0] {
            var b = TextBuffer()
            b.append(mac: v)
            #expect(b.string == MACAddress(v).description)
        }
        var b = TextBuffer()
        b.append(mac: 0x0a58_0af4_0001)
        #expect(b.string == "0a:58:0a:f4:00:01")
    }

    /// `append(decimal:)` writes two digits a step from the back: every power of ten and its
    /// neighbours, the ends of UInt64 and Int64, and fixed widths, as `String(describing:)`.
    @Test func decimalsAtEveryPowerOfTen() {
        var values: [UInt64] = [0, 1, 9, UInt64.max, UInt64.max - 1]
        var p: UInt64 = 10
        for _ in 1...19 { values += [p - 1, p, p + 1]; if p <= UInt64.max / 10 { p *= 10 } else { break } }
        for v in values {
            var b = TextBuffer(capacity: 16)
            b.append(decimal: v)
            #expect(b.string == String(v))
        }
        for v: Int64 in [.min, .min + 1, -1, 0, .max] {
            var b = TextBuffer(capacity: 16)
            b.append(decimal: v)
            #expect(b.string == String(v))
        }
        var b = TextBuffer()
        b.append(decimal: 42, width: 9); b.append(byte: 32); b.append(decimal: 999_999_999, width: 9); b.append(byte: 32); b.append(decimal: 7, width: 2)
        #expect(b.string == "000000042 999999999 07")
    }
}
