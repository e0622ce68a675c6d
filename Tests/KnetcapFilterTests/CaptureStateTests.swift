import Testing
import KnetcapWire
import KnetcapDissect
@testable import KnetcapFilter

/// The per-capture state on hand-made segments (LINKTYPE_RAW IPv4): HTTP heads split across
/// segments, retransmissions and gaps, the head bound, HTTP on any port, tcp.stream on port
/// reuse, and relative sequence numbers when the SYN was not captured.
@Suite struct CaptureStateTests {
    struct Segment {
        var src: UInt32 = 0x0a00_0001, dst: UInt32 = 0x0a00_0002
        var sport: UInt16 = 40000, dport: UInt16 = 31337
        var seq: UInt32, ack: UInt32 = 5000
        var flags: UInt8 = 0x18  // PSH ACK
        var payload: [UInt8] = []
    }

    /// An IPv4 + TCP datagram (20 + 20 bytes of header; checksums left zero).
    static func bytes(_ s: Segment) -> [UInt8] {
        let total = 40 + s.payload.count
        var b: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, 6, 0, 0]
        for a in [s.src, s.dst] { b += [UInt8(a >> 24), UInt8(a >> 16 & 0xff), UInt8(a >> 8 & 0xff), UInt8(a & 0xff)] }
        b += [UInt8(s.sport >> 8), UInt8(s.sport & 0xff), UInt8(s.dport >> 8), UInt8(s.dport & 0xff)]
        for v in [s.seq, s.ack] { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        b += [0x50, s.flags, 0xff, 0xff, 0, 0, 0, 0]
        return b + s.payload
    }

    /// Runs the segments through the dissector, the state and `filter`; returns per frame
    /// (number, matched, tracked values, packet line).
    static func run(_ segments: [Segment], filter: String = "frame", seconds: [Int64] = []) throws -> [(Int, Bool, TrackedFields, String)] {
        let f = try DisplayFilter(filter)
        var state = CaptureState()
        var printer = PacketLinePrinter(timestampStyle: .none)
        let d = Dissector(linkType: .raw)
        var out: [(Int, Bool, TrackedFields, String)] = []
        for (i, s) in segments.enumerated() {
            let raw = bytes(s)
            raw.withUnsafeBytes { r in
                var p = d.dissect(ByteView(r), number: i + 1, timestamp: Timestamp(seconds: 1_700_000_000 + (i < seconds.count ? seconds[i] : 0), nanoseconds: Int32(i) * 1000),
                                  originalLength: raw.count)
                state.track(&p)
                var line = TextBuffer()
                printer.write(p, to: &line)
                out.append((i + 1, f.matches(p), p.tracked, String(line.string.dropLast())))
            }
        }
        return out
    }

    static let parts = ["GET /mytest HTTP/1.1\r\nHo", "st: lbtest.example\r\nUser-Agent: cu", "rl/8\r\n\r\n"].map { Array($0.utf8) }

    @Test func headSplitAcrossThreeSegments() throws {
        var seq: UInt32 = 1000
        var segs: [Segment] = []
        for p in Self.parts { segs.append(Segment(seq: seq, payload: p)); seq += UInt32(p.count) }
        let r = try Self.run(segs, filter: "http.request.uri == \"/mytest\" && http.host == \"lbtest.example\"")
        #expect(r.map(\.1) == [false, false, true], "the request completes in the third segment")
        let m = try #require(r[2].2.http)
        #expect(m.userAgent == "curl/8" && m.method == "GET")
        // The packet line, like tcpdump, shows the request line on the segment that starts it.
        #expect(r[0].3.hasSuffix("length 24: HTTP: GET /mytest HTTP/1.1"))
        #expect(!r[1].3.contains("HTTP") && !r[2].3.contains("HTTP"))
    }

    @Test func retransmissionIsIgnoredAndGapDropsTheHead() throws {
        let a = UInt32(Self.parts[0].count), b = UInt32(Self.parts[1].count)
        let retransmitted = [Segment(seq: 1000, payload: Self.parts[0]), Segment(seq: 1000, payload: Self.parts[0]),
                             Segment(seq: 1000 + a, payload: Self.parts[1]), Segment(seq: 1000 + a + b, payload: Self.parts[2])]
        #expect(try Self.run(retransmitted, filter: "http").map(\.1) == [false, false, false, true])
        let gap = [Segment(seq: 1000, payload: Self.parts[0]), Segment(seq: 1000 + a + b, payload: Self.parts[2])]
        #expect(try Self.run(gap, filter: "http").map(\.1) == [false, false])
    }

