// Issue 9's third new-user trial: outputs that would block knetcap on its own input are
// refused, and an output nobody reads (a stalled pipe or FIFO) never makes knetcap
// unstoppable: the second stop signal ends it.

import Foundation
import Testing

@Suite("issue 9 third trial: blocked outputs")
struct Issue9ThirdTrialTests {
    /// The -r input named again as --html or -w: a FIFO, or standard input's pipe as /dev/stdin.
    @Test func outputsThatAreTheInputPipeAreRefused() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("f")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        for flag in ["--html", "-w"] {
            expectError(try run(["-q", "-r", fifo.path, flag, fifo.path], timeout: 20), Status.usage,
                        mentions: ["\(flag) \(fifo.path) is the file -r reads", "would block knetcap on its own input (a pipe or FIFO)"])
            expectError(try run(["-q", "-r", "-", flag, "/dev/stdin"], timeout: 20, stdinBytes: try Data(contentsOf: raceCapture)), Status.usage,
                        mentions: ["\(flag) /dev/stdin is standard input", "would block knetcap on its own input"])
        }
    }

    /// `-r FIFO --html` of more packets than the report keeps: the FIFO is read once, through
    /// a copy, as standard input is (re-opening it for old evidence waited for a writer for ever).
    @Test func htmlOfALargeFIFOEnds() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 100_000, seed: 3, in: dir)
        let fifo = dir.appendingPathComponent("in"), html = dir.appendingPathComponent("r.html")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat '\(big.path)' > '\(fifo.path)'"]
        try writer.runSerialized()
        let r = try run(["-q", "--html", html.path, "-r", fifo.path], timeout: 120)
        writer.waitForExit()
        #expect(r.status == 0, "\(r.status) \(r.stderr)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("class=\"host\">10.") && !page.contains("class=\"host\">?<"))
    }

    /// Queries to 5000 distinct DNS servers, and a SYN scan of 5000 servers
    /// (`scripts/gen_flood.py --distinct-servers`): the --stats tables and the report list the
    /// 100 busiest of each and say how many there were (20,000 servers made a 60 MB report).
    @Test(arguments: ["dns", "syn"])
    func manyServersAreListedBounded(_ kind: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("many.pcap"), html = dir.appendingPathComponent("r.html")
        #expect(try tool("python3", [repoRoot.appendingPathComponent("scripts/gen_flood.py").path, pcap.path, "--kind", kind,
                                     "--count", "5000", "--distinct-servers"]).status == 0)
        let text = try run(["-q", "--stats", "--html", html.path, "-r", pcap.path])
        #expect(text.status == 0)
        let header = kind == "dns" ? "== DNS response time per server (from the first transmission; tshark's dns.time restarts at a retry 5 s or more later), the 100 with the most queries of 5000 =="
                                   : "== TCP handshakes per server: the 100 with the most attempts of 5000 =="
        #expect(text.stdout.contains(header), "\(text.stdout.suffix(600))")
        #expect(text.stdout.split(separator: "\n").count < 400)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: html.path)[.size] as? Int)
        #expect(size < 1 << 20, "\(size) bytes")
        let json = try run(["-q", "--stats", "--json", "-r", pcap.path])
        let summary = try #require(json.stdout.split(separator: "\n").last.map(String.init))
        #expect(summary.contains(kind == "dns" ? "\"dns_servers_total\":5000" : "\"handshakes_total\":5000"), "\(summary.prefix(300))")
    }

    /// 2500 unanswered queries over 5 s (500 a second): 1000 findings kept, and the kind's
    /// time range (text and JSON) covers all 2500, to the last one at +4.998 s, not the
    /// 1000th kept at +1.998 s.
    @Test func cappedKindSpansAllItsFindings() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("slow.pcap")
        #expect(try tool("python3", [repoRoot.appendingPathComponent("scripts/gen_flood.py").path, pcap.path, "--kind", "dns",
                                     "--count", "5000", "--rate", "500"]).status == 0)
        let text = try run(["-q", "-r", pcap.path])
        #expect(text.stdout.contains("dns.timeout  x2500 (the first 1000 kept)"), "\(text.stdout.prefix(300))")
        let last = try #require(text.stdout.firstMatch(of: #/from [0-9:.]+ to ([0-9:]+:([0-9]{2})\.([0-9]{6}))/#))
        #expect(last.2 == "24" && last.3.hasPrefix("99"), "\(last.1)")  // 1700000004.998 is 22:13:24.998 UTC (zones move by whole minutes)
        let json = try run(["-q", "--json", "-r", pcap.path])
        #expect(json.stdout.contains("\"last_time\":1700000004.998"), "\(json.stdout.suffix(400))")
        // diff takes that output whole: 1000 finding lines, the summary counting 2500 (1000 kept).
        let saved = dir.appendingPathComponent("slow.json")
        try Data(json.stdout.utf8).write(to: saved)
        let d = try run(["diff", saved.path, pcap.path])
        #expect(d.status == 0 && d.stdout.contains("dns.timeout"), "\(d.stderr)")
        #expect(d.stdout.split(separator: "\n").contains { $0.hasPrefix("dns.timeout") && $0.contains("2500") && $0.hasSuffix("same") }, "\(d.stdout)")
    }

    /// A capture whose answer is stamped 10 s before its query (a merged or re-stamped file):
    /// --stats says what tshark says (dns.time -10 s; the conversation starts 10 s before the
    /// first packet and lasts 10 s) and the capture spans 1011 s as capinfos says, where they
    /// were clamped to 0 and 1001 s.
    @Test func outOfOrderTimesAsTshark() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        func packet(_ from: [UInt8], _ to: [UInt8], _ sport: Int, _ dport: Int, id: Int, response: Bool) -> [UInt8] {
            var dns = be16(id) + (response ? [0x81, 0x80] : [0x01, 0x00]) + be16(1) + be16(response ? 1 : 0) + be16(0) + be16(0)
            dns += [1, 0x61, 7] + Array("example".utf8) + [0, 0, 1, 0, 1]
            if response { dns += [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1] }
            let udp = be16(sport) + be16(dport) + be16(8 + dns.count) + [0, 0] + dns
            return [0x45, 0] + be16(20 + udp.count) + [0, 1, 0, 0, 64, 17, 0, 0] + from + to + udp
        }
        let (c, s): ([UInt8], [UInt8]) = ([10, 0, 0, 9], [10, 0, 0, 10])
        let frames: [(UInt32, [UInt8])] = [(2000, packet(c, s, 40000, 53, id: 1, response: false)), (1990, packet(s, c, 53, 40000, id: 1, response: true)),
                                           (3000, packet(c, s, 40001, 53, id: 2, response: false)), (3001, packet(s, c, 53, 40001, id: 2, response: true))]
        var bytes = le32(0xa1b2_c3d4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(101)  // LINKTYPE_RAW
        for (t, b) in frames { bytes += le32(t) + le32(0) + le32(UInt32(b.count)) + le32(UInt32(b.count)) + b }
        let pcap = dir.appendingPathComponent("ooo.pcap")
        try Data(bytes).write(to: pcap)
        let r = try run(["-q", "--stats", "-r", pcap.path])
        #expect(r.stdout.contains("(1011.000 s of capture)"), "\(r.stdout)")
        #expect(r.stdout.contains("UDP    10.0.0.9:40000  10.0.0.10:53        2    126   -10.000000  10.000000"), "\(r.stdout)")
        #expect(r.stdout.contains("  -10.000 s  "), "p50 of -10 s and 1 s")
        let conv = try tool("tshark", ["-n", "-q", "-r", pcap.path, "-z", "conv,udp"]).stdout
        #expect(conv.contains("-10.000000000        10.0000"), "\(conv)")
        #expect(try tool("tshark", ["-n", "-r", pcap.path, "-T", "fields", "-e", "dns.time"]).stdout.contains("-10.000000000"))
    }

    /// Standard output (or the --html FIFO) has a reader that never reads: the first SIGINT
    /// stops the reading, the writes stay blocked, and the second SIGINT ends knetcap (it
    /// retried them for ever, and only SIGKILL ended it).
    @Test(arguments: ["stdout", "html"])
    func aStalledReaderDoesNotOutliveTwoSignals(_ what: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 100_000, seed: 3, in: dir)
        let fifo = dir.appendingPathComponent("stalled")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let reader = open(fifo.path, O_RDONLY | O_NONBLOCK)  // opened, never read
        #expect(reader >= 0)
        defer { close(reader) }
        let p = Process()
        p.executableURL = knetcap
        p.arguments = what == "stdout" ? ["-r", big.path] : ["-q", "--html", fifo.path, "-r", big.path]
        p.standardOutput = what == "stdout" ? try FileHandle(forWritingTo: fifo) : FileHandle.nullDevice
        let errURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errFile = try FileHandle(forWritingTo: errURL)
        defer { try? errFile.close() }
        p.standardError = errFile
        try p.runSerialized()
        // Until the output is full and blocked (the FIFO holds 64 KiB; the report comes after the diagnosis).
        var waited = 0.0
        while waited < 60, p.isRunning {
            let wchan = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/wchan", encoding: .utf8)) ?? ""
            if wchan.contains("pipe_write") { break }
            usleep(100_000); waited += 0.1
        }
        #expect(p.isRunning, "knetcap ended before its output blocked")
        kill(p.processIdentifier, SIGINT)
        usleep(500_000)
        kill(p.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        let ended = !p.isRunning
        if !ended { kill(p.processIdentifier, SIGKILL) }
        p.waitForExit()
        #expect(ended, "still running 10 s after the second SIGINT")
        #expect(p.terminationStatus == 130 || p.terminationStatus == 8, "\(p.terminationStatus)")
        // Ended by the second signal: one line says when (after the capture was read, the
        // report blocked, it was silent).
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        if p.terminationStatus == 130 {
            let after = "knetcap: stopped by a second signal after the capture was read: the diagnosis or report was cut short; every -w file is complete"
            #expect(err.contains(what == "html" ? after : "knetcap: stopped by a second signal"), "\(err)")
        }
    }
}
