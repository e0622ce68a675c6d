import Testing
import KnetcapWire

/// `DNSView.name(at:lowercased:)` and `withName(at:)` copy a plain label eight bytes a step
/// (issue 11). Every byte value 0...255, in labels of every length 1...63 (so every position
/// of a byte within the eight-byte step and the byte-by-byte tail), must come out as the plain
/// one-byte-at-a-time rule spells it: tcpdump's `\DDD` outside `!`...`~` with A-Z folded when
/// asked, and Wireshark's `format_text` (`WiresharkText.format`, itself checked against tshark
/// in TsharkAgreementTests) for `withName`.
@Suite struct DNSNameTextTests {
    /// One label of `length` bytes, each `(seed + k * 37) % 256` (or, `printable`, each
    /// `33 + (seed + k * 37) % 94`: a label with nothing to escape takes the eight-byte path
    /// whole), as a DNS message.
    func message(length: Int, seed: Int, printable: Bool) -> ([UInt8], [UInt8]) {
        let label = (0..<length).map { printable ? UInt8(33 + (seed + $0 * 37) % 94) : UInt8((seed + $0 * 37) % 256) }
        return ([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, UInt8(length)] + label + [3, 0x4b, 0x38, 0x73, 0, 0, 1, 0, 1], label)
    }

    func tcpdumpText(_ label: [UInt8], fold: Bool) -> String {
        var out: [UInt8] = []
        for c in label + [46, 0x4b, 0x38, 0x73] {
            if c > 32 && c < 127 { out.append(fold && c >= 65 && c <= 90 ? c | 0x20 : c) }
            else { out += Array("\\\(c / 100)\(c / 10 % 10)\(c % 10)".utf8) }
        }
        // The dot between labels is not escaped (it was appended above as a label byte).
        return String(decoding: out, as: UTF8.self)
    }

    @Test func everyByteAtEveryPositionAsTheOneByteRule() {
        var checked = 0
        for length in 1...63 {
            for seed in stride(from: 0, to: 256, by: 5) {
              for printable in [false, true] {
                let (m, label) = message(length: length, seed: seed, printable: printable)
                m.withUnsafeBytes { raw in
                    let d = try! DNSView(ByteView(raw))
                    #expect(d.name(at: 12) == tcpdumpText(label, fold: false), "length \(length) seed \(seed)")
                    #expect(d.name(at: 12, lowercased: true) == tcpdumpText(label, fold: true), "length \(length) seed \(seed)")
                    var want: [UInt8] = []
                    WiresharkText.format(label) { want.append($0) }
                    want += Array(".K8s".utf8)
                    let got = d.withName(at: 12) { b in
                        #expect(b.map(Array.init) == want, "length \(length) seed \(seed)")
                        return true
                    }
                    #expect(got)
                }
                checked += 1
              }
            }
        }
        #expect(checked == 63 * 52 * 2)
    }

    @Test func upperCaseNeighboursFoldOnlyAToZ() {
        // '@' (0x40) and '[' (0x5b) sit either side of A-Z; '`' and '{' either side of a-z.
        let label = Array("@AZ[`az{Kubernetes-DNS.Svc".utf8).map { $0 == 46 ? 95 : $0 }
        let m: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, UInt8(label.count)] + label + [0, 0, 1, 0, 1]
        m.withUnsafeBytes { raw in
            let d = try! DNSView(ByteView(raw))
            #expect(d.name(at: 12, lowercased: true) == "@az[`az{kubernetes-dns_svc")
            #expect(d.name(at: 12) == "@AZ[`az{Kubernetes-DNS_Svc")
        }
    }

    /// The contiguous-name fast path keeps `walkName`'s bounds: 255 wire bytes is a name, 256
    /// is not; a name without its zero, or running past the message, is bad either way.
    @Test func boundsAsWalkName() {
        for wire in 250...258 {
            // Labels of 63 and a last one making `wire` bytes with the zero.
            var labels: [[UInt8]] = []
            var left = wire - 1
            while left > 0 { let l = min(63, left - 1); labels.append(Array(repeating: 0x61, count: max(l, 1))); left -= max(l, 1) + 1 }
            var m: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
            for l in labels { m.append(UInt8(l.count)); m += l }
            let full = m + [0, 0, 1, 0, 1]
            for bytes in [full, Array(full.prefix(12 + wire - 1)), Array(full.prefix(12 + wire / 2))] {
                bytes.withUnsafeBytes { raw in
                    let d = try! DNSView(ByteView(raw))
                    let walked = d.walkName(at: 12)
                    #expect((d.name(at: 12) != nil) == (walked != nil), "wire \(wire) bytes \(bytes.count)")
                    #expect(d.withName(at: 12) { $0 != nil } == (walked != nil), "wire \(wire) bytes \(bytes.count)")
                    if walked != nil { #expect(d.name(at: 12)?.utf8.count == wire - 2) }
                }
            }
        }
    }
}
