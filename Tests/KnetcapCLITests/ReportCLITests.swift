// The built binary's reports besides the diagnosis: --stats tables (and in --json), --html,
// `knetcap diff`, --color / NO_COLOR, and the progress line (a terminal only; `script` from
// util-linux gives the run a pseudo-terminal).

import Foundation
import Testing

let shippedCaptures = repoRoot.appendingPathComponent("Captures")
let raceCapture = shippedCaptures.appendingPathComponent("dns-timeout-glibc.pcap")
let healthyCapture = shippedCaptures.appendingPathComponent("dns-healthy.pcap")

func golden(_ name: String) throws -> String {
    try String(contentsOf: repoRoot.appendingPathComponent("Tests/Golden/\(name)"), encoding: .utf8)
}

/// The whitespace-separated cells of the table line starting with `prefix` (`SERVER QTYPE`).
func tableRow(_ text: String, _ first: String, _ second: String) -> [String]? {
    text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.count > 1 && $0[0] == first && $0[1] == second }
}

/// Runs `knetcap args` on a pseudo-terminal (`script -qec`); the terminal's output is returned.
func runOnTerminal(_ args: [String], environment: [String: String] = [:], stdin: URL? = nil) throws -> Outcome {
    func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let quoted = ([knetcap.path] + args).map(q).joined(separator: " ") + (stdin.map { " < " + q($0.path) } ?? "")
    let script = try #require(["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) },
                              "script (util-linux) is not installed")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: script)
    p.arguments = ["-qec", quoted, "/dev/null"]
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe()
    defer { out.closeBothEnds() }
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.runSerialized()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitForExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), "")
}

/// Every capture file in Captures/, Tests/Captures/public and Tests/Captures/tcpdump-tests.
func allCaptures() -> [URL] {
    var all: [URL] = []
    for dir in [shippedCaptures, publicCaptures, tcpdumpCaptures] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for n in names where n.hasSuffix(".pcap") || n.hasSuffix(".pcapng") { all.append(dir.appendingPathComponent(n)) }
    }
    return all.sorted { $0.path < $1.path }
}

@Suite("--stats, --html, diff, --color, progress")
struct ReportCLITests {
    @Test func capturesArePresent() throws {
        for (dir, least) in [(shippedCaptures, 10), (publicCaptures, 25), (tcpdumpCaptures, 95)] {
            let n = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.count
            #expect(n >= least, "\(dir.path): \(n) captures")
        }
    }

    @Test func statsFollowTheDiagnosis() throws {
        let r = try run(["-q", "--stats", "-r", raceCapture.path], environment: ["TZ": "UTC"])
        #expect(r.status == 0 && r.stderr.isEmpty)
        #expect(r.stdout.hasPrefix(try golden("dns-timeout-glibc.q.txt")))  // the diagnosis unchanged, then the tables
        let aaaa = try #require(tableRow(r.stdout, "10.53.0.1:53", "AAAA"))
        // queries answered nxdomain servfail timeouts retried p50 p90 p99 max (from the first transmission)
        #expect(aaaa == ["10.53.0.1:53", "AAAA", "1", "1", "0", "0", "0", "1", "5.003", "s", "5.003", "s", "5.003", "s", "5.003", "s"])
        let a = try #require(tableRow(r.stdout, "10.53.0.1:53", "A"))
        #expect(Array(a[2...7]) == ["2", "2", "0", "0", "0", "0"])
        #expect(tableRow(r.stdout, "UDP", "10.53.0.2:43135") == ["UDP", "10.53.0.2:43135", "10.53.0.1:53", "7", "592", "0.000000", "5.003545"])
        #expect(r.stdout.contains("== TCP handshakes per server ==\nno TCP SYNs\n"))
        #expect(!r.stdout.contains("\u{1B}["))
    }

