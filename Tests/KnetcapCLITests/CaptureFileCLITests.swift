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
    if let s = stdinFile { p.standardInput = try FileHandle(forReadingFrom: s) }
    if let o = stdoutFile {
        _ = FileManager.default.createFile(atPath: o.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: o)
    } else {
        p.standardOutput = out
    }
    p.standardError = err
    try p.run()
    let o = stdoutFile == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
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
    try g.run()
    g.waitUntilExit()
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
        #expect(r.status == Status.decompressFailed || r.status == Status.readFailed, "stderr: \(r.stderr)")
        #expect(r.stderr.hasPrefix("knetcap: \(gz.path): "), "\(r.stderr)")
        #expect(r.stderr.contains("byte offset"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let read = r.stdout.firstMatch(of: #/in (\d+) packets/#).flatMap { Int($0.1) } ?? 0
        #expect(read > 0 && read < 3000, "packets before the damage are diagnosed: \(r.stdout)")
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
            try writer.run()
            let r = try run(["-q", "-r", fifo.path])
            writer.waitUntilExit()
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
        // dns-timeout-glibc: frames 1-5 in its first second, 6-7 five seconds later.
        #expect(names.count == 2, "\(names)")
        var sum = 0
        for n in names { sum += try #require(try capinfosCount(dir.appendingPathComponent(n))) }
        #expect(sum == 7)
        let first = try tool("tshark", ["-r", dnsTimeout.path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"])
        let sec = first.stdout.split(separator: ".").first.map(String.init) ?? "?"
        #expect(names.first == "t-\(sec).pcap")
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
                         "dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa", "dns.resp.ttl", "dns.time", "dns.count.answers"]

    @Test(arguments: [
        ("Captures/dns-timeout-glibc.pcap", ["-E", "header=y"]),
        ("Captures/tcp-syn-backlog-drop.pcap", ["-E", "separator=,"]),
        ("Tests/Captures/public/dnscap-edns.pcap", ["-E", "separator=/s", "-E", "quote=d"]),
        ("Tests/Captures/public/dnscap-sll2.pcap", ["-E", "aggregator=;", "-E", "occurrence=l"]),
        ("Tests/Captures/public/zeek-pcapng-multi-interface.pcapng", ["-E", "occurrence=f"]),
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

    @Test func badFieldsAreUsageErrors() throws {
        expectError(try run(["-r", dnsTimeout.path, "-T", "fields", "-e", "dns.qry.nme"]), Status.usage, mentions: ["-e dns.qry.nme: unknown field"])
        expectError(try run(["-r", dnsTimeout.path, "-T", "fields", "-e", "ip.src", "-E", "colour=y"]), Status.usage, mentions: ["unknown option colour"])
        expectError(try run(["-r", dnsTimeout.path, "-T", "pdml"]), Status.usage, mentions: ["-T pdml"])
        expectError(try run(["-r", dnsTimeout.path, "-e", "ip.src"]), Status.usage, mentions: ["-e and -E need -T fields"])
    }
}
