import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapTestSupport

/// Issue 12: capture times a file can carry at the ends of `Int64` (a pcapng with
/// `if_tsresol` 10^0 gives 64-bit seconds; `if_tsoffset` moves them anywhere), or far apart
/// in either order. Every case below trapped ("arithmetic overflow", SIGILL) before; each
/// names the line. Now capture-time arithmetic saturates (horizons, nanosecond gaps) or takes
/// the difference in `Double` (`Timestamp -`), and sane times behave exactly as before.
@Suite struct HostileTimestampTests {
    static let max = Int64.max, min = Int64.min

    // MARK: Hand-made packets (LINKTYPE_RAW, IPv4), fed as a file source delivers them

    static func ipv4(_ proto: UInt8, _ payload: [UInt8], from src: UInt8 = 1, to dst: UInt8 = 2) -> [UInt8] {
        let total = 20 + payload.count
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, proto, 0, 0,
                10, 0, 0, src, 10, 0, 0, dst] + payload
    }

    static func udp(_ sport: UInt16, _ dport: UInt16, _ data: [UInt8]) -> [UInt8] {
        let len = 8 + data.count
        return [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff),
                UInt8(len >> 8), UInt8(len & 0xff), 0, 0] + data
    }

    /// A SYN from 10.0.0.1:`sport` to 10.0.0.2:80 with sequence number `seq`.
    static func syn(_ sport: UInt16 = 41000, seq: UInt32 = 1000) -> [UInt8] {
        ipv4(6, [UInt8(sport >> 8), UInt8(sport & 0xff), 0, 80, UInt8(seq >> 24), UInt8(seq >> 16 & 0xff),
                 UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff), 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0])
    }

    /// A DNS message with one question (`flags` 0x0100 a query, 0x8180 an answer, 0x8183 NXDOMAIN).
    static func dns(_ id: UInt16, _ flags: UInt16, _ name: String, answerA: [UInt8]? = nil) -> [UInt8] {
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff), 0, 1, 0, answerA == nil ? 0 : 1, 0, 0, 0, 0]
        for label in name.split(separator: ".") { m.append(UInt8(label.utf8.count)); m += Array(label.utf8) }
        m += [0, 0, 1, 0, 1]
        if let a = answerA { m += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + a }
        return m
    }

    /// A query from 10.0.0.1:`port` to 10.0.0.2:53, or its answer back.
    static func query(_ id: UInt16, _ name: String, port: UInt16 = 40000) -> [UInt8] {
        ipv4(17, udp(port, 53, dns(id, 0x0100, name)))
    }
    static func answer(_ id: UInt16, _ name: String, port: UInt16 = 40000, nx: Bool = false) -> [UInt8] {
        ipv4(17, udp(53, port, dns(id, nx ? 0x8183 : 0x8180, name, answerA: nx ? nil : [10, 0, 0, 5])), from: 2, to: 1)
    }

    struct Outcome {
        var findings: [Finding]
        var tracked: [TrackedFields]
    }

    /// Runs the diagnosis and the capture state over `frames` (seconds, bytes), delivered by a
    /// `MemorySource` and dissected as a file's packets are.
    static func run(_ frames: [(Int64, [UInt8])]) -> Outcome {
        let source = MemorySource(linkType: LinkType.raw.rawValue,
                                  frames: frames.map { MemorySource.Frame(seconds: $0.0, nanoseconds: 0, bytes: $0.1) })
        let dissector = Dissector(linkType: .raw)
        var diagnosis = Diagnosis()
        var state = CaptureState(tracking: .all)
        var tracked: [TrackedFields] = []
        var n = 0
        _ = source.forEach { raw in
            n += 1
            var p = dissector.dissect(ByteView(raw.bytes), number: n,
                                      timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                                      originalLength: raw.originalLength)
            diagnosis.observe(p)
            state.track(&p)
            tracked.append(p.tracked)
            return true
        }
        diagnosis.finish()
        return Outcome(findings: diagnosis.findings, tracked: tracked)
    }

    /// `Double(b) - Double(a)`: the gap between two hostile times, as findings measure it.
    static func gap(_ b: Int64, _ a: Int64) -> Double { Double(b) - Double(a) }

    // MARK: The trackers and analysers

    /// TCPHandshakes.swift `nextSweep = now.seconds + 1` (every packet reaches the TCP tracker).
    @Test func packetInTheLastSecond() {
        let o = Self.run([(Self.max, Self.syn())])
        #expect(o.findings.isEmpty)
        #expect(o.tracked[0].tcpStream == 0)
    }

    /// DNSTransactions.swift `nextSweep = now.seconds + 5`: queries in the last seconds before
    /// Int64.max, one answered, one left unanswered while the capture went on: still judged.
    @Test func dnsQueriesInTheLastSeconds() throws {
        let o = Self.run([(Self.max - 6, Self.query(2, "lost.example.test", port: 40002)),
                          (Self.max - 2, Self.query(1, "api.example.test")), (Self.max - 1, Self.answer(1, "api.example.test")),
                          (Self.max, Self.query(3, "late.example.test", port: 40003))])
        #expect(o.tracked[2].dnsTime == 1_000_000_000)
        let f = try #require(o.findings.first)
        #expect(o.findings.count == 1)
        #expect(f.kind == "dns.timeout" && f.summary.contains("lost.example.test"))
        #expect(f.measurements["waited_s"] == 6)
    }

    /// TCPHandshakes.swift `sweep`: `now - h.lastActivity` (Timestamp `-`, Packet.swift) for a
    /// SYN at the first second followed by a packet at a sane time.
    @Test func synAtTheFirstSecondThenASaneTime() {
        let o = Self.run([(Self.min, Self.syn()), (1_700_000_000, Self.query(1, "api.example.test"))])
        #expect(o.findings.isEmpty)  // one SYN, judged idle: no retransmission, no fault
        #expect(o.tracked[1].timeRelative == Int64.max)  // saturated, not wrapped
    }

    /// A SYN at Int64.min re-sent at Int64.max - 1 (a packet at Int64.max first, so no sweep
    /// expires it): `now - last.time` in `observe`, then the gap in the finding's text
    /// (`fmt`, DNSTimeoutAnalyzer.swift, `Int(r / scale)`).
    @Test func synRetransmittedAcrossTheWholeRange() throws {
        let o = Self.run([(Self.max, Self.syn(9, seq: 1)), (Self.min, Self.syn()), (Self.max - 1, Self.syn())])
        let f = try #require(o.findings.first { $0.kind == "tcp.syn-unanswered" && $0.client == "10.0.0.1:41000" })
        #expect(f.measurements["unanswered_for_s"] == Self.gap(Self.max - 1, Self.min))
        #expect(f.evidence.map(\.frame) == [2, 3])
        #expect(f.evidence[1].note == "SYN re-sent (same seq), 1.8446744073709552e+19 s after the previous one")
    }

    /// The same for a DNS query re-sent across the range: a `dns.timeout` whose retransmit
    /// gap is 2^64 s (Timestamp `-` in the tracker, `fmt` in the finding).
    @Test func dnsRetransmittedAcrossTheWholeRange() throws {
        let o = Self.run([(Self.max, Self.query(9, "other.example.test", port: 40009)),
                          (Self.min, Self.query(1, "api.example.test")), (Self.max - 1, Self.query(1, "api.example.test"))])
        let f = try #require(o.findings.first { $0.kind == "dns.timeout" })
        #expect(f.measurements["retransmit_gap_s"] == Self.gap(Self.max - 1, Self.min))
        #expect(f.summary.contains("retransmitted after 1.8446744073709552e+19 s"))
    }

    /// DNSSearchExpansionAnalyzer.swift `nextSweep = now.seconds + 10`, and a search walk whose
    /// queries left at Int64.min and whose answers came in the last seconds: its cost is 2^64 s.
    @Test func searchExpansionAcrossTheWholeRange() throws {
        let o = Self.run([
            (Self.max, Self.query(9, "other.example.test", port: 40009)),
            (Self.min, Self.query(1, "web.default.svc.cluster.local")), (Self.max - 3, Self.answer(1, "web.default.svc.cluster.local", nx: true)),
            (Self.min + 1, Self.query(2, "web.svc.cluster.local")), (Self.max - 3, Self.answer(2, "web.svc.cluster.local", nx: true)),
            (Self.min + 2, Self.query(3, "web")), (Self.max - 1, Self.answer(3, "web")),
        ])
        let f = try #require(o.findings.first { $0.kind == "dns.search-expansion" })
        #expect(f.measurements["steps"] == 2)
        #expect(f.measurements["max_cost_s"] == Self.gap(Self.max - 1, Self.min))
        #expect(f.summary.hasSuffix("seen 1x, 1.8446744073709552e+22 ms per lookup on average"))
    }

    /// Time going backwards by the whole range and forwards again: every tracker sweeps,
    /// nothing traps, and the gaps the capture state reports saturate instead of wrapping.
    @Test func timeJumpsBothWays() {
        let o = Self.run([(Self.min, Self.query(1, "a.example.test")), (Self.max, Self.answer(1, "a.example.test")),
                          (Self.min, Self.syn()), (Self.max, Self.syn()), (0, Self.syn(41001))])
        #expect(o.tracked.map(\.timeRelative) == [0, .max, 0, .max, .max])
        #expect(o.tracked.map(\.timeDelta) == [0, .max, .min, .max, .min])
        #expect(o.tracked[1].dnsTime == .max)
    }

    /// CaptureState.swift: past `maxDNSQueries` pending queries, old ones are dropped by
    /// `ts.seconds - $0.value.seconds < 120`: 2^18 queries at Int64.min, then one at Int64.max.
    @Test func dnsQueryTableFullAcrossTheRange() {
        var state = CaptureState(tracking: .dns)
        let dissector = Dissector(linkType: .raw)
        var frame = Self.query(0, "q.example.test")
        func track(_ seconds: Int64, id: Int, port: UInt16, response: Bool = false) -> TrackedFields {
            frame[20] = UInt8(port >> 8); frame[21] = UInt8(port & 0xff)
            frame[28] = UInt8(id >> 8 & 0xff); frame[29] = UInt8(id & 0xff)
            frame[30] = response ? 0x81 : 0x01
            return frame.withUnsafeBytes { raw in
                var p = dissector.dissect(ByteView(raw), number: 1, timestamp: Timestamp(seconds: seconds, nanoseconds: 0),
                                          originalLength: raw.count)
                state.track(&p)
                return p.tracked
            }
        }
        let ports = CaptureState.maxDNSQueries / 65536
        for port in 0..<ports { for id in 0..<65536 { _ = track(Self.min, id: id, port: UInt16(40000 + port)) } }
        _ = track(Self.max, id: 7, port: 50000)  // the table is full: the old queries go
        // A query and its answer still pair up after the purge; the old queries are gone.
        #expect(track(Self.max, id: 7, port: 50000, response: true).dnsTime == 0)
        #expect(track(Self.max, id: 7, port: 40000, response: true).dnsTime == nil)
    }

    // MARK: The arithmetic itself

    /// Packet.swift `Timestamp -`: exact for sane times, `Double` beyond `Int64`.
    @Test func timestampDifference() {
        let t = { (s: Int64, ns: Int32) in Timestamp(seconds: s, nanoseconds: ns) }
        #expect(t(1_700_000_005, 500) - t(1_700_000_000, 0) == 5.0000005)
        #expect(t(1_700_000_000, 0) - t(1_700_000_000, 999_999_999) == -0.999999999)
        #expect(t(Self.max, 0) - t(Self.min, 0) == 18_446_744_073_709_551_616.0)
        #expect(t(Self.min, 0) - t(Self.max, 999_999_999) == -18_446_744_073_709_551_616.0)
        #expect(t(Self.max, 0) - t(-1, 0) == 9_223_372_036_854_775_808.0)
    }

    /// TextBuffer.swift `append(decimal:)`: `-Int64.min` trapped (the JSON `frame.time_epoch`
    /// and `-tt` packet lines write a timestamp's seconds this way).
    @Test func timestampTextAtTheEnds() {
        #expect(Timestamp(seconds: Self.min, nanoseconds: 0).description == "-9223372036854775808.000000000")
        #expect(Timestamp(seconds: Self.max, nanoseconds: 999_999_999).description == "9223372036854775807.999999999")
        var t = TextBuffer()
        t.append(decimal: Int64.min); t.append(byte: 32); t.append(decimal: Int8.min); t.append(byte: 32); t.append(decimal: -42)
        #expect(t.string == "-9223372036854775808 -128 -42")
    }

    /// TextBuffer's digits written in place (issue 11): every digit count, each against
    /// Swift's own `String(_:radix:)`, and growth past the first allocation.
    @Test func textBufferDigitsAgreeWithSwift() {
        var values: [UInt64] = [0, 1, 9, 10, 99, 100, 999, 1000, UInt64.max, UInt64(Int64.max)]
        var p: UInt64 = 1
        for _ in 0..<19 { p *= 10; values += [p - 1, p, p + 1] }
        for i in 0..<64 { values.append(1 << UInt64(i)) }
        var t = TextBuffer(capacity: 16)
        var want = ""
        for v in values {
            t.append(decimal: v); t.append(byte: 32); want += String(v) + " "
            t.append(hex: v); t.append(byte: 32); want += String(v, radix: 16) + " "
            t.append(hex: v, width: 4); t.append(byte: 32)
            let h = String(v, radix: 16); want += String(repeating: "0", count: Swift.max(0, 4 - h.count)) + h + " "
            for w in [2, 6, 9, 22] {  // the clock fields, fractions, and wider than any number
                t.append(decimal: v, width: w); t.append(byte: 32)
                let d = String(v); want += String(repeating: "0", count: Swift.max(0, w - d.count)) + d + " "
            }
        }
        t.append(hex: UInt8(0xa), width: 2); want += "0a"
        t.append(decimal: 7, width: 9); want += "000000007"
        #expect(t.string == want)
        #expect(t.count == want.utf8.count)
    }

    // MARK: Where such times come from

    /// A pcapng whose interface counts whole seconds (`if_tsresol` = 10^0) carries any 64-bit
    /// time: libpcap hands 0x7FFF_FFFF_FFFF_FFFF and 0x8000_0000_0000_0000 over as
    /// Int64.max and Int64.min seconds, and the pipeline reads them without trapping.
    @Test func pcapngCarriesTheEnds() throws {
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            let n = UInt32(12 + padded.count)
            return le32(type) + le32(n) + padded + le32(n)
        }
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let shb = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xff, count: 8))
        let idb = block(1, le16(101) + le16(0) + le32(65535) + le16(9) + le16(1) + [0, 0, 0, 0] + le16(0) + le16(0))
        func epb(_ t: UInt64, _ p: [UInt8]) -> [UInt8] {
            block(6, le32(0) + le32(UInt32(t >> 32)) + le32(UInt32(t & 0xffff_ffff)) + le32(UInt32(p.count)) + le32(UInt32(p.count)) + p)
        }
        let bytes = shb + idb + epb(0x8000_0000_0000_0000, Self.syn()) + epb(0x7FFF_FFFF_FFFF_FFFF, Self.syn())
            + epb(0x7FFF_FFFF_FFFF_FFFE, Self.query(1, "a.example.test"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-hostile-\(UInt32.random(in: 0...UInt32.max)).pcapng")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var seconds: [Int64] = []
        var diagnosis = Diagnosis()
        var state = CaptureState(tracking: .all)
        try readCapture(url) { p, _ in
            var p = p
            seconds.append(p.timestamp.seconds)
            diagnosis.observe(p)
            state.track(&p)
        }
        diagnosis.finish()
        #expect(seconds == [Self.min, Self.max, Self.max - 1])
        #expect(diagnosis.findings.isEmpty)
    }
}