    @Test func statsHandshakes() throws {
        let r = try run(["-q", "--stats", "-r", shippedCaptures.appendingPathComponent("tcp-rst-unlistened.pcap").path])
        #expect(r.status == 0)
        let rows = r.stdout.components(separatedBy: "== TCP handshakes per server ==\n")[1].split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty)
        for row in rows {
            let c = row.split(separator: " ")
            #expect(c.count == 5 && c[3] != "0" && c[2] == "0", "every attempt refused: \(row)")
        }
    }

    @Test func statsInTheJSONSummary() throws {
        let r = try run(["-q", "--json", "--stats", "-r", raceCapture.path])
        #expect(r.status == 0)
        let last = try #require(r.stdout.split(separator: "\n").last)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let stats = try #require((obj["summary"] as? [String: Any])?["stats"] as? [String: Any])
        let dns = try #require(stats["dns"] as? [[String: Any]])
        let aaaa = try #require(dns.first { $0["qtype"] as? String == "AAAA" })
        #expect(aaaa["max_s"] as? Double == 5.003071893 && aaaa["retransmitted"] as? Int == 1)
        #expect(stats["conversations_total"] as? Int == 1)
        // Without --stats the summary is the golden one (no "stats").
        let plain = try run(["-q", "--json", "-r", raceCapture.path])
        #expect(plain.stdout == (try golden("dns-timeout-glibc.jsonl")))
    }

    @Test func htmlFileWritten() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report.html")
        let r = try run(["-q", "--html", out.path, "-r", raceCapture.path], environment: ["TZ": "UTC"])
        #expect(r.status == 0 && r.stderr.isEmpty)
        #expect(r.stdout == (try golden("dns-timeout-glibc.q.txt")))
        let html = try String(contentsOf: out, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains("id=\"kind-dns.conntrack-race\"") && html.contains("<span class=\"waitnum\">5.003 s</span>"))
    }

    @Test func htmlErrors() throws {
        expectError(try run(["-q", "--html", "/nonexistent-dir/r.html", "-r", raceCapture.path]), 8,
                    mentions: ["--html", "/nonexistent-dir/r.html"])
        expectError(try run(["-q", "--html", "-", "-r", raceCapture.path]), Status.usage, mentions: ["--html"])
        // A bad input fails before anything is written.
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.html")
        expectError(try run(["-q", "--html", out.path, "-r", "/nonexistent.pcap"]), Status.noSuchFile, mentions: ["/nonexistent.pcap"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func diffOfTwoCaptures() throws {
        let r = try run(["diff", raceCapture.path, healthyCapture.path])
        #expect(r.status == 0 && r.stderr.isEmpty)
        #expect(tableRow(r.stdout, "dns.conntrack-race", "1") == ["dns.conntrack-race", "1", "0", "gone"])
        // queries, timeouts, p50, p90, p99, max: before -> after
        let server = try #require(tableRow(r.stdout, "10.53.0.1:53", "3"))
        #expect(server.joined(separator: " ") == "10.53.0.1:53 3 -> 8 0 -> 0 0.255 ms -> 0.249 ms 5.003 s -> 0.637 ms 5.003 s -> 0.637 ms 5.003 s -> 0.637 ms")
        // Worse after: --fail-on names it (or any) -> 12; another kind -> 0.
        #expect(try run(["diff", "--fail-on", "dns.conntrack-race", healthyCapture.path, raceCapture.path]).status == 12)
        #expect(try run(["diff", "--fail-on", "any", healthyCapture.path, raceCapture.path]).status == 12)
        #expect(try run(["diff", "--fail-on", "tcp.syn-unanswered", healthyCapture.path, raceCapture.path]).status == 0)
        #expect(try run(["diff", "--fail-on", "any", raceCapture.path, healthyCapture.path]).status == 0)
    }

    @Test func diffOfJSONOutputs() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = dir.appendingPathComponent("before.json"), after = dir.appendingPathComponent("after.json")
        try run(["-q", "--json", "--stats", "-r", raceCapture.path]).stdout.write(to: before, atomically: true, encoding: .utf8)
        try run(["--json", "--stats", "-r", healthyCapture.path]).stdout.write(to: after, atomically: true, encoding: .utf8)
        let fromJSON = try run(["diff", before.path, after.path]), fromCaptures = try run(["diff", raceCapture.path, healthyCapture.path])
        #expect(fromJSON.status == 0)
        func body(_ s: String) -> String { s.split(separator: "\n").dropFirst().joined(separator: "\n") }
        #expect(body(fromJSON.stdout) == body(fromCaptures.stdout))
        // Mixed: a JSON output and a capture.
        #expect(try run(["diff", "--fail-on", "any", after.path, raceCapture.path]).status == 12)
        // Without --stats: findings compared, DNS not.
        try run(["-q", "--json", "-r", raceCapture.path]).stdout.write(to: before, atomically: true, encoding: .utf8)
        let noStats = try run(["diff", before.path, after.path])
        #expect(noStats.stdout.contains("not compared: \(before.path) has no DNS statistics"))
        #expect(tableRow(noStats.stdout, "dns.conntrack-race", "1") == ["dns.conntrack-race", "1", "0", "gone"])
    }

    @Test func diffErrors() throws {
        expectError(try run(["diff", "/nonexistent.pcap", raceCapture.path]), Status.noSuchFile, mentions: ["/nonexistent.pcap"])
        expectError(try run(["diff", repoRoot.appendingPathComponent("README.md").path, raceCapture.path]), Status.notACapture,
                    mentions: ["README.md", "neither"])
        expectError(try run(["diff", raceCapture.path]), Status.usage, mentions: ["AFTER"])
        expectError(try run(["diff", "--fail-on", "bogus", raceCapture.path, raceCapture.path]), Status.usage, mentions: ["bogus"])
    }

    /// Every shipped and public capture (tcpdump's test captures too): --stats keeps the
    /// diagnosis and exit status of -q, --html writes a page, and a capture diffed against
    /// itself is the same everywhere.
    @Test(arguments: allCaptures())
    func everyCapture(_ capture: URL) throws {
        let plain = try run(["-q", "-r", capture.path])
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("r.html")
        let stats = try run(["-q", "--stats", "--html", html.path, "-r", capture.path])
        #expect(stats.status == plain.status && stats.stderr == plain.stderr)
        #expect(stats.stdout.hasPrefix(plain.stdout))
        guard plain.status == 0 else { return }
        #expect(stats.stdout.contains("== DNS response time per server"))
        #expect((try? String(contentsOf: html, encoding: .utf8))?.hasSuffix("</html>\n") == true)
        let same = try run(["diff", "--fail-on", "any", capture.path, capture.path])
        #expect(same.status == 0)
        #expect(!same.stdout.contains("worse") && !same.stdout.contains("gone"))
    }

    @Test func colorOnlyWhenAsked() throws {
        let always = try run(["-q", "--color=always", "-r", raceCapture.path])
        #expect(always.stdout.contains("\u{1B}[1;31m-- CRITICAL --\u{1B}[0m"))
        #expect(always.stdout.contains("\u{1B}[1mdns.conntrack-race\u{1B}[0m  x1"))
        // Piped: auto and never are plain (the golden report).
        let g = try golden("dns-timeout-glibc.q.txt")
        #expect(try run(["-q", "-r", raceCapture.path], environment: ["TZ": "UTC"]).stdout == g)
        #expect(try run(["-q", "--color=never", "-r", raceCapture.path], environment: ["TZ": "UTC"]).stdout == g)
        expectError(try run(["-q", "--color=sometimes", "-r", raceCapture.path]), Status.usage, mentions: ["--color", "sometimes"])
    }

    @Test func colorOnATerminalUnlessNoColor() throws {
        // NO_COLOR empty counts as unset (no-color.org); the test runner's environment may set it.
        let tty = try runOnTerminal(["-q", "-r", raceCapture.path], environment: ["NO_COLOR": ""])
        #expect(tty.status == 0)
        #expect(tty.stdout.contains("\u{1B}[1;31m-- CRITICAL --"))
        let noColor = try runOnTerminal(["-q", "-r", raceCapture.path], environment: ["NO_COLOR": "1"])
        #expect(noColor.stdout.contains("-- CRITICAL --") && !noColor.stdout.contains("\u{1B}["))
        let never = try runOnTerminal(["-q", "--color=never", "-r", raceCapture.path])
        #expect(never.stdout.contains("-- CRITICAL --") && !never.stdout.contains("\u{1B}["))
    }

    /// A live run writes its report when it ends (-c): the interface, the packets, the conversation.
    /// --html writes in place, as tcpdump writes -w: a character device stays one (it was once
    /// replaced by a regular file through a temporary file renamed over it), and a full device
    /// (a copy of /dev/full) is exit 8 with one line.
    @Test(.enabled(if: isRoot, "mknod needs root"))
    func htmlNeverReplacesADevice() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let null = dir.appendingPathComponent("null"), full = dir.appendingPathComponent("full")  // devices 1,3 and 1,7 (glibc dev_t: major << 8 | minor)
        #expect(mknod(null.path, S_IFCHR | 0o666, dev_t(0x103)) == 0 && mknod(full.path, S_IFCHR | 0o666, dev_t(0x107)) == 0)
        let capture = repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path
        let r = try run(["-q", "--html", null.path, "-r", capture])
        #expect(r.status == 0, "\(r.stderr)")
        var st = stat()
        #expect(stat(null.path, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "the device became a file")
        let f = try run(["-q", "--html", full.path, "-r", capture])
        #expect(f.status == 8 && f.stderr.contains("No space left on device"), "\(f.status) \(f.stderr)")
        #expect(stat(full.path, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR)
    }

    /// -w to a full device (a private copy of /dev/full): exit 8, one line saying how many of
    /// the packets read had been handed to the file, for pcap and pcapng.
    @Test(.enabled(if: isRoot, "mknod needs root"))
    func writeToAFullDeviceSaysWhereItStopped() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = dir.appendingPathComponent("full")
        #expect(mknod(full.path, S_IFCHR | 0o666, dev_t(0x107)) == 0)
        let big = try generated(packets: 20000, seed: 3, in: dir)
        for extra in [[], ["--pcapng"]] {
            let r = try run(["-q", "-r", big.path, "-w", full.path] + extra)
            expectError(r, Status.cannotWrite, mentions: ["cannot write \(full.path): No space left on device: ", " of the 20000 packets read had been handed to it (the file is incomplete; nothing after them was written)"],
                        stdoutMayHaveText: true)
            let handed = r.stderr.firstMatch(of: #/device: (\d+) of the/#).flatMap { Int($0.1) } ?? -1
            #expect(handed > 0 && handed < 20000, "\(r.stderr)")
        }
        var st = stat()
        #expect(stat(full.path, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR)
    }

    @Test(.enabled(if: isRoot, "live capture on lo needs root or CAP_NET_RAW"))
    func htmlAfterALiveCapture() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("live.html"), errURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        defer { try? err.close() }
        let port: UInt16 = 47_391
        let p = Process()
        p.executableURL = knetcap
        p.arguments = ["-q", "-i", "lo", "-c", "3", "--html", html.path, "udp", "dst", "port", String(port)]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.runSerialized()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let listening = waitFor(15) { ((try? String(contentsOf: errURL, encoding: .utf8)) ?? "").contains("listening on lo") || !p.isRunning }
        try #require(listening && p.isRunning, "knetcap did not start listening")
        sendUDP(to: port, count: 3, interval: 0.05)
        #expect(waitFor(10) { !p.isRunning }, "knetcap -c 3 did not end")
        #expect(p.terminationStatus == 0)
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<tr><th>capture</th><td>lo</td></tr>") && page.contains("<tr><th>packets</th><td>3</td></tr>"))
        #expect(page.contains("<tr><th>capture filter</th><td>udp dst port \(port)</td></tr>"))
        #expect(page.contains("<td>127.0.0.1:\(port)</td><td>3</td>"), "the conversation to port \(port), 3 packets")
    }

    /// A file over 32 MiB: a progress line on a terminal, none when standard error is piped.
    @Test func progressLineOnATerminalOnly() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = dir.appendingPathComponent("big.pcap")
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        gen.arguments = [repoRoot.appendingPathComponent("scripts/gen_pcap.py").path, "--packets", "230000", "--seed", "3", big.path]
        gen.standardOutput = FileHandle.nullDevice
        try gen.runSerialized()
        gen.waitForExit()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: big.path)[.size] as? Int)
        #expect(size >= 32 << 20, "the generated capture is \(size) bytes")
        let tty = try runOnTerminal(["-q", "-c", "3000", "-r", big.path])
        #expect(tty.status == 0)
        #expect(tty.stdout.contains(#/\rknetcap: 1024 packets, [0-9.]+ MB/s, [0-9]+%/#), "\(tty.stdout.prefix(300).debugDescription)")
        #expect(tty.stdout.contains("\r\u{1B}[K"))  // erased before the diagnosis
        let piped = try run(["-q", "-c", "3000", "-r", big.path])
        #expect(piped.status == 0 && piped.stderr.isEmpty)
        // Packet lines on the same terminal: no progress line (it ran into them).
        let lines = try runOnTerminal(["-c", "3000", "-r", big.path])
        #expect(lines.status == 0 && lines.stdout.contains(" IP ") && !lines.stdout.contains("\rknetcap: "), "\(lines.stdout.prefix(300).debugDescription)")
        // `-r - < FILE`: standard input is that file, of known size.
        let redirected = try runOnTerminal(["-q", "-c", "3000", "-r", "-"], stdin: big)
        #expect(redirected.status == 0)
        #expect(redirected.stdout.contains(#/\rknetcap: 1024 packets, [0-9.]+ MB/s, [0-9]+%/#), "\(redirected.stdout.prefix(300).debugDescription)")
    }
}
