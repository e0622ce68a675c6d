// Issue 8, the sixth trial's leftovers on capture-file handling: a compressed standard input
// whose temporary copy cannot be written, a full disk under -w, a reader of -T fields that goes
// away, compressed offsets, and the live capture's "writing to" line. Each on real files and
// tools.

import Foundation
import Testing

@Suite("issue 8: capture-file edges", .serialized)
struct Issue8CaptureFileEdgesTests {
    /// 20,000 packets of scripts/gen_pcap.py traffic in `dir`, and that capture compressed.
    static func compressedCapture(_ compressor: String, _ ext: String, in dir: URL) throws -> (URL, URL) {
        let big = try generated(packets: 20000, seed: 3, in: dir)
        let packed = dir.appendingPathComponent("big.pcap.\(ext)")
        #expect(try tool(compressor, ["-c", big.path], stdoutFile: packed).status == 0)
        return (big, packed)
    }

    /// A compressed capture cut in its middle, on standard input, with nowhere to keep the
    /// temporary copy that tells a cut compressed stream from a cut capture ($TMPDIR missing,
    /// not a directory; as root also read-only and full): exit 14, one line naming $TMPDIR, the
    /// reason and what reading met, after the packets before the cut were diagnosed (it was
    /// exit 10, "truncated record", nothing about the copy). With a usable $TMPDIR the same
    /// stream is exit 13, the stream named as cut.
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst")])
    func aCompressedStandardInputWithoutRoomForItsCopy(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, packed) = try Self.compressedCapture(compressor, ext, in: dir)
        let whole = try Data(contentsOf: packed)
        let cut = whole.prefix(whole.count / 2)
        let notADirectory = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: notADirectory)
        let cases = [(dir.appendingPathComponent("none").path, "creating it: No such file or directory"),
                     (notADirectory.path, "creating it: Not a directory")]
        func check(_ tmp: String, _ reason: String) throws {
            let r = try run(["-q", "-r", "-"], environment: ["TMPDIR": tmp], stdinBytes: cut)
            expectError(r, Status.temporaryCopyFailed,
                        mentions: ["knetcap: standard input: cannot write the temporary copy of the compressed input in $TMPDIR (\(tmp)): \(reason)",
                                   "whether the \(compressor) stream itself is cut short or damaged cannot be told",
                                   "reading it stopped with: truncated record at decompressed byte offset ",
                                   "(every packet before it was read and diagnosed)"],
                        stdoutMayHaveText: true)
            let read = r.stdout.firstMatch(of: #/in (\d+) packets?/#).flatMap { Int($0.1) } ?? 0
            #expect(read > 0 && read < 20000, "the packets before the cut are diagnosed: \(r.stdout)")
        }
        for (tmp, reason) in cases { try check(tmp, reason) }
        if isRoot {
            // Full: the copy fails part-way (64 KiB for a stream of 300+ KiB); read-only: at once.
            try withTinyTmpfs(size: 65536) { tiny in try check(tiny.path, "writing it: No space left on device") }
            try withTinyTmpfs(size: 65536) { ro in
                #expect(try tool("mount", ["-o", "remount,ro", ro.path]).status == 0)
                try check(ro.path, "creating it: Read-only file system")
            }
        }
        // The copy written: the cut stream is named, exit 13.
        let ok = try run(["-q", "-r", "-"], environment: ["TMPDIR": dir.path], stdinBytes: cut)
        expectError(ok, Status.decompressFailed, mentions: ["standard input: decompression failed at decompressed byte offset ",
                                                            "the \(compressor) stream ends inside a \(compressor == "gzip" ? "member" : "frame"): its \(cut.count) compressed bytes decompress to "],
                    stdoutMayHaveText: true)
        // A whole stream needs no copy: read as ever, whatever $TMPDIR is.
        #expect(try run(["-q", "-r", "-"], environment: ["TMPDIR": dir.appendingPathComponent("none").path], stdinBytes: whole).status == 0)
    }

    /// A compressed capture damaged in its middle: the byte offset of the record is said to
    /// be in the decompressed stream, and how far into the compressed file the library had
    /// read when it found the damage is given (zstd said "at byte offset N" of the
    /// decompressed stream without saying so). gzip's damage is found at its trailer's check
    /// (the deflate data decoded to garbage), zstd's and lz4's in the block holding it.
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")])
    func aDamagedCompressedFileSaysWhichOffsets(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (big, packed) = try Self.compressedCapture(compressor, ext, in: dir)
        var bytes = try Data(contentsOf: packed)
        let mid = bytes.count / 2
        for i in mid..<(mid + 64) { bytes[i] ^= 0x5a }
        try bytes.write(to: packed)
        let r = try run(["-q", "-r", packed.path])
        expectError(r, Status.decompressFailed, mentions: ["\(packed.path): decompression failed at decompressed byte offset "], stdoutMayHaveText: true)
        let found = try #require(r.stderr.firstMatch(of: #/found after (\d+) compressed bytes \((\d+) decompressed\)/#), "\(r.stderr)")
        let compressed = Int(found.1) ?? 0, decompressed = Int(found.2) ?? 0
        #expect(compressed > mid && compressed <= bytes.count, "\(r.stderr)")
        #expect(decompressed > 0, "\(r.stderr)")
        // The record's offset is in the decompressed stream: past the end of the compressed file.
        let offset = r.stderr.firstMatch(of: #/decompressed byte offset (\d+)/#).flatMap { Int($0.1) } ?? 0
        let plain = try Data(contentsOf: big).count
        #expect(offset > bytes.count && offset < plain, "\(r.stderr)")
    }
}

