// Capture files as Wireshark users keep them (issue 8): compressed and multi-interface input
// through libwiretap, pcapng output read back by tshark, capinfos, editcap and tcpdump, finding
// comments, rotation (-C/-G/-W) with every packet counted across the files.

import Foundation
import Testing

/// Runs a reference tool (tshark, capinfos, editcap, gzip, zstd, lz4, tcpdump); a missing tool
/// fails the test (`make deps-test` installs them).
func tool(_ name: String, _ args: [String], stdinFile: URL? = nil, stdoutFile: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let exe = try #require(["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"].map { $0 + name }
        .first { FileManager.default.isExecutableFile(atPath: $0) }, "\(name) is not installed (make deps-test)")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    var files: [FileHandle] = []
    defer { out.closeBothEnds(); err.closeBothEnds(); for f in files { try? f.close() } }
    if let s = stdinFile { let f = try FileHandle(forReadingFrom: s); files.append(f); p.standardInput = f }
    if let o = stdoutFile {
        _ = FileManager.default.createFile(atPath: o.path, contents: nil)
        let f = try FileHandle(forWritingTo: o); files.append(f)
        p.standardOutput = f
    } else {
        p.standardOutput = out
    }
    p.standardError = err
    try p.runSerialized()
    let o = stdoutFile == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitForExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The number of packets in a capture file, as capinfos counts them.
func capinfosCount(_ file: URL) throws -> Int? {
    let r = try tool("capinfos", ["-c", "-M", file.path])
    guard r.status == 0 else { return nil }
    return r.stdout.split(separator: "\n").first { $0.contains("Number of packets") }
        .flatMap { Int($0.split(separator: " ").last ?? "") }
}

let dnsTimeout = repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap")

/// `scripts/gen_pcap.py --packets N --seed S` written to `dir/big.pcap`.
func generated(packets: Int, seed: Int, in dir: URL) throws -> URL {
    let big = dir.appendingPathComponent("big.pcap")
    let g = Process()
    g.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    g.arguments = [repoRoot.appendingPathComponent("scripts/gen_pcap.py").path, "--packets", String(packets), "--seed", String(seed), big.path]
    g.standardOutput = FileHandle.nullDevice
    try g.runSerialized()
    g.waitForExit()
    #expect(g.terminationStatus == 0, "gen_pcap.py failed")
    return big
}

