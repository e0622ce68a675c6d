// Issue 9's new-user trial: --html and -w never overwrite the -r input (nor --html the -w
// file), `knetcap diff -` reads standard input, diff refuses a cut or corrupt --json output
// naming the line, diff's messages are -r's, --stats' REL START counts from the capture's first
// packet, DNS on port 1053 is in the statistics, and -r interrupted by SIGINT says so.

import Foundation
import Testing

let port1053Capture = shippedCaptures.appendingPathComponent("dns-port-1053.pcap")
let backlogCapture = shippedCaptures.appendingPathComponent("tcp-syn-backlog-drop.pcap")

@Suite("issue 9 trial: --html, diff, --stats, SIGINT")
struct Issue9TrialTests {
    // MARK: 1. --html and -w never overwrite the input

    /// The input copied into a fresh directory (the tests change what they may destroy).
    func inputCopy() throws -> (dir: URL, input: URL, bytes: Data) {
        let dir = try makeTempDir()
        let input = dir.appendingPathComponent("in.pcap")
        try FileManager.default.copyItem(at: raceCapture, to: input)
        return (dir, input, try Data(contentsOf: input))
    }

    @Test func htmlNamingTheInputIsRefused() throws {
        let (dir, input, before) = try inputCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("link.html")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: input)
        // The same name, another spelling of it, a symlink to it, and standard input.
        for html in [input.path, dir.path + "/./in.pcap", dir.path + "/../" + dir.lastPathComponent + "/in.pcap", link.path] {
            expectError(try run(["-q", "--html", html, "-r", input.path]), Status.usage, mentions: ["--html \(html) is the file -r reads"])
            #expect(try Data(contentsOf: input) == before, "--html \(html) changed the input")
        }
        expectError(try run(["-q", "--html", input.path, "-r", "-"], stdin: input), Status.usage,
                    mentions: ["--html \(input.path) is standard input"])
        #expect(try Data(contentsOf: input) == before)
        // Another file is written as before.
        let report = dir.appendingPathComponent("r.html")
        #expect(try run(["-q", "--html", report.path, "-r", input.path]).status == 0)
        #expect(try String(contentsOf: report, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
    }

    @Test func htmlNamingTheWriteFileIsRefused() throws {
        let (dir, input, _) = try inputCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Not created yet: the same directory entry, spelled differently; nothing is created.
        let out = dir.appendingPathComponent("out.pcap")
        expectError(try run(["-r", input.path, "-w", out.path, "--html", dir.path + "/./out.pcap"]), Status.usage,
                    mentions: ["--html \(dir.path)/./out.pcap is the file -w writes"])
        #expect(!FileManager.default.fileExists(atPath: out.path), "-w was opened before the refusal")
        // Existing, through a symlink: left as it was.
        try Data("keep".utf8).write(to: out)
        let link = dir.appendingPathComponent("report.html")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: out)
        expectError(try run(["-r", input.path, "-w", out.path, "--html", link.path]), Status.usage, mentions: ["is the file -w writes"])
        #expect(try Data(contentsOf: out) == Data("keep".utf8))
        // A dangling symlink to the -w file to be.
        try FileManager.default.removeItem(at: out)
        expectError(try run(["-r", input.path, "-w", out.path, "--html", link.path]), Status.usage, mentions: ["is the file -w writes"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Second trial: with -C the next -w files are NAME1, NAME2 (NAME0... with -W): --html naming
    /// one of them is refused before anything is written (it used to replace the rotated capture).
    @Test func htmlNamingARotatedWriteFileIsRefused() throws {
        let (dir, input, _) = try inputCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rot = dir.appendingPathComponent("rot")
        for html in ["rot1", "rot0", "rot12"] {
            expectError(try run(["-q", "-r", input.path, "-w", rot.path, "-C", "1", "--html", dir.appendingPathComponent(html).path]), Status.usage,
                        mentions: ["is one of the files -w \(rot.path) -C writes"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["in.pcap"])
        // rot.html is not a rotated name: written.
        #expect(try run(["-q", "-r", input.path, "-w", rot.path, "-C", "1", "--html", rot.path + ".html"]).status == 0)
    }

    /// Second trial: --html to a FIFO with a reader: the reader gets the whole report (the
    /// early check used to open and close the FIFO, ending the reader's input, then block).
    @Test func htmlToAFIFOReachesItsReader() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("report.fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let copy = dir.appendingPathComponent("copy.html")
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat '\(fifo.path)' > '\(copy.path)'"]
        try reader.runSerialized()
        let r = try run(["-q", "--html", fifo.path, "-r", raceCapture.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        reader.waitForExit()
        let page = try String(contentsOf: copy, encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("dns.conntrack-race") && page.hasSuffix("</body></html>\n"))
    }

    /// Second trial: with -T fields, standard output is the field lines only; the --stats
    /// tables go to standard error with the diagnosis.
    /// `--html /dev/stdout`: standard output is the report alone; the packet lines and the
    /// diagnosis go to standard error (as with -w -); with -w - as well, refused.
    @Test func htmlToStandardOutputIsTheReportAlone() throws {
        let r = try run(["--html", "/dev/stdout", "-r", raceCapture.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("<!DOCTYPE html>") && r.stdout.hasSuffix("</html>\n"), "\(r.stdout.prefix(200))")
        #expect(r.stderr.contains("== knetcap diagnosis: 1 finding in 7 packets") && r.stderr.contains("AAAA? api.knetcap.test."))
        // The generator is one line (knetcap's version; libpcap's).
        #expect(r.stdout.contains("<meta name=\"generator\" content=\"knetcap 0.9.0; libpcap version "), "\(r.stdout.prefix(300))")
        // diff's --fail-on says what it compares.
        let help = try run(["diff", "--help"])
        #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "  +", with: " ", options: .regularExpression)
                    .contains("for knetcap diff, when it was found more often after than before"), "\(help.stdout)")
        expectError(try run(["-q", "--html", "/dev/stdout", "-w", "-", "-r", raceCapture.path]), Status.usage,
                    mentions: ["--html /dev/stdout is standard output, which -w - writes the capture to"])
    }

    @Test func statsWithFieldsGoToStandardError() throws {
        let r = try run(["--stats", "-T", "fields", "-e", "frame.number", "-r", raceCapture.path])
        #expect(r.status == 0)
        #expect(r.stdout == (1...7).map { "\($0)\n" }.joined(), "\(r.stdout)")
        #expect(r.stderr.contains("dns.conntrack-race") && r.stderr.contains("P99"), "\(r.stderr)")
    }

    /// `-w` naming the input: already refused for a path; also through a symlink and when the
    /// input is standard input redirected from that file.
    @Test func writeNamingTheInputIsRefused() throws {
        let (dir, input, before) = try inputCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("link.pcap")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: input)
        expectError(try run(["-r", input.path, "-w", link.path]), Status.usage, mentions: ["-w \(link.path) is the file -r reads"])
        expectError(try run(["-r", "-", "-w", input.path], stdin: input), Status.usage, mentions: ["-w \(input.path) is standard input"])
        #expect(try Data(contentsOf: input) == before)
    }

    // MARK: 2. knetcap diff - reads standard input

    @Test func diffReadsACaptureOnStandardInput() throws {
        let files = try run(["diff", raceCapture.path, healthyCapture.path])
        #expect(files.status == 0)
        func body(_ s: String) -> String { s.split(separator: "\n").dropFirst().joined(separator: "\n") }
        // BEFORE from a pipe (not seekable: the sniffed bytes are replayed), then AFTER.
        let piped = try run(["diff", "-", healthyCapture.path], stdinBytes: try Data(contentsOf: raceCapture))
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
        #expect(piped.stdout.hasPrefix("== knetcap diff: standard input -> \(healthyCapture.path) =="))
        #expect(body(piped.stdout) == body(files.stdout))
        #expect(tableRow(piped.stdout, "dns.conntrack-race", "1") == ["dns.conntrack-race", "1", "0", "gone"])
        // AFTER from a redirected file; --fail-on sees it.
        let redirected = try run(["diff", "--fail-on", "any", healthyCapture.path, "-"], stdin: raceCapture)
        #expect(redirected.status == 12, "\(redirected)")
        #expect(tableRow(redirected.stdout, "dns.conntrack-race", "0") == ["dns.conntrack-race", "0", "1", "worse"])
        // A pcapng capture (big-endian) on standard input.
        let ng = testCaptures.appendingPathComponent("pcapng-testgen/be-advanced-test101.pcapng")
        let ngFile = try run(["diff", ng.path, ng.path]), ngPipe = try run(["diff", ng.path, "-"], stdinBytes: try Data(contentsOf: ng))
        #expect(ngFile.status == 0 && ngPipe.status == 0 && body(ngPipe.stdout) == body(ngFile.stdout), "\(ngPipe.stderr)")
    }

    @Test func diffReadsJSONOnStandardInput() throws {
        let json = try run(["-q", "--json", "--stats", "-r", raceCapture.path])
        #expect(json.status == 0)
        let piped = try run(["diff", "-", healthyCapture.path], stdinBytes: Data(json.stdout.utf8))
        #expect(piped.status == 0, "\(piped.stderr)")
        let server = try #require(tableRow(piped.stdout, "10.53.0.1:53", "3"))
        #expect(server.joined(separator: " ") == "10.53.0.1:53 3 -> 8 0 -> 0 0.255 ms -> 0.249 ms 5.003 s -> 0.637 ms 5.003 s -> 0.637 ms 5.003 s -> 0.637 ms")
        expectError(try run(["diff", "-", "-"], stdin: raceCapture), Status.usage, mentions: ["only one of BEFORE and AFTER can be -"])
    }

    // MARK: 3. diff refuses a cut or corrupt --json output, with -r's message format

    /// Writes `text` to a file and diffs it against the healthy capture: exit 4, one line
    /// naming the file and the line.
    func expectRefused(_ text: String, line: Int, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("before.json")
        try Data(text.utf8).write(to: f)
        expectError(try run(["diff", f.path, healthyCapture.path]), Status.notACapture,
                    mentions: ["knetcap: \(f.path): line \(line): ", what], sourceLocation: sourceLocation)
        // The same from standard input.
        expectError(try run(["diff", "-", healthyCapture.path], stdin: f), Status.notACapture,
                    mentions: ["knetcap: standard input: line \(line): ", what], sourceLocation: sourceLocation)
    }

    @Test func diffRefusesCutOrCorruptJSON() throws {
        // The race capture's --json --stats output with packets: 7 packet lines, 1 finding, the summary.
        let r = try run(["--json", "--stats", "-r", raceCapture.path])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.status == 0 && lines.count == 9 && lines[7].hasPrefix("{\"finding\"") && lines[8].hasPrefix("{\"summary\""))
        let whole = lines.joined(separator: "\n") + "\n"
        // Cut inside the summary line (a copy stopped part-way).
        try expectRefused(String(whole.prefix(whole.count - 40)), line: 9, "cut short")
        // Cut inside a string of the finding line.
        let cutFinding = lines[0..<7].joined(separator: "\n") + "\n" + lines[7].prefix(100)
        try expectRefused(cutFinding, line: 8, "cut short: the line ends inside a string")
        // Cut after a whole line: no summary.
        try expectRefused(lines[0..<8].joined(separator: "\n") + "\n", line: 8, "the last line, and no summary line")
        // A line that is not JSON, and one knetcap does not write.
        var garbled = lines
        garbled[3] = "frame 4 was here"
        try expectRefused(garbled.joined(separator: "\n") + "\n", line: 4, "not valid JSON")
        garbled = lines
        garbled[2] = "{\"hello\":1}"
        try expectRefused(garbled.joined(separator: "\n") + "\n", line: 3, "not a line knetcap --json writes")
        // The finding line lost: the summary still counts it.
        try expectRefused((lines[0..<7] + lines[8...]).joined(separator: "\n") + "\n", line: 8,
                          "the summary counts 1 dns.conntrack-race finding, the output has 0 finding lines")
        // Two outputs joined.
        try expectRefused(whole + whole, line: 10, "text after the summary line (line 9)")
        // The stats with a server row missing its query count.
        try expectRefused(whole.replacingOccurrences(of: "\"queries\":3,", with: ""), line: 9,
                          "the summary's \"stats\" are not knetcap --stats output (stats.dns_servers[0].queries missing)")
        // Stats no knetcap output can hold: a negative count, more answers than queries,
        // percentiles out of order.
        #expect(whole.contains("\"answered\":3,") && whole.contains("\"p50_s\":"))
        try expectRefused(whole.replacingOccurrences(of: "\"queries\":3,", with: "\"queries\":-3,"), line: 9, "stats.dns_servers[0]: queries is -3")
        try expectRefused(whole.replacingOccurrences(of: "\"answered\":3,", with: "\"answered\":30,"), line: 9, "stats.dns_servers[0]: answered 30 is more than its 3 queries")
        let servers = try #require(whole.range(of: "\"dns_servers\":"))
        let p50 = try #require(whole.range(of: "\"p50_s\":[0-9.e-]+", options: .regularExpression, range: servers.upperBound..<whole.endIndex))
        try expectRefused(whole.replacingCharacters(in: p50, with: "\"p50_s\":99"), line: 9, "stats.dns_servers[0]: p50_s 99.0 is more than p90_s")
        // The per-query-type rows and the totals are checked too (third trial).
        #expect(whole.contains("\"answered\":2,") && whole.contains("\"conversations_total\":1,"))
        try expectRefused(whole.replacingOccurrences(of: "\"answered\":2,", with: "\"answered\":50,"), line: 9, "stats.dns[0]: answered 50 is more than its 2 queries")
        try expectRefused(whole.replacingOccurrences(of: "\"conversations_total\":1,", with: "\"conversations_total\":1.5,"), line: 9,
                          "the summary's \"stats\" are not knetcap --stats output")
        // A key twice in one object (JSONSerialization would keep the last).
        #expect(whole.contains("\"findings\":{\"dns.conntrack-race\":1}"))
        try expectRefused(whole.replacingOccurrences(of: "\"findings\":{\"dns.conntrack-race\":1}", with: "\"findings\":{\"dns.conntrack-race\":1,\"dns.conntrack-race\":5}"),
                          line: 9, "the key \"dns.conntrack-race\" twice in one object")
        // The whole output is still accepted, and so is its summary line alone (`tail -1`).
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ok = dir.appendingPathComponent("ok.json"), tail = dir.appendingPathComponent("tail.json")
        try Data(whole.utf8).write(to: ok)
        try Data((lines[8] + "\n").utf8).write(to: tail)
        #expect(try run(["diff", ok.path, healthyCapture.path]).status == 0)
        #expect(try run(["diff", tail.path, healthyCapture.path]).status == 0)
    }

    /// diff's errors are `knetcap: FILE: what`, word for word as `-r FILE` says them.
    @Test func diffErrorsAreTheOnesOfR() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.pcap")
        try Data().write(to: empty)
        for (path, status) in [("/nonexistent.pcap", Status.noSuchFile), (dir.path, Status.notACapture)] {
            let r = try run(["-q", "-r", path]), d = try run(["diff", path, raceCapture.path])
            #expect(r.status == status && d.status == status, "\(path): -r \(r.status), diff \(d.status)")
            #expect(d.stderr == r.stderr, "\(path): diff says \(d.stderr.debugDescription), -r \(r.stderr.debugDescription)")
        }
        expectError(try run(["diff", empty.path, raceCapture.path]), Status.notACapture, mentions: ["knetcap: \(empty.path): empty"])
        let readme = repoRoot.appendingPathComponent("README.md").path
        expectError(try run(["diff", readme, raceCapture.path]), Status.notACapture, mentions: ["knetcap: \(readme): neither"])
    }

    /// A part is not compared with a whole: a capture with packets knetcap cannot dissect
    /// (exit 9, as -r), and the --json output of a capture cut part-way (its summary names the
    /// read error; exit 4).
    @Test func diffRefusesPartialInputs() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The race capture plus one packet of link type USER0 (DLT 147) as a second interface.
        let user0 = dir.appendingPathComponent("user0.pcap"), mixed = dir.appendingPathComponent("mixed.pcapng")
        #expect(try tool("editcap", ["-T", "user0", "-r", dnsTimeout.path, user0.path, "1"]).status == 0)
        #expect(try tool("mergecap", ["-w", mixed.path, raceCapture.path, user0.path]).status == 0)
        expectError(try run(["diff", mixed.path, healthyCapture.path]), Status.unsupportedLinkType,
                    mentions: [mixed.path, "1 of its 8 packets have link type DLT 147", "knetcap diff compares whole captures"])
        // The race capture cut inside its last record: --json says why in its summary, and diff refuses it.
        var bytes = try Data(contentsOf: raceCapture)
        bytes.removeLast(10)
        let cut = dir.appendingPathComponent("cut.pcap"), json = dir.appendingPathComponent("cut.json")
        try bytes.write(to: cut)
        let r = try run(["-q", "--json", "-r", cut.path])
        #expect(r.status == Status.readFailed, "\(r.status) \(r.stderr)")
        let summary = try #require(r.stdout.split(separator: "\n").last.map(String.init))
        #expect(summary.contains("\"read_error\":\"") && summary.contains("\"packets\":6"), "\(summary)")
        try Data(r.stdout.utf8).write(to: json)
        expectError(try run(["diff", json.path, healthyCapture.path]), Status.notACapture,
                    mentions: ["\(json.path): line \(r.stdout.split(separator: "\n").count): the output of a capture whose reading failed part-way", "compares whole captures"])
        // The whole capture's output has no read_error.
        #expect(try !run(["-q", "--json", "-r", raceCapture.path]).stdout.contains("read_error"))
    }

    /// `--html` of `-r -`: evidence frames older than the 65,536 packets the report keeps are
    /// read again from the copy of standard input (InputRelay), so the diagrams have their
    /// hosts as for the file; without a place for the copy, they lose them ("?").
    @Test func htmlFromStandardInputDrawsOldEvidenceHosts() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try generated(packets: 100_000, seed: 3, in: dir)
        let fromFile = dir.appendingPathComponent("file.html"), fromPipe = dir.appendingPathComponent("pipe.html")
        let fromRedirect = dir.appendingPathComponent("redirect.html"), noCopy = dir.appendingPathComponent("nocopy.html")
        #expect(try run(["-q", "--html", fromFile.path, "-r", big.path]).status == 0)
        #expect(try run(["-q", "--html", fromPipe.path, "-r", "-"], stdinBytes: try Data(contentsOf: big)).status == 0)
        #expect(try run(["-q", "--html", fromRedirect.path, "-r", "-"], stdin: big).status == 0)
        #expect(try run(["-q", "--html", noCopy.path, "-r", "-"], environment: ["TMPDIR": dir.appendingPathComponent("none").path],
                        stdinBytes: try Data(contentsOf: big)).status == 0)
        func page(_ u: URL, _ name: String) throws -> String {
            try String(contentsOf: u, encoding: .utf8).replacingOccurrences(of: name, with: "INPUT")
        }
        let file = try page(fromFile, big.path)
        #expect(file.contains("class=\"host\">10.") && !file.contains("class=\"host\">?<"))
        #expect(try page(fromPipe, "standard input") == file, "the report of a pipe differs from the file's")
        #expect(try page(fromRedirect, "standard input") == file, "the report of < FILE differs from the file's")
        #expect(try page(noCopy, "standard input").contains("class=\"host\">?<"), "no frame was older than the kept ones: the test proves nothing")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix("knetcap-stdin") })
    }

    /// Standard input shorter than any capture header is named so, not taken for a format
    /// wiretap guesses by heuristics (an empty pipe was "link type ERF", exit 9).
    @Test func shortStandardInputIsNotACapture() throws {
        let head = try Data(contentsOf: raceCapture)
        expectError(try run(["-q", "-r", "-"], stdinBytes: Data()), Status.notACapture, mentions: ["standard input: empty (0 bytes)"])
        expectError(try run(["-q", "-r", "-"], stdinBytes: head.prefix(10)), Status.notACapture,
                    mentions: ["standard input: not a pcap or pcapng capture: truncated file header (10 bytes"])
        #expect(try run(["-q", "-r", "-"], stdinBytes: head).status == 0)
    }

    // MARK: 4, 5. --stats: REL START from the capture's first packet; DNS on port 1053

    @Test func statsRelativeStartCountsFromTheCapturesFirstPacket() throws {
        // tshark -q -z conv,udp: 10.77.0.2:55272 <-> 10.77.0.3:1053 starts 2.012995337 s after frame 1.
        let r = try run(["-q", "--stats", "-r", port1053Capture.path])
        #expect(r.status == 0)
        #expect(tableRow(r.stdout, "UDP", "10.77.0.2:38629") == ["UDP", "10.77.0.2:38629", "10.77.0.3:1053", "3", "244", "0.000000", "2.012625"])
        #expect(tableRow(r.stdout, "UDP", "10.77.0.2:55272") == ["UDP", "10.77.0.2:55272", "10.77.0.3:1053", "2", "180", "2.012995", "0.000054"])
        // The backlog capture's first TCP conversation starts 0.941242425 s in (tshark -z conv,tcp).
        let b = try run(["-q", "--stats", "-r", backlogCapture.path])
        #expect(tableRow(b.stdout, "TCP", "10.77.0.2:48212")?[5] == "0.941242")
    }

    @Test func statsFollowDNSOnPort1053() throws {
        let r = try run(["-q", "--stats", "-r", port1053Capture.path])
        // queries answered nxdomain servfail timeouts retried p50 p90 p99 max: the A query was
        // sent at 0, again at 2.012 s, answered at 2.012625 s; AAAA answered in 54 µs.
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "A") == ["10.77.0.3:1053", "A", "1", "1", "0", "0", "0", "1", "2.013", "s", "2.013", "s", "2.013", "s", "2.013", "s"])
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "AAAA") == ["10.77.0.3:1053", "AAAA", "1", "1", "0", "0", "0", "0", "0.054", "ms", "0.054", "ms", "0.054", "ms", "0.054", "ms"])
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "all")?[2...7] == ["2", "2", "0", "0", "0", "1"])
        // diff compares it too.
        let d = try run(["diff", port1053Capture.path, port1053Capture.path])
        #expect(tableRow(d.stdout, "10.77.0.3:1053", "2")?.joined(separator: " ") == "10.77.0.3:1053 2 -> 2 0 -> 0 0.054 ms -> 0.054 ms 2.013 s -> 2.013 s 2.013 s -> 2.013 s 2.013 s -> 2.013 s")
    }

    // MARK: 7. -r interrupted by SIGINT

    /// The race capture on a pipe that stays open: knetcap reads its 7 packets and waits for
    /// more; SIGINT then stops the reading. knetcap says how many packets it read and that
    /// reading was interrupted, then diagnoses them (exit 0, as after a live capture).
    /// Once `p`'s handler is installed (SIGINT caught: /proc/PID/status SigCgt bit 1) and the
    /// packets on its standard input are read, sends it SIGINT.
    func interruptOnceReading(_ p: Process) {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let status = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
               let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16), mask & 2 != 0 { break }
            usleep(20_000)
        }
        usleep(500_000)
        kill(p.processIdentifier, SIGINT)
    }

    @Test func interruptedReadingSaysSoAndDiagnoses() throws {
        let r = try run(["-q", "-r", "-"], stdinBytes: try Data(contentsOf: raceCapture), keepStdinOpen: true) { p in
            interruptOnceReading(p)
        }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "7 packets read\nknetcap: reading standard input was interrupted by SIGINT: the diagnosis covers the 7 packets read before it\n")
        // The diagnosis of the whole file (read from a file, -q): the same report.
        #expect(r.stdout == (try run(["-q", "-r", raceCapture.path])).stdout)
        #expect(r.stdout.hasPrefix("\n== knetcap diagnosis: 1 finding in 7 packets"), "\(r.stdout)")
    }

    /// The same stop with -w FILE.pcapng and --html: the comment pass that follows reads the
    /// written file whole (a stop made it rewrite the capture as an empty file), and the report
    /// still draws the evidence. No temporary file is left.
    @Test func interruptedCaptureKeepsItsPcapngAndComments() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pcapng"), html = dir.appendingPathComponent("r.html")
        let r = try run(["-q", "-r", "-", "-w", out.path, "--html", html.path], stdinBytes: try Data(contentsOf: raceCapture), keepStdinOpen: true) { p in
            interruptOnceReading(p)
        }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try capinfosCount(out) == 7)
        let comments = try tool("tshark", ["-r", out.path, "-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number"])
        #expect(comments.stdout.split(separator: "\n") == ["1", "2", "3", "4", "6", "7"], "\(comments.stdout)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("class=\"host\">10.53.0.2<") && !page.contains("class=\"host\">?<"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["out.pcapng", "r.html"])
    }
}
