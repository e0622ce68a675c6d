import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapTestSupport
@testable import KnetcapFilter

/// `matches` runs PCRE2 on bytes, as Wireshark: patterns that backtrack catastrophically end at
/// PCRE2's match limit (no match, counted) instead of running for minutes (issue 12: with
/// NSRegularExpression `tcp matches "(a|aa)+$"` ran over 15 minutes on one 1400-byte packet and
/// `a.*a.*b` 25.7 s on three; tshark answers in about a second). The byte, CR/LF and case
/// behaviour is checked against tshark in `TsharkFilterAgreementTests`.
@Suite struct RegexMatchTests {
    /// Ethernet / IPv4 10.0.0.1:40000 -> 10.0.0.2:80 / TCP [P.] with `payload`. No header byte is
    /// an a, b, A or B, so `tcp matches` sees those letters in the payload only.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        let total = 20 + 20 + payload.count
        ip[2] = UInt8(total >> 8); ip[3] = UInt8(total & 0xff)
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        ip[10] = UInt8(~sum >> 8 & 0xff); ip[11] = UInt8(~sum & 0xff)
        let tcp: [UInt8] = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x20, 0, 0, 0, 0, 0]
        let eth: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        return eth + ip + tcp + payload
    }

    static let a1400 = [UInt8](repeating: 0x61, count: 1400)
    /// 1: 1400 a's and "!" ((a|aa)+$ reaches the match limit); 2-4: 1400 a's (the issue's three
    /// packets for a.*a.*b: no b, no match); 5: ten a's and a b (a.*a.*b matches).
    static let payloads: [[UInt8]] = [a1400 + Array("!".utf8), a1400, a1400, a1400, Array("aaaaaaaaaab".utf8)]

    /// The packets above as a classic pcap file (microseconds, Ethernet), for tshark and libpcap.
    static func writeCapture() throws -> URL {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var file = le32(0xa1b2_c3d4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(262_144) + le32(1)
        for (i, payload) in payloads.enumerated() {
            let f = frame(payload)
            #expect(!f[0..<54].contains { [0x41, 0x42, 0x61, 0x62].contains($0) }, "a header byte is a letter the patterns use")
            file += le32(1_700_000_000 + UInt32(i)) + le32(0) + le32(UInt32(f.count)) + le32(UInt32(f.count)) + f
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-regex-\(getpid())-\(UUID().uuidString).pcap")
        try Data(file).write(to: url)
        return url
    }

    /// (frames the filter selects, packets on which it hit a PCRE2 limit).
    static func run(_ expression: String, on url: URL) throws -> ([Int], Int) {
        let filter = try DisplayFilter(expression)
        var frames: [Int] = []
        try readCapture(url) { p, _ in if filter.matches(p) { frames.append(p.number) } }
        return (frames, filter.regexLimitHits)
    }

    struct Pathological: CustomStringConvertible, Sendable {
        let expression: String
        let frames: [Int]
        let limitHits: Int
        var description: String { expression }
    }

    static let pathological: [Pathological] = [
        Pathological(expression: #"tcp matches "(a|aa)+$""#, frames: [2, 3, 4], limitHits: 1),
        Pathological(expression: #"tcp matches "a.*a.*b""#, frames: [5], limitHits: 0),
        Pathological(expression: #"tcp.payload matches "^(a|aa)+$""#, frames: [2, 3, 4], limitHits: 1),
        // Two tests hitting the limit on one packet count it once; `not` of a limit hit is true.
        Pathological(expression: #"tcp matches "(a|aa)+$" || tcp.payload matches "(aa|a)+$""#, frames: [2, 3, 4], limitHits: 1),
        Pathological(expression: #"!(tcp matches "(a|aa)+$")"#, frames: [1, 5], limitHits: 1),
    ]

    @Test(arguments: pathological)
    func pathologicalPatternsEndAtTheLimit(_ c: Pathological) throws {
        let url = try Self.writeCapture()
        defer { try? FileManager.default.removeItem(at: url) }
        let (frames, hits) = try Self.run(c.expression, on: url)
        #expect(frames == c.frames, "frames")
        #expect(hits == c.limitHits, "packets that hit the limit")
        guard let theirs = TsharkFilterAgreementTests.tsharkFrames(url, c.expression) else {
            Issue.record("tshark is not installed (.ci/run installs it)")
            return
        }
        #expect(theirs == c.frames, "tshark selects the same frames")
    }

    @Test func wellBehavedPatternsNeverCountALimit() throws {
        let wiki = Fixtures.publicCaptures.appendingPathComponent("zeek-wikipedia.pcap")
        let (frames, hits) = try Self.run(#"tcp matches "(?s)GET.*Host: .*\r\n\r\n""#, on: wiki)
        #expect(frames.count == 15 && hits == 0)
        #expect(try DisplayFilter("tcp contains \"GET\"").regexLimitHits == 0)
    }

    @Test func bytesNotText() throws {
        let r = RegexRuntime()
        // A NUL in the pattern and the subject; an empty pattern matches everything, an empty subject.
        #expect(try ByteRegex([0x61, 0x00, 0x62], runtime: r).matches([0x61, 0x00, 0x62]))
        #expect(try !ByteRegex([0x61, 0x00, 0x62], runtime: r).matches([0x61, 0x62]))
        #expect(try ByteRegex([], runtime: r).matches([]))
        #expect(try ByteRegex(Array("^$".utf8), runtime: r).matches([]))
        // Latin-1 é (0xe9) and É (0xc9) are different bytes; ASCII letters fold.
        #expect(try !ByteRegex([0xc9], runtime: r).matches([0xe9]))
        #expect(try ByteRegex(Array("abc".utf8), runtime: r).matches(Array("xABCx".utf8)))
        // UTF-8 é is two bytes: `.` is one byte, so ^..$ matches it and ^.$ does not.
        #expect(try ByteRegex(Array("^..$".utf8), runtime: r).matches(Array("é".utf8)))
        #expect(try !ByteRegex(Array("^.$".utf8), runtime: r).matches(Array("é".utf8)))
        // UTF mode cannot be switched on from the pattern (PCRE2_NEVER_UTF).
        #expect(throws: RegexSyntaxError.self) { try ByteRegex(Array("(*UTF)x".utf8), runtime: r) }
    }

    /// Filters are Sendable: the tests of one filter share match data under a lock.
    @Test func oneFilterFromSeveralThreads() throws {
        let wiki = Fixtures.publicCaptures.appendingPathComponent("zeek-wikipedia.pcap")
        var frames: [[UInt8]] = []
        try readCapture(wiki) { _, raw in frames.append(Array(raw.bytes)) }
        let copies = frames
        let filter = try DisplayFilter(#"tcp matches "\xff" or tcp matches "(?m)^Host: upload""#)
        let expected = try Self.run(filter.expression, on: wiki).0
        #expect(expected.count > 10)
        let results = Gathered()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let dissector = Dissector(linkType: .ethernet)
            var got: [Int] = []
            for (i, bytes) in copies.enumerated() {
                bytes.withUnsafeBytes { raw in
                    let p = dissector.dissect(ByteView(raw), number: i + 1, timestamp: Timestamp(seconds: 0, nanoseconds: 0),
                                              originalLength: bytes.count)
                    if filter.matches(p) { got.append(p.number) }
                }
            }
            results.append(got)
        }
        #expect(results.all.count == 8 && results.all.allSatisfy { $0 == expected }, "every thread selects \(expected)")
        #expect(filter.regexLimitHits == 0)
    }
}

/// Results gathered from several threads.
final class Gathered: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[Int]] = []
    func append(_ x: [Int]) { lock.lock(); items.append(x); lock.unlock() }
    var all: [[Int]] { lock.lock(); defer { lock.unlock() }; return items }
}

extension ByteRegex {
    fileprivate func matches(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { matches($0) } }
}
