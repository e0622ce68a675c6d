import Foundation
import Testing

/// Issue 12, point 5: help, version, negative and zero values, a record header claiming more
/// bytes than were on the wire. Each answers as tcpdump, kubectl or nsenter users expect.
@Suite("knetcap help, version and odd values")
struct SmallDefectTests {
    @Test(arguments: [
        (["help"], "USAGE: knetcap"),
        (["help", "enter"], "USAGE: knetcap enter"),
        (["enter", "help"], "USAGE: knetcap enter"),
        (["help", "interfaces"], "USAGE: knetcap interfaces"),
        (["interfaces", "help"], "USAGE: knetcap interfaces"),
    ])
    func helpTopics(args: [String], usage: String) throws {
        let r = try run(args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        #expect(r.stdout.contains(usage), "\(args): \(r.stdout)")
        #expect(r.stderr.isEmpty, "\(args): \(r.stderr)")
    }

    @Test func unknownHelpTopic() throws {
        expectError(try run(["help", "bogus"]), Status.usage, mentions: ["bogus", "knetcap help"])
    }

    /// enter's and interfaces' help speak of their own work, not of capturing.
    @Test func namespaceHelpIsNotCaptureHelp() throws {
        for sub in ["enter", "interfaces"] {
            let r = try run([sub, "--help"])
            #expect(r.status == 0)
            #expect(!r.stdout.contains("Capture in the network namespace"), "\(sub) --help: \(r.stdout)")
        }
    }

    @Test func version() throws {
        let r = try run(["--version"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("knetcap ") == true && lines.count == 2, "\(r.stdout)")
        #expect(lines.last?.hasPrefix("libpcap version 1.") == true, "\(r.stdout)")
    }

    @Test(arguments: [(["-c", "-1"], "-c takes a positive packet count, not -1"),
                      (["-s", "-5"], "-s takes a snapshot length in bytes (0 for the default 262144), not -5")])
    func negativeValuesAreNamed(flag: [String], message: String) throws {
        expectError(try run(flag + ["-r", goodCapture.path]), Status.usage, mentions: [message])
    }

    /// `-s 0` is tcpdump's "the default snapshot length".
    @Test func snaplenZeroIsTheDefault() throws {
        let r = try run(["-s", "0", "-q", "-r", goodCapture.path])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// A record whose captured length exceeds its length on the wire: tcpdump prints
    /// `[Invalid header: len(66) < caplen(76)]` and no packet; knetcap the same, and does not
    /// read it as traffic.
    @Test func caplenAboveLenIsAnInvalidHeader() throws {
        let original = try Data(contentsOf: goodCapture)
        var bytes = [UInt8](original)
        // First record header at 24: ts_sec, ts_usec, caplen, len (little-endian here).
        let caplen = UInt32(bytes[32]) | UInt32(bytes[33]) << 8 | UInt32(bytes[34]) << 16 | UInt32(bytes[35]) << 24
        let len = caplen - 10
        for i in 0..<4 { bytes[36 + i] = UInt8(truncatingIfNeeded: len >> (8 * UInt32(i))) }
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("caplen.pcap")
        try Data(bytes).write(to: bad)
        let r = try run(["-r", bad.path], environment: ["TZ": "UTC"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "[Invalid header: len(\(len)) < caplen(\(caplen))]", "\(r.stdout)")
        #expect(packetLines(r.stdout).count == 6, "the other six packets print as usual: \(r.stdout)")
        let tool = try #require(tcpdump, "make test installs tcpdump")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["-nn", "-r", bad.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.runSerialized()
        let theirs = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitForExit()
        #expect(theirs.split(separator: "\n").first == lines.first, "tcpdump: \(theirs)")
    }

    /// tcpdump's joined short values: `-c2 -rFILE` is `-c 2 -r FILE`.
    @Test func joinedShortValues() throws {
        let joined = try run(["-c2", "-r\(goodCapture.path)"], environment: ["TZ": "UTC"])
        let spaced = try run(["-c", "2", "-r", goodCapture.path], environment: ["TZ": "UTC"])
        #expect(joined.status == 0, "\(joined.stderr)")
        #expect(packetLines(joined.stdout).count == 2)
        #expect(joined.stdout == spaced.stdout)
    }

    @Test func emptyFileName() throws {
        expectError(try run(["-r", ""]), Status.usage, mentions: ["-r takes a capture file name"])
    }

    /// `-r X -w X` would truncate X before reading it (tcpdump does exactly that).
    @Test func writingTheInputIsRefused() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("in.pcap")
        try FileManager.default.copyItem(at: goodCapture, to: copy)
        let before = try Data(contentsOf: copy)
        expectError(try run(["-r", copy.path, "-w", dir.appendingPathComponent("./in.pcap").path]), Status.usage,
                    mentions: ["is the file -r reads"])
        #expect(try Data(contentsOf: copy) == before, "the input was changed")
    }

    /// A cut capture on standard input is named "standard input", as a bad one is.
    @Test func cutStandardInputIsNamed() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.pcap")
        try Data(try Data(contentsOf: goodCapture).prefix(300)).write(to: cut)
        let r = try run(["-q", "-r", "-"], stdin: cut)
        #expect(r.status == Status.readFailed, "\(r.stderr)")
        // Standard input goes through libwiretap: the cut record's byte offset is named.
        #expect(r.stderr.hasPrefix("knetcap: standard input: truncated record at byte offset "), "\(r.stderr)")
    }
}
