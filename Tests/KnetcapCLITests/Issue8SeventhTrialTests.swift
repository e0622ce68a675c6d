// Issue 8, the seventh new-user trial: a DNS answer cut by the snaplen had a dns.time tshark
// does not give, and a microsecond pcap rewritten with -w came out with nanosecond timestamps
// (tcpdump keeps microseconds). Each against the real tshark and tcpdump.

import Foundation
import Testing

@Suite("issue 8: seventh trial, dns.time and timestamp precision")
struct Issue8SeventhTrialTests {
    /// healthy-load.pcap was captured with a 96-byte snaplen: half its DNS answers are cut
    /// inside a record. tshark's DNS dissector stops at that record, before it times the
    /// response: no `dns.time` (knetcap gave one, and `-Y dns.time` matched 128 frames, not 64).
    @Test func cutAnswersHaveNoDNSTime() throws {
        let fields = TsharkFieldsTests.fields(["frame.number", "frame.cap_len", "dns.id", "dns.time"])
        try TsharkFieldsTests.expectSame("Captures/healthy-load.pcap", fields)
        try TsharkFieldsTests.expectSame("Captures/healthy-load.pcap", ["-Y", "dns.time"] + TsharkFieldsTests.fields(["frame.number"]))
        // The uncut answers elsewhere keep theirs.
        try TsharkFieldsTests.expectSame("Captures/dns-timeout-glibc.pcap", fields)
    }

    /// A `GET` re-sent by the client (the accept queue full: the server's kernel drops it, the
    /// client retransmits the same bytes) is one request: tshark marks the copies
    /// `tcp.analysis.retransmission` and hands their bytes to no dissector again, so they carry
    /// no `http.*` fields (knetcap gave each copy the request's fields: 8 requests, not 2).
    @Test(arguments: ["Captures/tcp-accept-overflow-reset.pcap", "Captures/tcp-accept-overflow.pcap"])
    func retransmittedRequestsCarryNoHTTPFields(_ path: String) throws {
        let fields = TsharkFieldsTests.fields(["frame.number", "tcp.stream", "http.request.method", "http.request.uri", "http.response.code"])
        try TsharkFieldsTests.expectSame(path, ["-Y", "http"] + fields)
        try TsharkFieldsTests.expectSame(path, fields)
    }

    /// `-r MICROSECONDS.pcap -w OUT.pcap` writes what `tcpdump -r IN -w OUT` writes: the
    /// microsecond magic (d4c3b2a1 little-endian) and the same bytes; from a pcapng whose
    /// interfaces are microsecond too; a nanosecond pcap stays nanosecond.
    @Test func microsecondInputsAreWrittenInMicroseconds() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try TsharkFieldsTests.capture("Tests/Captures/public/dnscap-dns.pcap")
        func magic(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url).prefix(4)) }
        #expect(try magic(URL(fileURLWithPath: input)) == [0xd4, 0xc3, 0xb2, 0xa1])
        let theirs = dir.appendingPathComponent("tcpdump.pcap")
        #expect(try tool("tcpdump", ["-r", input, "-w", theirs.path]).status == 0)

        let ours = dir.appendingPathComponent("knetcap.pcap")
        #expect(try run(["-q", "-r", input, "-w", ours.path]).status == 0)
        #expect(try Data(contentsOf: ours) == Data(contentsOf: theirs), "-r pcap -w pcap as tcpdump writes it")

        let ng = dir.appendingPathComponent("in.pcapng")
        #expect(try tool("editcap", ["-F", "pcapng", input, ng.path]).status == 0)
        let fromNG = dir.appendingPathComponent("from-pcapng.pcap")
        #expect(try run(["-q", "-r", ng.path, "-w", fromNG.path]).status == 0)
        // (The header's snapshot length is the pcapng's, which editcap leaves unset: the records compared.)
        #expect(try magic(fromNG) == [0xd4, 0xc3, 0xb2, 0xa1])
        #expect(try Data(contentsOf: fromNG).dropFirst(24) == Data(contentsOf: theirs).dropFirst(24), "a microsecond pcapng written as a microsecond pcap")

        let rotated = dir.appendingPathComponent("rot.pcap")
        #expect(try run(["-q", "-r", input, "-w", rotated.path, "-C", "1"]).status == 0)
        #expect(try magic(rotated) == [0xd4, 0xc3, 0xb2, 0xa1], "each rotated file too")

        let nano = dir.appendingPathComponent("nano.pcap")
        #expect(try tool("editcap", ["-F", "nsecpcap", input, nano.path]).status == 0)
        let fromNano = dir.appendingPathComponent("from-nano.pcap")
        #expect(try run(["-q", "-r", nano.path, "-w", fromNano.path]).status == 0)
        #expect(try magic(fromNano) == [0x4d, 0x3c, 0xb2, 0xa1], "a nanosecond input keeps nanoseconds")
        let times = TsharkFieldsTests.fields(["frame.time_epoch"])
        #expect(try tool("tshark", ["-r", fromNG.path] + times).stdout == tool("tshark", ["-r", input] + times).stdout)
        #expect(try tool("tshark", ["-r", fromNano.path] + times).stdout == tool("tshark", ["-r", nano.path] + times).stdout)
    }
}