@Suite("issue 8: capture-file edges, a full disk", .serialized)
struct Issue8FullDiskTests {
    /// The packets and last frame a "cut back" line gives.
    static func held(_ stderr: String) -> (packets: Int, lastFrame: Int)? {
        guard let m = stderr.firstMatch(of: #/it holds (\d+) packets?, each complete, the last of them frame (\d+) \(cut back/#) else { return nil }
        return (Int(m.1) ?? -1, Int(m.2) ?? -1)
    }

    /// The file is whole records only: capinfos counts `packets` with no "cut short" error,
    /// tcpdump reads it with no "truncated" warning.
    static func expectWhole(_ file: URL, packets: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let c = try tool("capinfos", ["-c", "-M", file.path])
        #expect(c.status == 0 && !c.stderr.contains("cut short"), "\(file.lastPathComponent): \(c.stderr)", sourceLocation: sourceLocation)
        #expect(try capinfosCount(file) == packets, "\(file.lastPathComponent): \(c.stdout)", sourceLocation: sourceLocation)
        let t = try tool("tcpdump", ["-n", "-r", file.path])
        #expect(t.status == 0 && !t.stderr.contains("truncated"), "\(file.lastPathComponent): \(t.stderr)", sourceLocation: sourceLocation)
        #expect(t.stdout.split(separator: "\n").count == packets, sourceLocation: sourceLocation)
    }

    /// `-w` (pcap, pcapng) onto a 64 KiB tmpfs that fills: the file ends on a record boundary
    /// (it ended inside a record, capinfos: "cut short in the middle of a packet"), the one
    /// line names the file, ENOSPC and exactly the packets it holds (it counted 511 "handed to
    /// it" for a file of 468), exit 8, and the diagnosis still covers all 20000 packets. Also
    /// when the last buffer fails only at close (a file of 30 packets, room for 29).
    @Test(.enabled(if: isRoot, "mounting a tmpfs needs root"), arguments: ["out.pcap", "out.pcapng"])
    func aFullDiskLeavesWholeRecords(name: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 20000, seed: 3, in: dir)
        try withTinyTmpfs(size: 65536) { tiny in
            let out = tiny.appendingPathComponent(name)
            let r = try run(["-q", "-r", big.path, "-w", out.path])
            expectError(r, Status.cannotWrite, mentions: ["knetcap: cannot write \(out.path): No space left on device: it holds ",
                                                          "the diagnosis covers all 20000 packets read"], stdoutMayHaveText: true)
            #expect(r.stdout.contains("in 20000 packets"), "\(r.stdout.prefix(200))")
            let h = try #require(Self.held(r.stderr), "\(r.stderr)")
            #expect(h.packets > 100 && h.lastFrame == h.packets, "\(r.stderr)")
            try Self.expectWhole(out, packets: h.packets)
        }
        // The last buffer fails at close: one page of an 8 KiB tmpfs taken, 30 packets (about
        // 4.4 KB) for the other.
        try withTinyTmpfs(size: 8192) { tiny in
            try Data(count: 4000).write(to: tiny.appendingPathComponent("fill"))
            let out = tiny.appendingPathComponent(name)
            let r = try run(["-q", "-r", big.path, "-c", "30", "-w", out.path])
            expectError(r, Status.cannotWrite, mentions: ["cannot write \(out.path): No space left on device: it holds ",
                                                          "the diagnosis covers all 30 packets read"], stdoutMayHaveText: true)
            let h = try #require(Self.held(r.stderr), "\(r.stderr)")
            #expect(h.packets > 0 && h.packets < 30, "\(r.stderr)")
            try Self.expectWhole(out, packets: h.packets)
        }
    }