@Suite("knetcap capture files (libwiretap)")
struct CaptureFileCLITests {
    /// gzip, zstd and lz4 forms, by name and on standard input: the same report as the file.
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")])
    func compressedCapturesReadAsTheFile(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let packed = dir.appendingPathComponent("dns.pcap.\(ext)")
        let c = try tool(compressor, ["-c", dnsTimeout.path], stdoutFile: packed)
        #expect(c.status == 0, "\(compressor): \(c.stderr)")
        let plain = try run(["-r", dnsTimeout.path])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("in 7 packets"))
        let byName = try run(["-r", packed.path])
        #expect(byName.status == 0, "stderr: \(byName.stderr)")
        #expect(byName.stdout == plain.stdout)
        let onStdin = try run(["-r", "-"], stdin: packed)
        #expect(onStdin.status == 0, "stderr: \(onStdin.stderr)")
        #expect(onStdin.stdout == plain.stdout)
    }

    /// A pcapng cut inside a block: the packets before it are diagnosed, then one line names
    /// the file and the block's byte offset; exit 10.
    @Test func truncatedPcapngNamesTheOffset() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ng = dir.appendingPathComponent("dns.pcapng")
        #expect(try tool("editcap", ["-F", "pcapng", dnsTimeout.path, ng.path]).status == 0)
        let bytes = try Data(contentsOf: ng)
        let cut = dir.appendingPathComponent("cut.pcapng")
        try bytes.prefix(bytes.count - 20).write(to: cut)
        let r = try run(["-q", "-r", cut.path])
        // editcap's blocks: SHB, IDB, then 7 EPBs; the last is cut.
        let offsets = try tool("tshark", ["-r", ng.path, "-T", "fields", "-e", "frame.number"])
        #expect(offsets.stdout.split(separator: "\n").count == 7)
        expectError(r, Status.readFailed, mentions: [cut.path, "truncated record at byte offset", "after 6 packets"], stdoutMayHaveText: true)
        #expect(r.stdout.contains("in 6 packets"), "\(r.stdout)")
    }

    /// A pcapng cut inside an interface description block, before any packet: wiretap fails
    /// on opening and gives no offset; the line names the header blocks and where the file
    /// ends; exit 10 (a truncated capture, not "not a capture").
    @Test func pcapngCutInsideInterfaceBlockNamesWhere() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ng = dir.appendingPathComponent("dns.pcapng")
        #expect(try tool("editcap", ["-F", "pcapng", dnsTimeout.path, ng.path]).status == 0)
        let bytes = try Data(contentsOf: ng)
        // The section header block's length is its bytes 4..<8 (little-endian here); the IDB follows.
        let shb = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        #expect(bytes[shb] == 1 && bytes[shb + 1] == 0, "an interface description block follows the section header")
        let cutAt = shb + 12
        let cut = dir.appendingPathComponent("cut-idb.pcapng")
        try bytes.prefix(cutAt).write(to: cut)
        expectError(try run(["-q", "-r", cut.path]), Status.readFailed,
                    mentions: [cut.path, "truncated record in the header blocks before the first packet", "the file ends at byte offset \(cutAt)"])
    }

    /// A pcapng whose second interface has a link type knetcap does not dissect (mergecap of an
    /// Ethernet capture and one packet re-typed USER0 by editcap): the Ethernet packets are
    /// diagnosed, then one line names the interface and its packet; exit 9.
    /// Two pcapng sections (`cat a.pcapng b.pcapng`: Ethernet, then Linux SLL2) rewritten with
    /// -w: one section with both interfaces, each packet on its own (libwiretap 4.0 numbers a
    /// packet's interface within its section; editcap and mergecap 4.0 stop at the first packet
    /// of the second: "interface 0 encap 1 != packet encap 210").
    @Test func twoSectionPcapngIsRewrittenWhole() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.pcapng"), b = dir.appendingPathComponent("b.pcapng")
        #expect(try tool("editcap", ["-F", "pcapng", raceCapture.path, a.path]).status == 0)
        #expect(try tool("editcap", ["-F", "pcapng", repoRoot.appendingPathComponent("Tests/Captures/public/dnscap-sll2.pcap").path, b.path]).status == 0)
        let two = dir.appendingPathComponent("two.pcapng"), out = dir.appendingPathComponent("out.pcapng")
        try (try Data(contentsOf: a) + Data(contentsOf: b)).write(to: two)
        let r = try run(["-q", "-r", two.path, "-w", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        func frames(_ u: URL) throws -> [String] {
            let t = try tool("tshark", ["-n", "-r", u.path, "-T", "fields", "-e", "frame.protocols", "-e", "frame.len", "-e", "frame.time_epoch"])
            #expect(t.status == 0 && !t.stderr.contains("cut short"), "\(t.stderr)")
            return t.stdout.split(separator: "\n").map(String.init)
        }
        let before = try frames(two), after = try frames(out)
        #expect(before.count == 9 && after == before)
        let ids = try tool("tshark", ["-n", "-r", out.path, "-T", "fields", "-e", "frame.interface_id"]).stdout.split(separator: "\n")
        #expect(ids == ["0", "0", "0", "0", "0", "0", "0", "1", "1"])
        #expect(try tool("capinfos", ["-M", out.path]).stdout.contains("Number of interfaces in file: 2"))
    }

    /// The classic pcap variants with longer record headers (Red Hat 6.1 and Nokia share the
    /// standard magic number; SuSE 6.3) are read through libwiretap, which tells them apart:
    /// libpcap read a bad length at the second record ("invalid packet capture length").
    @Test(arguments: ["rh6_1pcap", "nokiapcap", "suse6_3pcap", "modpcap"])
    func classicPcapVariantsAreRead(_ format: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = dir.appendingPathComponent("v.pcap")
        #expect(try tool("editcap", ["-F", format, raceCapture.path, v.path]).status == 0)
        let r = try run(["-q", "-r", v.path]), original = try run(["-q", "-r", raceCapture.path])
        #expect(r.status == 0, "\(format): \(r.stderr)")
        #expect(r.stdout == original.stdout)
    }

    /// A classic pcap cut inside a record (read by libpcap): the error names the record's
    /// byte offset, as libwiretap's errors do.
    @Test func cutClassicPcapNamesTheRecordOffset() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.pcap")
        // Records of the race capture start at 24, 116, 224, 316, 408 (16-byte headers): cut in the 5th.
        try (try Data(contentsOf: raceCapture)).prefix(500).write(to: cut)
        expectError(try run(["-q", "-r", cut.path]), Status.readFailed,
                    mentions: ["\(cut.path): read failed after 4 packets: truncated dump file; tried to read 92 captured bytes, only got 76 (the record at byte offset 408)"],
                    stdoutMayHaveText: true)
    }

    @Test func pcapngInterfaceWithUnsupportedLinkType() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let user0 = dir.appendingPathComponent("user0.pcap")
        #expect(try tool("editcap", ["-T", "user0", "-r", dnsTimeout.path, user0.path, "1"]).status == 0)
        let mixed = dir.appendingPathComponent("mixed.pcapng")
        #expect(try tool("mergecap", ["-w", mixed.path, dnsTimeout.path, user0.path]).status == 0)
        #expect(try capinfosCount(mixed) == 8)
        let r = try run(["-q", "-r", mixed.path])
        expectError(r, Status.unsupportedLinkType, mentions: [mixed.path, "interface 1 has link type DLT 147", "its 1 packet from frame 1 was read but not diagnosed"], stdoutMayHaveText: true)
        #expect(r.stdout.contains("dns.conntrack-race  x1") && r.stdout.contains("in 8 packets"), "\(r.stdout)")
    }

    /// A gzip stream whose deflate data is damaged after its first packets: exit 13, one line
    /// naming the file and where decompression failed.
    @Test func damagedGzipIsDecompressionError() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 3000, seed: 5, in: dir)
        let gz = dir.appendingPathComponent("big.pcap.gz")
        #expect(try tool("gzip", ["-c", big.path], stdoutFile: gz).status == 0)
        var bytes = try Data(contentsOf: gz)
        let mid = bytes.count / 2
        for i in mid..<(mid + 64) { bytes[i] ^= 0x5a }
        try bytes.write(to: gz)
        let r = try run(["-q", "-r", gz.path])
        #expect(r.status == Status.decompressFailed, "stderr: \(r.stderr)")
        #expect(r.stderr.hasPrefix("knetcap: \(gz.path): decompression failed at decompressed byte offset "), "\(r.stderr)")
        #expect(r.stderr.contains("byte offset"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let read = r.stdout.firstMatch(of: #/in (\d+) packets?/#).flatMap { Int($0.1) } ?? 0
        #expect(read > 0 && read < 3000, "packets before the damage are diagnosed: \(r.stdout)")
    }

    /// A compressed capture cut short — inside its first frame (an lz4 or zstd frame holds
    /// the whole small file, which libwiretap then took for ERF) or after many packets: exit
    /// 13, one line naming the compressed stream that ends early; packets before are diagnosed.
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")])
    func truncatedCompressedCaptureIsDecompressionError(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 20000, seed: 3, in: dir)
        for (input, label) in [(dnsTimeout, "small"), (big, "large")] {
            let packed = dir.appendingPathComponent("\(label).pcap.\(ext)")
            #expect(try tool(compressor, ["-c", input.path], stdoutFile: packed).status == 0)
            let bytes = try Data(contentsOf: packed)
            for keep in [40, bytes.count / 2] {
                let cut = dir.appendingPathComponent("cut-\(keep)-\(label).pcap.\(ext)")
                try bytes.prefix(keep).write(to: cut)
                let r = try run(["-q", "-r", cut.path])
                expectError(r, Status.decompressFailed, mentions: [cut.path, "decompression failed", "the \(ext == "gz" ? "gzip" : compressor) stream ends inside a \(ext == "gz" ? "member" : "frame")", "truncated file"], stdoutMayHaveText: true)
                if r.stderr.contains(", after ") {
                    // Packets came out before the cut: they were diagnosed.
                    let read = r.stdout.firstMatch(of: #/in (\d+) packets?/#).flatMap { Int($0.1) } ?? 0
                    #expect(read > 0, "\(cut.lastPathComponent): \(r.stdout)")
                }
            }
        }
    }

    /// The same cut stream on standard input (a pipe, which no probe can read again): a zstd
    /// or lz4 frame cut before its first block ends is named by its magic bytes, exit 13, not
    /// taken for Endace ERF (exit 9).
    @Test(arguments: [("zstd", "zst"), ("lz4", "lz4")])
    func truncatedCompressedStandardInputIsDecompressionError(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let packed = dir.appendingPathComponent("small.pcap.\(ext)")
        #expect(try tool(compressor, ["-c", dnsTimeout.path], stdoutFile: packed).status == 0)
        let bytes = try Data(contentsOf: packed)
        expectError(try run(["-q", "-r", "-"], stdinBytes: bytes.prefix(bytes.count / 2)), Status.decompressFailed,
                    mentions: ["standard input: decompression failed: \(compressor == "lz4" ? "an" : "a") \(compressor) stream that libwiretap reads as erf, not as a capture: cut short or damaged"])
        #expect(try run(["-q", "-r", "-"], stdinBytes: bytes).status == 0)
    }

    /// A large compressed stream cut in its middle on standard input (records came out before
    /// the cut): the copy InputRelay keeps of a compressed input is probed, exit 13 as for the
    /// file, for -r - and knetcap diff -; not "truncated record" (exit 10).
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")])
    func cutCompressedStreamOnStandardInput(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 20000, seed: 3, in: dir)
        let packed = dir.appendingPathComponent("big.pcap.\(ext)")
        #expect(try tool(compressor, ["-c", big.path], stdoutFile: packed).status == 0)
        let bytes = try Data(contentsOf: packed)
        let cut = bytes.prefix(bytes.count / 2)
        // (lz4's one 4 MB block holds all of it: cut, nothing decodes and libwiretap guesses ERF.)
        let what = compressor == "lz4" ? "stream" : "the \(ext == "gz" ? "gzip" : compressor) stream ends inside a \(ext == "gz" ? "member" : "frame")"
        expectError(try run(["-q", "-r", "-"], stdinBytes: cut), Status.decompressFailed, mentions: ["standard input: decompression failed", what],
                    stdoutMayHaveText: true)
        expectError(try run(["diff", "-", dnsTimeout.path], stdinBytes: cut), Status.decompressFailed, mentions: ["standard input: decompression failed", what])
    }

    /// Second trial: a whole, valid .zst/.lz4/.gz whose capture has a corrupt record (its 4th
    /// record's caplen set to 2^31-1) is a corrupt record, exit 10 — never blamed on the
    /// compression (after a complete frame zstd and lz4 answer an empty input with a nonzero
    /// hint, which was read as "truncated").
    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")])
    func corruptRecordInAValidCompressedFile(compressor: String, ext: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = try Data(contentsOf: dnsTimeout)
        var at = 24
        for _ in 0..<3 { at += 16 + (Int(bytes[at + 8]) | Int(bytes[at + 9]) << 8 | Int(bytes[at + 10]) << 16 | Int(bytes[at + 11]) << 24) }
        bytes.replaceSubrange((at + 8)..<(at + 12), with: [0xff, 0xff, 0xff, 0x7f])
        let bad = dir.appendingPathComponent("bad.pcap")
        try bytes.write(to: bad)
        let packed = dir.appendingPathComponent("bad.pcap.\(ext)")
        #expect(try tool(compressor, ["-c", bad.path], stdoutFile: packed).status == 0)
        let r = try run(["-q", "-r", packed.path])
        expectError(r, Status.readFailed, mentions: [packed.path, "corrupt record at decompressed byte offset \(at)", "after 3 packets"], stdoutMayHaveText: true)
        #expect(!r.stderr.contains("decompression"))
    }

    /// -r IN -w OUT.pcapng: the findings are packet comments on their evidence frames, the ones
    /// the JSON report names; tshark, capinfos, editcap and tcpdump read the file.
    @Test func pcapngCarriesFindingCommentsAndFilter() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("dns.pcapng")
        let w = try run(["-q", "-r", dnsTimeout.path, "-w", out.path, "udp"])
        #expect(w.status == 0, "stderr: \(w.stderr)")
        let json = try run(["--json", "-q", "-r", dnsTimeout.path])
        let finding = json.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.first { $0["finding"] != nil }?["finding"] as? [String: Any]
        let kind = try #require(finding?["kind"] as? String)
        let evidence = (finding?["evidence"] as? [[String: Any]] ?? []).compactMap { $0["frame"] as? Int }
        #expect(kind == "dns.conntrack-race")
        #expect(evidence == [1, 2, 3, 4, 6, 7])
        let t = try tool("tshark", ["-r", out.path, "-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number", "-e", "frame.comment"])
        #expect(t.status == 0, "\(t.stderr)")
        let rows = t.stdout.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1) }
        #expect(rows.compactMap { Int($0[0]) } == evidence)
        #expect(rows.allSatisfy { $0.count == 2 && $0[1].hasPrefix("knetcap: dns.conntrack-race: ") })
        let info = try tool("capinfos", [out.path])
        #expect(info.stdout.contains("Filter string = udp"), "\(info.stdout)")
        #expect(info.stdout.contains("Number of packets:   7"))
        #expect(info.stdout.contains("Time resolution = 0x09"))
        let back = dir.appendingPathComponent("back.pcap")
        #expect(try tool("editcap", ["-F", "pcap", out.path, back.path]).status == 0)
        #expect(try capinfosCount(back) == 7)
        let td = try tool("tcpdump", ["-nn", "-r", out.path])
        #expect(td.status == 0, "\(td.stderr)")
        #expect(td.stdout.split(separator: "\n").count == 7)
        // knetcap reads its own pcapng back with the same diagnosis.
        let again = try run(["-q", "-r", out.path])
        #expect(again.stdout == (try run(["-q", "-r", dnsTimeout.path])).stdout)
    }

    /// A FIFO is read as tcpdump and tshark read it (never sniffed first: that would eat its
    /// first bytes), plain and gzip'd; an empty file and a pcapng cut inside its section header
    /// are not captures (exit 4, one line), never "unsupported link type".
    @Test func fifoEmptyAndCutHeader() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try run(["-q", "-r", dnsTimeout.path]).stdout
        for gz in [false, true] {
            let fifo = dir.appendingPathComponent(gz ? "fifo-gz" : "fifo")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/sh")
            writer.arguments = ["-c", (gz ? "gzip -c " : "cat ") + "'\(dnsTimeout.path)' > '\(fifo.path)'"]
            try writer.runSerialized()
            let r = try run(["-q", "-r", fifo.path])
            writer.waitForExit()
            #expect(r.status == 0 && r.stdout == plain, "FIFO\(gz ? " (gzip)" : ""): \(r.status) \(r.stderr)")
        }
        let empty = dir.appendingPathComponent("empty.pcap")
        FileManager.default.createFile(atPath: empty.path, contents: Data())
        let e = try run(["-q", "-r", empty.path])
        #expect(e.status == 4 && e.stderr.contains("truncated file header"), "\(e.status) \(e.stderr)")
        let cut = dir.appendingPathComponent("cut.pcapng")
        let whole = try Data(contentsOf: repoRoot.appendingPathComponent("Tests/Captures/pcapng-testgen/le-basic-test001.pcapng"))
        try whole.prefix(60).write(to: cut)
        let c = try run(["-q", "-r", cut.path])
        #expect(c.status == 4 && c.stderr.split(separator: "\n").count == 1 && !c.stdout.contains("unknown link"), "\(c.status) \(c.stderr) \(c.stdout)")
        #expect(c.stderr == "knetcap: \(cut.path): not a capture: truncated pcapng section header block (the file ends at byte offset 60, inside its first block)\n")
        // Text is not called a cut pcapng.
        let text = try run(["-q", "-r", repoRoot.appendingPathComponent("Package.swift").path])
        #expect(text.status == 4 && !text.stderr.contains("pcapng section"), "\(text.stderr)")
    }

    /// `-w /dev/null --pcapng` with findings: the comment pass rewrites regular files only, so
    /// /dev/null stays the character device (it was once renamed over and became a file).
    @Test(.enabled(if: isRoot)) func pcapngCommentsNeverReplaceADevice() throws {
        let w = try run(["-q", "-r", dnsTimeout.path, "-w", "/dev/null", "--pcapng"])
        #expect(w.status == 0, "stderr: \(w.stderr)")
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "/dev/null is no longer a device")
        #expect(!FileManager.default.fileExists(atPath: "/dev/null.knetcap-tmp"))
    }

    /// A pcapng writer libwiretap cannot finish opening (an input whose interfaces pcapng cannot
    /// hold): `wtap_dump_open(path)` unlinks its path then, which deleted /dev/null on this
    /// machine; knetcap opens the file itself. Checked on a character device made for the test
    /// (the same major/minor as /dev/null), never on /dev/null itself: exit 8, the device kept
    /// (the input has no interface description block: now refused before the path is opened).
    @Test(.enabled(if: isRoot)) func failedPcapngWriterKeepsADevice() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let device = dir.appendingPathComponent("null")
        #expect(mknod(device.path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)  // makedev(1, 3): glibc macro, not imported
        let input = repoRoot.appendingPathComponent("Tests/Captures/pcapng-testgen/le-basic-test002.pcapng")
        let r = try run(["-q", "-r", input.path, "-w", device.path, "--pcapng"])
        expectError(r, Status.cannotWrite, mentions: ["cannot write \(device.path)", "no interface description block before its first packet"], stdoutMayHaveText: true)
        var st = stat()
        #expect(stat(device.path, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "the device was removed or replaced")
        let e = try tool("editcap", ["-F", "pcapng", input.path, dir.appendingPathComponent("e.pcapng").path])
        #expect(e.status != 0, "editcap cannot write it either")
    }

    /// A multi-interface pcapng (several sections' interfaces) rewritten keeps each packet on
    /// its own interface, with the interfaces' names, as tshark reads them.
    @Test func pcapngRewriteKeepsInterfaces() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = publicCaptures.appendingPathComponent("zeek-pcapng-multi-interface.pcapng")
        let out = dir.appendingPathComponent("multi.pcapng")
        #expect(try run(["-q", "-r", src.path, "-w", out.path]).status == 0)
        let fields = ["-T", "fields", "-e", "frame.number", "-e", "frame.interface_id", "-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "frame.len"]
        let theirs = try tool("tshark", ["-r", src.path] + fields)
        let ours = try tool("tshark", ["-r", out.path] + fields)
        #expect(theirs.stdout.split(separator: "\n").count == 6)
        #expect(ours.stdout == theirs.stdout)
    }

    /// -C 1: files of about a million bytes, NAME, NAME1, ...; every packet in exactly one file,
    /// in order, none split (each file reads whole); -W 2 keeps a ring of two.
    @Test func rotationBySizeCountsEveryPacket() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 20000, seed: 3, in: dir)
        let total = try #require(try capinfosCount(big))
        #expect(total == 20000)
        for ext in ["pcap", "pcapng"] {
            let base = dir.appendingPathComponent("rot.\(ext)")
            let r = try run(["-q", "-r", big.path, "-w", base.path, "-C", "1"])
            #expect(r.status == 0, "stderr: \(r.stderr)")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("rot.\(ext)") }.sorted()
            #expect(names.count >= 3, "\(names)")
            #expect(names.contains("rot.\(ext)") && names.contains("rot.\(ext)1") && names.contains("rot.\(ext)2"))
            var sum = 0
            for n in names {
                let f = dir.appendingPathComponent(n)
                let c = try #require(try capinfosCount(f), "\(n) reads whole")
                sum += c
                let size = (try FileManager.default.attributesOfItem(atPath: f.path)[.size] as? Int) ?? 0
                // Past the limit by at most the one packet that crossed it; in pcapng the finding
                // comments added after the capture come on top.
                #expect(size < 1_000_000 + (ext == "pcap" ? 2_000 : 100_000), "\(n): \(size) bytes")
            }
            #expect(sum == total)
        }
        let ring = dir.appendingPathComponent("ring.pcap")
        #expect(try run(["-q", "-r", big.path, "-w", ring.path, "-C", "1", "-W", "2"]).status == 0)
        let ringNames = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("ring.pcap") }.sorted()
        #expect(ringNames == ["ring.pcap0", "ring.pcap1"])
    }

    /// -G 1 with a strftime name: one file per second of capture time, every packet counted.
    @Test func rotationByTimeCountsEveryPacket() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pattern = dir.appendingPathComponent("t-%s.pcap")
        let r = try run(["-q", "-r", dnsTimeout.path, "-w", pattern.path, "-G", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("t-") }.sorted()
        // dns-timeout-glibc: frames 1-3 in its first second, 4-7 five seconds later.
        #expect(names.count == 2, "\(names)")
        var sum = 0
        for n in names { sum += try #require(try capinfosCount(dir.appendingPathComponent(n))) }
        #expect(sum == 7)
        let first = try tool("tshark", ["-r", dnsTimeout.path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"])
        let sec = first.stdout.split(separator: ".").first.map(String.init) ?? "?"
        #expect(names.first == "t-\(sec).pcap")
    }

    /// -G with -W (no -C), as tcpdump: files named by strftime alone (no count suffix), and
    /// after W files no more: the capture stops with "maximum file limit reached".
    @Test func rotationByTimeStopsAfterWFiles() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try tool("tshark", ["-r", dnsTimeout.path, "-T", "fields", "-e", "frame.time_epoch"])
        let secs = first.stdout.split(separator: "\n").compactMap { $0.split(separator: ".").first.flatMap { Int($0) } }
        #expect(secs.count == 7)
        let (a, b) = (secs[0], secs[6])  // frames 1-3 in second a, 4-7 in second b (5 s later)
        #expect(secs[2] == a && secs[3] == b && b - a >= 2)
        let two = dir.appendingPathComponent("two-%s.pcap")
        let r2 = try run(["-q", "-r", dnsTimeout.path, "-w", two.path, "-G", "1", "-W", "2"])
        #expect(r2.status == 0 && !r2.stderr.contains("maximum file limit"), "\(r2.stderr)")
        let names2 = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("two-") }.sorted()
        #expect(names2 == ["two-\(a).pcap", "two-\(b).pcap"])
        let one = dir.appendingPathComponent("one-%s.pcap")
        let r1 = try run(["-q", "-r", dnsTimeout.path, "-w", one.path, "-G", "1", "-W", "1"])
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r1.stderr.contains("knetcap: maximum file limit reached: 1 file (-W with -G); the capture stopped after 3 packets, all in that file; frame 4, the first after the last file's interval, was read and diagnosed but not written"), "\(r1.stderr)")
        let names1 = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("one-") }
        #expect(names1 == ["one-\(a).pcap"])
        #expect(try capinfosCount(dir.appendingPathComponent("one-\(a).pcap")) == 3)
    }

    /// -G with a name whose strftime fields do not change between rotations (none at all
    /// here): the earlier file is overwritten, as tcpdump does, and knetcap says so once.
    @Test func rotationByTimeToTheSameNameWarns() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let same = dir.appendingPathComponent("same.pcap")
        let r = try run(["-q", "-r", dnsTimeout.path, "-w", same.path, "-G", "1"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("knetcap: warning: -G 1: 1 rotation reused a file name already written this run (the first: \(same.path)) and overwrote that file"), "\(r.stderr)")
        #expect(try capinfosCount(same) == 4, "frames 4-7, the second rotation's")
        let distinct = dir.appendingPathComponent("d-%s.pcap")
        #expect(try !run(["-q", "-r", dnsTimeout.path, "-w", distinct.path, "-G", "1"]).stderr.contains("warning"))
    }

    /// -Z nobody with -C into a directory nobody cannot write: the first file was opened as
    /// root; the next cannot be created. One line names that file, the user and that the file
    /// before it is complete (not "incomplete").
    @Test(.enabled(if: isRoot)) func rotationAfterPrivilegeDropNamesTheNextFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let big = try generated(packets: 20000, seed: 3, in: dir)
        let base = dir.appendingPathComponent("rot.pcap")
        let r = try run(["-q", "-r", big.path, "-w", base.path, "-C", "1", "-Z", "nobody"])
        expectError(r, Status.cannotWrite, mentions: ["cannot create the next rotated file \(base.path)1: ", "Permission denied",
                                                      "as -Z nobody", "the 1 file before it is complete ("], stdoutMayHaveText: true)
        #expect(!r.stderr.contains("incomplete"))
        let c = try #require(try capinfosCount(base))
        #expect(c > 0 && c < 20000)
    }

    /// Second trial: a rotated name that is the -r input is never opened over it — known in
    /// advance for -C (NAME1), found when the name is made for -G (a strftime name); and a -C
    /// size past 64 bits of bytes is a usage error, not a trap.
    @Test func rotationNeverOverwritesTheInput() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("r.pcap1")
        try FileManager.default.copyItem(at: dnsTimeout, to: input)
        let before = try Data(contentsOf: input)
        expectError(try run(["-q", "-r", input.path, "-w", dir.appendingPathComponent("r.pcap").path, "-C", "1"]), Status.usage,
                    mentions: ["-C would write \(input.path), the file -r reads"])
        // -G 1 names the first file by the first packet's second: make that name the input.
        let first = try tool("tshark", ["-r", dnsTimeout.path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"])
        let sec = first.stdout.split(separator: ".").first.map(String.init) ?? "?"
        let named = dir.appendingPathComponent("t-\(sec).pcap")
        try FileManager.default.copyItem(at: dnsTimeout, to: named)
        let g = try run(["-q", "-r", named.path, "-w", dir.appendingPathComponent("t-%s.pcap").path, "-G", "1"])
        expectError(g, Status.cannotWrite, mentions: ["cannot create the next rotated file \(named.path): it is the file -r reads"], stdoutMayHaveText: true)
        #expect(try Data(contentsOf: named) == before && Data(contentsOf: input) == before, "an input was changed")
        expectError(try run(["-q", "-r", dnsTimeout.path, "-w", dir.appendingPathComponent("x.pcap").path, "-C", "9223372036855"]), Status.usage,
                    mentions: ["-C 9223372036855: file size is too large"])
    }

    @Test func rotationNeedsAFile() throws {
        expectError(try run(["-r", dnsTimeout.path, "-C", "1"]), Status.usage, mentions: ["-C and -G need -w FILE"])
        expectError(try run(["-r", dnsTimeout.path, "-w", "/tmp/x.pcap", "-W", "2"]), Status.usage, mentions: ["-W needs -C or -G"])
    }

    /// -Z nobody: the -w file is opened as root, then written as nobody (its owner).
    @Test(.enabled(if: isRoot)) func privilegeDropOwnsTheFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // nobody writes the finding comments' temporary file next to the output, as it would
        // create a rotation's next files: the directory must let it.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir.path)
        let out = dir.appendingPathComponent("z.pcapng")
        let r = try run(["-q", "-r", dnsTimeout.path, "-w", out.path, "-Z", "nobody"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let owner = try FileManager.default.attributesOfItem(atPath: out.path)[.ownerAccountName] as? String
        #expect(owner == "nobody")
        #expect(try capinfosCount(out) == 7)
        expectError(try run(["-q", "-r", dnsTimeout.path, "-Z", "no-such-user-knetcap"]), Status.usage, mentions: ["-Z no-such-user-knetcap: no such user"])
    }
}

/// `-T fields -e ... -E ...`: byte for byte what tshark 4.0 prints for the same fields and
/// options, on captures of DNS over UDP (Ethernet and SLL2), EDNS and TCP handshakes; the
/// diagnosis goes to standard error.
@Suite("knetcap -T fields")
struct FieldExportCLITests {
    static let fields = ["frame.number", "frame.time_epoch", "frame.time_relative", "frame.time_delta", "frame.len", "frame.cap_len",
                         "eth.src", "eth.dst", "eth.type", "ip.src", "ip.dst", "ip.id", "ip.ttl", "ip.proto", "ip.flags.mf",
                         "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.flags.syn", "tcp.seq", "tcp.ack",
                         "tcp.stream", "tcp.len", "tcp.options.mss_val", "udp.srcport", "udp.length", "dns.id", "dns.flags.response",
                         "dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa", "dns.resp.type", "dns.resp.ttl", "dns.time", "dns.count.answers"]

    @Test(arguments: [
        ("Captures/dns-timeout-glibc.pcap", ["-E", "header=y"]),
        ("Captures/tcp-syn-backlog-drop.pcap", ["-E", "separator=,"]),
        ("Tests/Captures/public/dnscap-edns.pcap", ["-E", "separator=/s", "-E", "quote=d"]),
        ("Tests/Captures/public/dnscap-sll2.pcap", ["-E", "aggregator=;", "-E", "occurrence=l"]),
        // NSEC type bitmaps in dns.resp.type; one-character separators as tshark takes them.
        ("Tests/Captures/public/dnscap-sll2.pcap", ["-E", "separator=ab", "-E", "aggregator=/tX"]),
        ("Tests/Captures/public/dnscap-edns.pcap", ["-E", "separator=/x", "-E", "aggregator=/s"]),
        ("Tests/Captures/public/zeek-pcapng-multi-interface.pcapng", ["-E", "occurrence=f"]),
        ("Captures/dns-tcp-segmented.pcap", []),
        // SYN-ACKs with a new initial sequence number each: tcp.seq starts again at 0.
        ("Captures/nat-hairpin.pcap", []),
        ("Tests/Captures/public/dnscap-dnso1tcp.pcap", []),
    ])
    func sameAsTshark(capture: String, options: [String]) throws {
        let path = repoRoot.appendingPathComponent(capture).path
        let args = ["-T", "fields"] + Self.fields.flatMap { ["-e", $0] } + options
        let ours = try run(["-r", path] + args)
        #expect(ours.status == 0, "stderr: \(ours.stderr)")
        let theirs = try tool("tshark", ["-r", path] + args)
        #expect(theirs.status == 0)
        #expect(!ours.stdout.isEmpty)
        #expect(ours.stdout == theirs.stdout)
        #expect(ours.stderr.contains("knetcap"), "the diagnosis is on standard error: \(ours.stderr)")
    }

    /// Overlay tunnels: each layer's occurrence in the order of the bytes (outer first, as
    /// tshark), the inner Ethernet header too, and the tunnel fields tshark shows in hex.
    static let tunnelFields = ["eth.src", "eth.dst", "eth.type", "ip.src", "ip.dst", "ip.flags", "ip.flags.mf", "ip.frag_offset", "ip.len",
                               "ip.proto", "ipv6.src", "udp.srcport", "udp.dstport", "udp.length", "vxlan.flags", "vxlan.vni",
                               "geneve.proto_type", "geneve.vni", "gre.proto", "gre.key", "tcp.options.sack_perm"]

    @Test(arguments: ["Captures/overlay-vxlan.pcap", "Captures/overlay-tunnels.pcap", "Captures/dns-healthy-tcp.pcap"])
    func tunnelLayersAsTshark(_ capture: String) throws {
        let path = repoRoot.appendingPathComponent(capture).path
        let args = ["-T", "fields"] + Self.tunnelFields.flatMap { ["-e", $0] }
        let ours = try run(["-r", path] + args), theirs = try tool("tshark", ["-r", path] + args)
        #expect(ours.status == 0 && theirs.status == 0, "\(ours.stderr)")
        #expect(ours.stdout.contains("0x") && ours.stdout == theirs.stdout)
    }

    /// `frame.comment` and `frame.interface_id` from pcapng records, as tshark: the finding
    /// comments knetcap writes (and filters on them), and the pcapng test files' own comments
    /// and interfaces; a pcap file has neither.
    @Test func recordCommentsAndInterfacesAsTshark() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pcapng")
        #expect(try run(["-q", "-r", dnsTimeout.path, "-w", out.path]).status == 0)
        let filtered = ["-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number", "-e", "frame.interface_id", "-e", "frame.comment"]
        let ours = try run(["-r", out.path] + filtered), theirs = try tool("tshark", ["-r", out.path] + filtered)
        #expect(ours.stdout.split(separator: "\n").count == 6 && ours.stdout == theirs.stdout, "\(ours.stdout)")
        let plain = ["-T", "fields", "-e", "frame.number", "-e", "frame.interface_id", "-e", "frame.comment"]
        for name in ["le-basic-test006.pcapng", "le-basic-test009.pcapng", "be-basic-test009.pcapng"] {
            let f = repoRoot.appendingPathComponent("Tests/Captures/pcapng-testgen/\(name)").path
            let a = try run(["-r", f] + plain), b = try tool("tshark", ["-r", f] + plain)
            #expect(a.stdout == b.stdout, "\(name): knetcap\n\(a.stdout)\ntshark\n\(b.stdout)")
        }
        #expect(try run(["-r", dnsTimeout.path, "-c", "1"] + plain).stdout == "1\t\t\n")
    }

    @Test func badFieldsAreUsageErrors() throws {
        expectError(try run(["-r", dnsTimeout.path, "-T", "fields", "-e", "dns.qry.nme"]), Status.usage, mentions: ["-e dns.qry.nme: unknown field"])
        expectError(try run(["-r", dnsTimeout.path, "-T", "fields", "-e", "ip.src", "-E", "colour=y"]), Status.usage, mentions: ["unknown option colour"])
        expectError(try run(["-r", dnsTimeout.path, "-T", "pdml"]), Status.usage, mentions: ["-T pdml"])
        expectError(try run(["-r", dnsTimeout.path, "-e", "ip.src"]), Status.usage, mentions: ["-e and -E need -T fields"])
    }
}