    /// Segments out of order (the middle one last): held until the gap fills, the head
    /// dissected on the frame that completes it; a segment overlapping bytes already taken
    /// adds only its new bytes; a head whose next segment comes after 60 s of capture time
    /// has been forgotten.
    @Test func outOfOrderOverlapAndExpiry() throws {
        let a = UInt32(Self.parts[0].count), b = UInt32(Self.parts[1].count)
        let reordered = [Segment(seq: 1000, payload: Self.parts[0]), Segment(seq: 1000 + a + b, payload: Self.parts[2]),
                         Segment(seq: 1000 + a, payload: Self.parts[1])]
        let r = try Self.run(reordered, filter: "http.request.uri == \"/mytest\" && http.user_agent == \"curl/8\"")
        #expect(r.map(\.1) == [false, false, true], "completed by the late middle segment")
        // The last 5 bytes of the first part again, with the second part after them.
        let overlap = [Segment(seq: 1000, payload: Self.parts[0]),
                       Segment(seq: 1000 + a - 5, payload: Array(Self.parts[0].suffix(5)) + Self.parts[1]),
                       Segment(seq: 1000 + a + b, payload: Self.parts[2])]
        let o = try Self.run(overlap, filter: "http.host == \"lbtest.example\"")
        #expect(o.map(\.1) == [false, false, true])
        #expect(o[2].2.http?.userAgent == "curl/8")
        let late = [Segment(seq: 1000, payload: Self.parts[0]), Segment(seq: 1000 + a, payload: Self.parts[1]),
                    Segment(seq: 1000 + a + b, payload: Self.parts[2])]
        #expect(try Self.run(late, filter: "http", seconds: [0, 30, 91]).map(\.1) == [false, false, false], "61 s after the second segment")
        #expect(try Self.run(late, filter: "http", seconds: [0, 30, 89]).map(\.1) == [false, false, true])
    }

    @Test func headsBeyondTheBoundAreDropped() throws {
        var segs = [Segment(seq: 1, payload: Array("GET / HTTP/1.1\r\n".utf8))]
        var seq = UInt32(segs[0].payload.count) + 1
        for _ in 0..<20 {  // 20 × 1000 bytes of headers, never ended
            let p = Array(("X-Pad: " + String(repeating: "a", count: 991) + "\r\n").utf8)
            segs.append(Segment(seq: seq, payload: p))
            seq += UInt32(p.count)
        }
        segs.append(Segment(seq: seq, payload: Array("\r\n".utf8)))
        #expect(try Self.run(segs, filter: "http").allSatisfy { !$0.1 })
    }

    @Test func responseWithBodyOnAnyPort() throws {
        let body = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello"
        let r = try Self.run([Segment(src: 0x0a00_0002, dst: 0x0a00_0001, sport: 8443, dport: 40000, seq: 7, payload: Array(body.utf8))],
                             filter: "http.response.code >= 500 && http.content_length == 5 && http.connection == close")
        #expect(r[0].1)
        #expect(r[0].3.hasSuffix(": HTTP: HTTP/1.1 503 Service Unavailable"))
        #expect(try Self.run([Segment(seq: 7, payload: Array("GETX / HTTP/1.1\r\n\r\n".utf8))], filter: "http").map(\.1) == [false])
    }

    @Test func streamsAndRelativeSequenceNumbers() throws {
        let syn: UInt8 = 0x02, synAck: UInt8 = 0x12, ack: UInt8 = 0x10
        let c = Segment(seq: 100, ack: 0, flags: syn)
        let s = Segment(src: 0x0a00_0002, dst: 0x0a00_0001, sport: 31337, dport: 40000, seq: 9000, ack: 101, flags: synAck)
        let a = Segment(seq: 101, ack: 9001, flags: ack)
        let reuse = Segment(seq: 77_777, ack: 0, flags: syn)  // same ports, a new ISN: a new stream
        let other = Segment(sport: 40001, seq: 5, ack: 0, flags: syn)
        let r = try Self.run([c, s, a, reuse, other])
        #expect(r.map(\.2.tcpStream) == [0, 0, 0, 1, 2])
        #expect(r.map(\.2.tcpSeq) == [0, 0, 1, 0, 0])
        #expect(r.map(\.2.tcpAck) == [0, 1, 1, 0, 0], "ack is raw without the ACK flag, relative with it")
        // Mid-stream start (no SYN seen): the first segment each way is 1, as tshark.
        let mid = try Self.run([Segment(seq: 123_456, ack: 999), Segment(src: 0x0a00_0002, dst: 0x0a00_0001, sport: 31337, dport: 40000,
                                                                      seq: 999, ack: 123_456 + 10)])
        #expect(mid.map(\.2.tcpSeq) == [1, 1] && mid.map(\.2.tcpAck) == [1, 11])
        // Sequence numbers wrap modulo 2^32.
        let wrap = try Self.run([Segment(seq: UInt32.max - 1, ack: 0, flags: syn), Segment(seq: 3, ack: 0, flags: ack)])
        #expect(wrap.map(\.2.tcpSeq) == [0, 5])
        #expect(try Self.run([c, s, a], filter: "tcp.stream == 0 && tcp.seq == 1 && tcp.ack == 1").map(\.1) == [false, false, true])
    }

    @Test func timeFields() throws {
        let r = try Self.run([Segment(seq: 1), Segment(seq: 1), Segment(seq: 1)], filter: "frame.time_relative >= 0.000002")
        #expect(r.map(\.2.timeRelative) == [0, 1000, 2000] && r.map(\.2.timeDelta) == [0, 1000, 1000])
        #expect(r.map(\.1) == [false, false, true])
    }
}
