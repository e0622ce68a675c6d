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
}
