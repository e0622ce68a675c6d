// Issue 8, fourth new-user trial: what it found, each checked on real files and tools.

import Foundation
import Testing

@Suite("issue 8: fourth trial")
struct Issue8FourthTrialTests {
    /// A zstd capture cut short, read through a FIFO, /dev/stdin or a process substitution:
    /// the broken stream is named (exit 13) as for the file, not a link type (exit 9).
    @Test func cutCompressedStreamThroughAFIFOOrDevStdin() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let z = dir.appendingPathComponent("c.pcap.zst")
        let c = try tool("zstd", ["-q", "-f", "-o", z.path, goodCapture.path])
        try #require(c.status == 0)
        let cut = dir.appendingPathComponent("cut.zst")
        let whole = try Data(contentsOf: z)
        try whole.prefix(whole.count / 2).write(to: cut)
        let file = try run(["-q", "-r", cut.path])
        expectError(file, Status.decompressFailed, mentions: ["decompression failed"])
        let viaStdin = try run(["-q", "-r", "/dev/stdin"], stdin: cut)
        #expect(viaStdin.status == Status.decompressFailed, "\(viaStdin.stderr)")
        #expect(viaStdin.stderr.contains("decompression failed"), "\(viaStdin.stderr)")
        let fifo = dir.appendingPathComponent("fifo")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        let writer = Thread { if let h = FileHandle(forWritingAtPath: fifo.path) { h.write(try! Data(contentsOf: cut)); try? h.close() } }
        writer.start()
        let viaFIFO = try run(["-q", "-r", fifo.path])
        #expect(viaFIFO.status == Status.decompressFailed, "\(viaFIFO.stderr)")
    }

    /// A gzip'd pcapng cut inside its first blocks, on standard input: exit 13, as the file.
    @Test func gzipCutInItsHeaderOnStandardInput() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ng = dir.appendingPathComponent("sb.pcapng")
        try #require(try tool("editcap", ["-F", "pcapng", repoRoot.appendingPathComponent("Captures/tcp-syn-backlog-drop.pcap").path, ng.path]).status == 0)
        try #require(try tool("gzip", ["-k", ng.path]).status == 0)
        let cut = dir.appendingPathComponent("cut.gz")
        try (try Data(contentsOf: dir.appendingPathComponent("sb.pcapng.gz"))).prefix(100).write(to: cut)
        let asFile = try run(["-q", "-r", cut.path])
        expectError(asFile, Status.decompressFailed, mentions: ["decompression failed", "truncated"])
        let onStdin = try run(["-q", "-r", "-"], stdin: cut)
        expectError(onStdin, Status.decompressFailed, mentions: ["standard input: decompression failed", "truncated"])
    }

    /// A byte damaged in the middle of a large gzip stream on standard input: the relay copies
    /// the rest while the reader has stopped, and the damage is named as for the file.
    @Test func damageInTheMiddleOfALargeStreamOnStandardInput() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 60_000, seed: 3, in: dir)
        try #require(try tool("gzip", ["-k", big.path]).status == 0)
        var bytes = try Data(contentsOf: dir.appendingPathComponent("big.pcap.gz"))
        bytes[bytes.count / 3] ^= 0xff
        let bad = dir.appendingPathComponent("bad.pcap.gz")
        try bytes.write(to: bad)
        let asFile = try run(["-q", "-r", bad.path], timeout: 120)
        let onStdin = try run(["-q", "-r", "-"], stdin: bad, timeout: 120)
        #expect(asFile.status == Status.decompressFailed, "\(asFile.stderr)")
        #expect(onStdin.status == asFile.status, "file: \(asFile.stderr) stdin: \(onStdin.stderr)")
        let why = { (s: String) in s.split(separator: "\n").last.map { $0.split(separator: ":").dropFirst(2).joined(separator: ":") } ?? "" }
        #expect(why(asFile.stderr) == why(onStdin.stderr), "file: \(asFile.stderr) stdin: \(onStdin.stderr)")
    }

    /// `-w X.pcap` of a capture whose interfaces differ in link type: the packets it could not
    /// write are named (exit 8), not hidden behind another message.
    @Test func pcapWriteOfMixedLinkTypesSaysWhatWasLost() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mixed = dir.appendingPathComponent("mixed.pcapng")
        let m = try tool("mergecap", ["-w", mixed.path, goodCapture.path, tcpdumpCaptures.appendingPathComponent("LINKTYPE_IPV4.pcap").path])
        try #require(m.status == 0, "\(m.stderr)")
        let out = dir.appendingPathComponent("out.pcap")
        let r = try run(["-q", "-r", mixed.path, "-w", out.path])
        expectError(r, Status.cannotWrite, mentions: ["cannot write \(out.path)", "a pcap file holds one link type", "write .pcapng"], stdoutMayHaveText: true)
        let ok = try run(["-q", "-r", mixed.path, "-w", dir.appendingPathComponent("out.pcapng").path])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try capinfosCount(dir.appendingPathComponent("out.pcapng")) == (try capinfosCount(mixed)))
    }

    /// A pcapng knetcap wrote, with its finding comments, rewritten again: each comment once.
    @Test func ownCommentsNotDoubled() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let once = dir.appendingPathComponent("once.pcapng"), twice = dir.appendingPathComponent("twice.pcapng")
        #expect(try run(["-q", "-r", goodCapture.path, "-w", once.path]).status == 0)
        #expect(try run(["-q", "-r", once.path, "-w", twice.path]).status == 0)
        let a = try tool("tshark", ["-r", once.path, "-T", "fields", "-e", "frame.comment"]).stdout
        let b = try tool("tshark", ["-r", twice.path, "-T", "fields", "-e", "frame.comment"]).stdout
        #expect(a.contains("knetcap: dns.conntrack-race"))
        #expect(a == b)
    }
}

