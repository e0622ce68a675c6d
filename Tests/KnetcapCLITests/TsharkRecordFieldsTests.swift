import Foundation
import Testing

/// `-T fields` for the frames that are not packets (pcapng custom blocks, systemd journal
/// export blocks: records libwiretap 4.0 returns with another type than REC_TYPE_PACKET) and
/// for comments that are not valid UTF-8, against the real tshark 4.0, byte for byte.
/// `Tests/Captures/crafted/records.pcapng` (made by `make-crafted.py`) holds both.
@Suite("knetcap -T fields for records that are not packets and raw comments, as tshark")
struct TsharkRecordFieldsTests {
    static let frameFields = ["frame.number", "frame.len", "frame.cap_len", "frame.time_epoch", "frame.time_relative",
                              "frame.time_delta", "frame.interface_id", "frame.comment"]

    /// Standard output of `exe args` as bytes (not decoded: a value that is not UTF-8 stays as
    /// it is), and the exit status.
    static func bytes(_ exe: URL, _ args: [String]) throws -> (status: Int32, out: Data) {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, o)
    }

    /// knetcap's and tshark's standard output for `-r path args`, compared byte for byte.
    /// Returns the number of bytes tshark printed.
    @discardableResult
    static func expectSameBytes(_ path: String, _ args: [String], mayBeEmpty: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let file = try TsharkFieldsTests.capture(path)
        let tshark = try #require(["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "tshark is not installed (make deps-test)")
        let ours = try bytes(knetcap, ["-r", file] + args), theirs = try bytes(URL(fileURLWithPath: tshark), ["-r", file] + args)
        // A damaged file: both stop at the same frame with an error (tshark 2, knetcap its own status).
        #expect((ours.status == 0) == (theirs.status == 0), "\(path) \(args): exit \(ours.status), tshark \(theirs.status)",
                sourceLocation: sourceLocation)
        #expect(mayBeEmpty || !theirs.out.isEmpty || damaged.contains(path), "tshark printed nothing for \(path) \(args)", sourceLocation: sourceLocation)
        #expect(ours.out == theirs.out, "\(path) \(args)\nknetcap\n\(String(decoding: ours.out, as: UTF8.self))\ntshark\n\(String(decoding: theirs.out, as: UTF8.self))",
                sourceLocation: sourceLocation)
        return theirs.out.count
    }

    /// Public captures tshark stops reading with an error (after some frames, or before any).
    static let damaged: Set<String> = ["Tests/Captures/public/dpkt-truncated_dns_2.pcap", "Tests/Captures/public/libpcap-pcap-invalid-version-1.pcap",
                                       "Tests/Captures/public/libpcap-pcapng-packet-before-idb.pcapng"]

    /// Every capture of a folder; fails when the folder is missing or empty.
    static func files(in folder: String) throws -> [String] {
        let url = repoRoot.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        try #require(!names.isEmpty, "no captures in \(folder)")
        return names.sorted().map { folder + "/" + $0 }
    }

    /// Custom blocks, systemd journal entries: a line each, numbered as tshark numbers frames,
    /// with their lengths (frame_data_init's), their time when they have one (a journal entry),
    /// and the time fields of the packets after them counted from them as tshark counts (a
    /// custom block without a time keeps the time of the record before it, or 0 first).
    @Test func recordsThatAreNotPacketsAsTshark() throws {
        for path in ["Tests/Captures/crafted/records.pcapng", "Tests/Captures/pcapng-testgen/le-basic-test018.pcapng",
                     "Tests/Captures/pcapng-testgen/be-difficult-test202.pcapng"] {
            try Self.expectSameBytes(path, TsharkFieldsTests.fields(Self.frameFields + ["eth.type", "ip.src", "udp.srcport", "dns.qry.name"]))
            for filter in ["frame", "frame.number > 2", "eth", "!eth", "frame.len < 40", "frame.time_delta > 0.7", "frame.interface_id == 1",
                           "!frame.interface_id"] {
                try Self.expectSameBytes(path, ["-Y", filter] + TsharkFieldsTests.fields(["frame.number", "frame.len", "frame.time_epoch"]), mayBeEmpty: true)
            }
            try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.len", "eth.src"]) + ["-E", "header=y", "-E", "quote=d"])
        }
        // The records are frames of -T fields only: the diagnosis and the packet lines are as before.
        let file = try TsharkFieldsTests.capture("Tests/Captures/crafted/records.pcapng")
        let out = try run(["-r", file]).stdout
        #expect(out.split(separator: "\n").filter { $0.contains(" IP 10.0.0.1.40000 > 10.0.0.2.53: ") }.count == 6, "\(out)")
        #expect(out.contains("in 13 packets") && !out.contains("journal") && !out.contains("custom"), "\(out)")
    }

    /// The frame fields of every frame of every pcapng test file and public capture, as tshark
    /// prints them: the same frames, numbers, lengths, times and interfaces.
    @Test func frameFieldsOfEveryTestCaptureAsTshark() throws {
        let all = try Self.files(in: "Tests/Captures/pcapng-testgen") + Self.files(in: "Tests/Captures/public")
        var printed = 0
        for path in all {  // (some test files hold no frame)
            printed += try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.len", "frame.time_epoch", "frame.interface_id",
                                                                                "frame.time_relative", "frame.time_delta", "frame.comment"]),
                                                mayBeEmpty: true)
        }
        #expect(all.count > 60 && printed > 50_000, "\(all.count) captures, tshark printed \(printed) bytes")
    }

    /// A packet comment that is not valid UTF-8 (a lone continuation byte, 0xff, an overlong
    /// "/", a cut sequence, a surrogate): tshark 4.0 prints its bytes as they are, and -Y
    /// matches them so.
    @Test func commentsThatAreNotUTF8AsTshark() throws {
        let path = "Tests/Captures/crafted/records.pcapng"
        try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.comment"]))
        try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.comment"]) + ["-E", "occurrence=l", "-E", "aggregator=;"])
        for filter in [#"frame.comment contains "\xff""#, #"frame.comment contains "\x80""#, #"frame.comment contains "\xc0\xaf""#,
                       #"frame.comment contains "\xed\xa0\x80""#, #"frame.comment contains "é""#] {
            try Self.expectSameBytes(path, ["-Y", filter] + TsharkFieldsTests.fields(["frame.number", "frame.comment"]))
        }
        let ours = try Self.bytes(knetcap, ["-r", try TsharkFieldsTests.capture(path)] + TsharkFieldsTests.fields(["frame.comment"]))
        #expect(ours.out.contains(0xff) && ours.out.contains(0x80), "the comment bytes as they are")
    }
}