    /// `-C 1` rotation onto a 2.6 MB tmpfs: NAME and NAME1 complete, NAME2 cut back to whole
    /// records; the line counts the packets of each, which add up to what the files hold.
    @Test(.enabled(if: isRoot, "mounting a tmpfs needs root"), arguments: ["r.pcap", "r.pcapng"])
    func aFullDiskDuringRotation(name: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 20000, seed: 3, in: dir)
        try withTinyTmpfs(size: 2_600_000) { tiny in
            let out = tiny.appendingPathComponent(name)
            let r = try run(["-q", "-r", big.path, "-w", out.path, "-C", "1"])
            expectError(r, Status.cannotWrite, mentions: ["cannot write \(out.path)2: No space left on device: it holds ",
                                                          "the 2 files before it are complete (", "the diagnosis covers all 20000 packets read"],
                        stdoutMayHaveText: true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: tiny.path).sorted() == [name, name + "1", name + "2"])
            let h = try #require(Self.held(r.stderr), "\(r.stderr)")
            let before = try #require(r.stderr.firstMatch(of: #/complete \((\d+) packets\)/#).flatMap { Int($0.1) })
            let first = try #require(try capinfosCount(out)), second = try #require(try capinfosCount(tiny.appendingPathComponent(name + "1")))
            #expect(first + second == before)
            #expect(h.lastFrame == before + h.packets, "\(r.stderr)")
            try Self.expectWhole(tiny.appendingPathComponent(name + "2"), packets: h.packets)
        }
    }
}

@Suite("issue 8: capture-file edges, a reader that goes away")
struct Issue8ReaderGoneTests {
    /// `-T fields ... | head -3`: reading stops when the field lines' reader goes away, as
    /// tshark's does, and standard error, where the diagnosis goes, says first that it covers
    /// only the frames read (it printed "N findings in 23697 packets" of a 100,000-packet file
    /// as if whole).
    @Test func fieldsIntoHeadSayTheDiagnosisIsPartial() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 100_000, seed: 3, in: dir)
        let err = dir.appendingPathComponent("stderr")
        // 600 KB of field lines: far more than a pipe holds, so knetcap meets the closed pipe.
        let r = try tool("sh", ["-c", "\"$0\" -r \"$1\" -T fields -e frame.number 2>\"$2\" | head -3", knetcap.path, big.path, err.path])
        #expect(r.status == 0 && r.stdout == "1\n2\n3\n", "\(r.stdout.prefix(100)) \(r.stderr)")
        let stderr = try String(contentsOf: err, encoding: .utf8)
        let m = try #require(stderr.firstMatch(of: #/^(\d+) packets read\nknetcap: reading (.+) stopped at frame (\d+) when the reader of the field lines on standard output went away \(SIGPIPE\): the diagnosis covers frames 1 to (\d+) only, not the whole file\n/#),
                             "\(stderr.prefix(400))")
        let n = Int(m.1) ?? 0
        #expect(String(m.2) == big.path && Int(m.3) == n && Int(m.4) == n)
        #expect(n > 3 && n < 100_000)
        #expect(stderr.contains("== knetcap diagnosis: ") && stderr.contains(" in \(n) packets "), "\(stderr.prefix(400))")
    }
}