@Suite("issue 8: fourth trial, pcapng rewrites")
struct Issue8FourthTrialRewriteTests {
    /// `-r IN.pcapng -w OUT.pcapng FILTER`: every copied interface records the filter as
    /// if_filter (capinfos shows it), as a pcap input's one interface does.
    @Test func rewriteRecordsTheCaptureFilter() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pcapng")
        let r = try run(["-q", "-r", publicCaptures.appendingPathComponent("zeek-pcapng-multi-interface.pcapng").path, "-w", out.path, "udp", "port", "53"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try tool("capinfos", [out.path]).stdout
        #expect(info.components(separatedBy: "Filter string = udp port 53").count - 1 == 2, "\(info)")
    }
}

@Suite("issue 8: fourth trial, records without time and after the last packet")
struct Issue8FourthTrialRecordTests {
    static let testgen = testCaptures.appendingPathComponent("pcapng-testgen")

    /// Simple packet blocks carry no timestamp: time fields empty as in tshark, and the
    /// capture's span is not stretched back to 1970.
    @Test func simplePacketBlocksHaveNoTime() throws {
        let f = Self.testgen.appendingPathComponent("le-basic-test010.pcapng")
        let fields = ["-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.time_relative", "-e", "frame.time_delta", "-e", "frame.len"]
        let ours = try run(["-r", f.path] + fields)
        let theirs = try tool("tshark", ["-r", f.path] + fields)
        #expect(ours.status == 0 && !theirs.stdout.isEmpty)
        #expect(ours.stdout == theirs.stdout, "ours:\n\(ours.stdout)\ntshark:\n\(theirs.stdout)")
        let q = try run(["-q", "-r", Self.testgen.appendingPathComponent("le-advanced-test102.pcapng").path])
        #expect(!(q.stdout + q.stderr).contains("1340954905") && (q.stdout + q.stderr).contains("no faults found"), "\(q.stdout) \(q.stderr)")
    }

    /// Custom blocks after the last packet are frames to tshark: the count says as many.
    @Test func trailingCustomBlocksCountAsFrames() throws {
        let f = Self.testgen.appendingPathComponent("le-advanced-test102.pcapng")
        let frames = try tool("tshark", ["-r", f.path, "-T", "fields", "-e", "frame.number"]).stdout.split(separator: "\n").count
        #expect(frames == 8)
        let q = try run(["-q", "-r", f.path])
        #expect((q.stdout + q.stderr).contains("in \(frames) packets"), "\(q.stdout) \(q.stderr)")
    }
}
