// End-to-end tests of the built `knetcap` executable: exit statuses, the one-line
// `knetcap: ...` error contract, the good paths (-r, stdin, -q, --json, -w, -c) and a complete
// `-w` file after SIGINT/SIGTERM during a live capture.
//
// The executable is `$KNETCAP_BIN` if set, else the `knetcap` next to this test runner (the one
// `swift test --scratch-path X` just built), else the newest `<repo>/.build*/debug/knetcap`.

import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Fixtures

/// knetcap's documented exit statuses (Sources/knetcap/ExitCode.swift).
enum Status {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let noSuchFile: Int32 = 3
    static let notACapture: Int32 = 4
    static let badCaptureFilter: Int32 = 5
    static let noSuchInterface: Int32 = 6
    static let permissionDenied: Int32 = 7
    static let cannotWrite: Int32 = 8
    static let unsupportedLinkType: Int32 = 9
    static let readFailed: Int32 = 10
    static let decompressFailed: Int32 = 13
    static let temporaryCopyFailed: Int32 = 14
}

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // KnetcapCLITests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// Captures written by others, copied into the repository (Tests/Captures/README.md).
let testCaptures = repoRoot.appendingPathComponent("Tests/Captures")
let publicCaptures = testCaptures.appendingPathComponent("public")
let tcpdumpCaptures = testCaptures.appendingPathComponent("tcpdump-tests")
/// A real capture of the glibc A/AAAA conntrack race (7 packets, one dns.conntrack-race), copied
/// once per test run: Captures/record.sh may replace the original while tests compare runs.
let goodCapture: URL = {
    let original = repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap")
    guard let dir = try? makeTempDir() else { return original }
    let copy = dir.appendingPathComponent(original.lastPathComponent)
    guard (try? FileManager.default.copyItem(at: original, to: copy)) != nil else { return original }
    atexit {  // remove the snapshot's temp directory (never anything else)
        let dir = goodCapture.deletingLastPathComponent()
        if dir.lastPathComponent.hasPrefix("knetcap-cli-") { try? FileManager.default.removeItem(at: dir) }
    }
    return copy
}()

let knetcap: URL = {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["KNETCAP_BIN"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    // swift test builds the executable into the same directory as the test runner.
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let sibling = runner.deletingLastPathComponent().appendingPathComponent("knetcap")
    if fm.isExecutableFile(atPath: sibling.path) { return sibling }
    // Otherwise the newest <repo>/.build*/debug/knetcap.
    let scratch = (try? fm.contentsOfDirectory(atPath: repoRoot.path))?.filter { $0.hasPrefix(".build") } ?? []
    let candidates = scratch.map { repoRoot.appendingPathComponent($0).appendingPathComponent("debug/knetcap") }
        .filter { fm.isExecutableFile(atPath: $0.path) }
    func modified(_ u: URL) -> Date {
        (try? fm.attributesOfItem(atPath: u.path)[.modificationDate] as? Date) ?? .distantPast
    }
    return candidates.max { modified($0) < modified($1) } ?? repoRoot.appendingPathComponent(".build/debug/knetcap")
}()

let isRoot = geteuid() == 0

/// How to run a command as an unprivileged user (nobody) when we are root; nil if neither
/// setpriv nor runuser is installed. Not root: run as ourselves, we are unprivileged already.
let dropPrivileges: [String]? = {
    guard isRoot else { return [] }
    let fm = FileManager.default
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        if fm.isExecutableFile(atPath: "\(dir)/setpriv") {
            return ["\(dir)/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
    }
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        if fm.isExecutableFile(atPath: "\(dir)/runuser") { return ["\(dir)/runuser", "-u", "nobody", "--"] }
    }
    return nil
}()

let tcpdump: String? = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/bin/tcpdump", "/sbin/tcpdump"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// A fresh temp directory anyone may enter (so `nobody` can reach files in it).
func makeTempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o755])
    return dir
}

// MARK: - Running knetcap

typealias Outcome = (status: Int32, stdout: String, stderr: String)

/// Runs `command` (knetcap by default) with `args`, stdin from `stdin` (else /dev/null), our
/// environment plus `environment`, and waits at most `timeout` seconds (then kills it and
/// records an issue).
/// `status` is the exit status, or minus the signal number if a signal ended the process.
///
/// `stdinBytes`: standard input is a pipe (not a regular file: it cannot be read twice) given
/// these bytes, then closed unless `keepStdinOpen`; `whileRunning` is called once it started.
func run(_ args: [String], stdin: URL? = nil, as command: [String] = [], environment: [String: String] = [:],
         timeout: TimeInterval = 60, stdinBytes: Data? = nil, keepStdinOpen: Bool = false,
         whileRunning: ((Process) -> Void)? = nil) throws -> Outcome {
    try #require(FileManager.default.isExecutableFile(atPath: knetcap.path),
                 "no knetcap executable at \(knetcap.path): build it or set KNETCAP_BIN")
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    defer { try? out.close(); try? err.close() }

    let p = Process()
    let argv = command + [knetcap.path] + args
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let input = stdinBytes.map { _ in Pipe() }
    let stdinFile = try stdin.map { try FileHandle(forReadingFrom: $0) }
    defer { try? stdinFile?.close(); try? input?.fileHandleForReading.close() }
    p.standardInput = input ?? stdinFile ?? FileHandle.nullDevice
    p.standardOutput = out
    p.standardError = err
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.runSerialized()
    if let input, let bytes = stdinBytes {
        Thread {
            input.fileHandleForWriting.write(bytes)
            if !keepStdinOpen { try? input.fileHandleForWriting.close() }
        }.start()
    }
    defer { if keepStdinOpen { try? input?.fileHandleForWriting.close() } }
    whileRunning?(p)
    if done.wait(timeout: .now() + timeout) == .timedOut {
        kill(p.processIdentifier, SIGKILL)
        done.wait()
        Issue.record("knetcap \(args.joined(separator: " ")) did not finish within \(timeout) s; killed")
    }
    let status = p.terminationReason == .uncaughtSignal ? -p.terminationStatus : p.terminationStatus
    return (status,
            String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// tcpdump-style packet lines (`HH:MM:SS.ffffff ...`), not the diagnosis after them.
func packetLines(_ stdout: String) -> [Substring] {
    stdout.split(separator: "\n").filter { $0.prefixMatch(of: #/\d\d:\d\d:\d\d\.\d{6} /#) != nil }
}

/// The error contract: exit `status`; stderr is exactly one line `knetcap: ...` containing every
/// string in `mentions`; stdout empty unless `stdoutMayHaveText`.
func expectError(_ r: Outcome, _ status: Int32, mentions: [String], stdoutMayHaveText: Bool = false,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "exit status (stderr: \(r.stderr))", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "stderr must be exactly one line, got: \(r.stderr.debugDescription)",
            sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("knetcap: "), "stderr: \(r.stderr.debugDescription)", sourceLocation: sourceLocation)
    for m in mentions {
        #expect(r.stderr.contains(m), "stderr should mention \(m.debugDescription): \(r.stderr.debugDescription)",
                sourceLocation: sourceLocation)
    }
    if !stdoutMayHaveText {
        #expect(r.stdout.isEmpty, "stdout should be empty: \(r.stdout.debugDescription)", sourceLocation: sourceLocation)
    }
}

// MARK: - Errors: one line, one distinct status

@Suite("knetcap errors")
struct ErrorTests {
    @Test func missingFile() throws {
        expectError(try run(["-r", "/nonexistent.pcap"]), Status.noSuchFile,
                    mentions: ["/nonexistent.pcap", "No such file"])
    }

    @Test func textFileIsNotACapture() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("notes.pcap")
        try Data("this is not a capture\n".utf8).write(to: text)
        expectError(try run(["-r", text.path]), Status.notACapture, mentions: [text.path, "not a pcap or pcapng"])
    }

    @Test func textOnStdinIsNotACapture() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("notes.txt")
        try Data("this is not a capture\n".utf8).write(to: text)
        expectError(try run(["-r", "-"], stdin: text), Status.notACapture, mentions: ["standard input", "not a pcap"])
    }

    @Test func directoryIsNotACapture() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        expectError(try run(["-r", dir.path]), Status.notACapture, mentions: [dir.path, "directory"])
    }

    /// A classic pcap file libpcap rejects at open (public/*.libpcap-error.txt).
    @Test func captureLibpcapRejects() throws {
        let path = publicCaptures.appendingPathComponent("libpcap-pcap-invalid-version-1.pcap").path
        expectError(try run(["-r", path]), Status.notACapture, mentions: [path, "savefile format"])
    }

    /// A pcapng packet block before any interface: read through libwiretap, which says what
    /// tshark says, at the block's byte offset (28, right after the section header); exit 10.
    @Test func pcapngPacketBeforeInterface() throws {
        let path = publicCaptures.appendingPathComponent("libpcap-pcapng-packet-before-idb.pcapng").path
        expectError(try run(["-q", "-r", path]), Status.readFailed,
                    mentions: [path, "byte offset 28", "interface index 0 is not less than section interface count 0", "before any packet"])
    }

    /// pcapng files whose interfaces differ in link type (test006) or snaplen (zeek-ldap),
    /// which libpcap 1.10 refuses: read whole through libwiretap, as tshark reads them.
    @Test(arguments: [("pcapng-testgen-le-test006.pcapng", 5), ("zeek-ldap-gap-data-missing.pcapng", 18)])
    func pcapngWithMixedInterfaces(file: String, packets: Int) throws {
        let path = publicCaptures.appendingPathComponent(file).path
        let r = try run(["-q", "-r", path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("in \(packets) packets"), "\(r.stdout)")
    }

    /// A capture cut off inside its last packet: the packets before the cut are printed and
    /// diagnosed, then one line says where reading failed.
    @Test func truncatedCaptureFailsPartWay() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.pcap")
        let bytes = try Data(contentsOf: goodCapture)
        try bytes.prefix(bytes.count - 10).write(to: cut)
        let r = try run(["-r", cut.path])
        expectError(r, Status.readFailed, mentions: [cut.path, "read failed after 6 packets", "truncated"],
                    stdoutMayHaveText: true)
        #expect(packetLines(r.stdout).count == 6)
        #expect(r.stdout.contains("dns.conntrack-race"))
    }

    @Test(arguments: [["port 99999999"], ["tcp and and"], ["tcp", "and", "and"]])
    func badCaptureFilter(expression: [String]) throws {
        let r = try run(["-r", goodCapture.path] + expression)
        expectError(r, Status.badCaptureFilter, mentions: ["capture filter", expression.joined(separator: " ")])
    }

    @Test func unknownInterface() throws {
        expectError(try run(["-i", "knetcap-nope0"]), Status.noSuchInterface, mentions: ["knetcap-nope0", "no such interface"])
    }

    @Test func unwritableOutput() throws {
        let r = try run(["-r", goodCapture.path, "-w", "/nonexistent-dir/x.pcap"])
        expectError(r, Status.cannotWrite, mentions: ["/nonexistent-dir/x.pcap", "cannot write"])
    }

    @Test(arguments: [
        ("unsupported-link-type-160.pcap", "160"),
        ("unsupported-link-type-dbus.pcap", "DBUS"),
    ])
    func unsupportedLinkType(file: String, linkType: String) throws {
        let url = tcpdumpCaptures.appendingPathComponent(file)
        try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) missing")
        expectError(try run(["-r", url.path]), Status.unsupportedLinkType,
                    mentions: [url.path, "link type", linkType, "not supported"])
    }
}

@Suite("knetcap bad arguments")
struct UsageTests {
    @Test func unknownFlagAlone() throws {
        expectError(try run(["--bogus"]), Status.usage, mentions: ["--bogus"])
    }

    @Test func unknownFlagWithInput() throws {
        expectError(try run(["-r", goodCapture.path, "--bogus"]), Status.usage, mentions: ["--bogus"])
    }

    @Test func zeroCount() throws {
        expectError(try run(["-c", "0", "-r", goodCapture.path]), Status.usage, mentions: ["-c", "0"])
    }

    @Test func nonNumericCount() throws {
        expectError(try run(["-c", "abc", "-r", goodCapture.path]), Status.usage, mentions: ["-c", "abc"])
    }

    @Test func noInput() throws {
        expectError(try run([]), Status.usage, mentions: ["-r", "-i"])
    }

    @Test func bothFileAndInterface() throws {
        expectError(try run(["-r", goodCapture.path, "-i", "lo"]), Status.usage, mentions: ["-r", "-i", "not both"])
    }
}

@Suite("knetcap as an unprivileged user",
       .enabled(if: dropPrivileges != nil, "needs setpriv or runuser (util-linux) to run as nobody"))
struct PermissionTests {
    @Test func liveCaptureWithoutPrivileges() throws {
        let r = try run(["-i", "lo"], as: dropPrivileges!, timeout: 20)
        expectError(r, Status.permissionDenied, mentions: ["lo", "permission denied"])
    }

    @Test func unreadableFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("secret.pcap")
        try FileManager.default.copyItem(at: goodCapture, to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: file.path)
        let r = try run(["-r", file.path], as: dropPrivileges!)
        expectError(r, Status.permissionDenied, mentions: [file.path, "Permission denied"])
    }
}

// MARK: - Good runs

@Suite("knetcap reading files")
struct ReadTests {
    @Test func readsAndDiagnoses() throws {
        let r = try run(["-r", goodCapture.path])
        #expect(r.status == Status.ok, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(packetLines(r.stdout).count == 7)
        #expect(r.stdout.contains("dns.conntrack-race"))
    }

    @Test func quietPrintsOnlyTheDiagnosis() throws {
        let r = try run(["-q", "-r", goodCapture.path])
        #expect(r.status == Status.ok, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(packetLines(r.stdout).isEmpty, "-q printed packets: \(r.stdout)")
        #expect(r.stdout.contains("dns.conntrack-race"))
    }

    @Test func readsStandardInput() throws {
        let fromFile = try run(["-r", goodCapture.path])
        let fromStdin = try run(["-r", "-"], stdin: goodCapture)
        #expect(fromStdin.status == Status.ok, "stderr: \(fromStdin.stderr)")
        #expect(fromStdin.stderr.isEmpty)
        #expect(fromStdin.stdout == fromFile.stdout)
    }

    @Test func jsonLines() throws {
        let r = try run(["--json", "-r", goodCapture.path])
        #expect(r.status == Status.ok, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        var packets = 0, raceFindings = 0, summaries = 0
        for line in r.stdout.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let object else {
                Issue.record("not a JSON object: \(line)")
                continue
            }
            if let n = object["frame.number"] as? Int {
                packets += 1
                #expect(n == packets, "frame numbers count up from 1")
            } else if let finding = object["finding"] as? [String: Any] {
                if finding["kind"] as? String == "dns.conntrack-race" { raceFindings += 1 }
            } else if object["summary"] != nil {
                summaries += 1
            } else {
                Issue.record("JSON line is neither packet, finding nor summary: \(line)")
            }
        }
        #expect(packets == 7)
        #expect(raceFindings == 1)
        #expect(summaries == 1)
    }

    @Test func writeThenReadGivesTheSamePackets() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("copy.pcap")
        let write = try run(["-r", goodCapture.path, "-w", copy.path])
        #expect(write.status == Status.ok, "stderr: \(write.stderr)")
        #expect(write.stderr.isEmpty)
        #expect(packetLines(write.stdout).isEmpty, "-w should not print packets")

        let original = try run(["-r", goodCapture.path])
        let reread = try run(["-r", copy.path])
        #expect(reread.status == Status.ok, "stderr: \(reread.stderr)")
        #expect(packetLines(original.stdout).count == 7)
        #expect(packetLines(reread.stdout) == packetLines(original.stdout))
        #expect(reread.stdout == original.stdout)
    }

    @Test func countStopsAfterTwoPackets() throws {
        let r = try run(["-c", "2", "-r", goodCapture.path])
        #expect(r.status == Status.ok, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        let all = packetLines(try run(["-r", goodCapture.path]).stdout)
        #expect(packetLines(r.stdout) == Array(all.prefix(2)))
    }
}

// MARK: - Live capture to a file, ended by a signal

/// Sends `count` UDP datagrams to 127.0.0.1:`port`, `interval` seconds apart.
func sendUDP(to port: UInt16, count: Int, interval: TimeInterval = 0.2) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    precondition(fd >= 0, "socket: \(errno)")
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    for i in 0..<count {
        let message = Array("knetcap test datagram \(i)".utf8)
        let sent = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(sent == message.count, "sendto failed: errno \(errno)")
        if i < count - 1 { Thread.sleep(forTimeInterval: interval) }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`; returns whether it became true.
func waitFor(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

/// Starts `p` with SIGINT and SIGTERM unblocked, as a shell would, or blocked. (Foundation's
/// Process passes on the calling thread's signal mask, and Swift Testing runs tests on dispatch
/// worker threads, which block nearly every signal.)
func start(_ p: Process, stopSignalsBlocked: Bool) throws {
    var stopSignals = sigset_t(), saved = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGTERM)
    pthread_sigmask(stopSignalsBlocked ? SIG_BLOCK : SIG_UNBLOCK, &stopSignals, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try p.runSerialized()
}

/// Whether `signal` is blocked in process `pid` (its SigBlk line in /proc/PID/status).
func isBlocked(_ signal: Int32, in pid: Int32) -> Bool? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }),
          let mask = UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return nil }
    return mask & (1 << UInt64(signal - 1)) != 0
}

@Suite("knetcap -w is complete after a signal", .serialized,
       .enabled(if: isRoot, "live capture on lo needs root or CAP_NET_RAW"),
       .enabled(if: tcpdump != nil, "needs tcpdump to check the written file"))
struct SignalTests {
    /// Captures `udp port PORT` on lo into a pcap, sends `datagrams` datagrams, sends `signal`,
    /// and checks knetcap exits 0 promptly and tcpdump reads every datagram from the file.
    /// `inheritBlockedSignals`: start knetcap with the test thread's mask (SIGINT and SIGTERM
    /// blocked), as a supervisor or a threaded parent may; knetcap must still stop cleanly.
    func captureThenSignal(_ signal: Int32, port: UInt16, datagrams: Int, inheritBlockedSignals: Bool = false) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("live.pcap")
        let errURL = dir.appendingPathComponent("stderr"), outURL = dir.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL), out = try FileHandle(forWritingTo: outURL)
        defer { try? err.close(); try? out.close() }
        func stderrText() -> String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

        try #require(FileManager.default.isExecutableFile(atPath: knetcap.path), "no knetcap at \(knetcap.path)")
        let p = Process()
        p.executableURL = knetcap
        p.arguments = ["-i", "lo", "-w", pcap.path, "udp", "port", String(port)]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try start(p, stopSignalsBlocked: inheritBlockedSignals)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        #expect(isBlocked(signal, in: p.processIdentifier) == inheritBlockedSignals || !p.isRunning,
                "test setup: signal \(signal) blocked in knetcap should be \(inheritBlockedSignals)")

        let listening = waitFor(15) { stderrText().contains("listening on lo") || !p.isRunning }
        try #require(listening && p.isRunning, "knetcap did not start listening; stderr: \(stderrText())")

        sendUDP(to: port, count: datagrams, interval: 0.2)
        // Well inside the 200 ms read timeout: -w capture is buffered (not immediate mode), so
        // knetcap must drain what the kernel holds when the signal arrives.
        Thread.sleep(forTimeInterval: 0.05)
        kill(p.processIdentifier, signal)
        guard done.wait(timeout: .now() + 5) == .success else {
            let status = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8)) ?? ""
            let masks = status.split(separator: "\n").filter { $0.hasPrefix("SigBlk") || $0.hasPrefix("SigCgt") || $0.hasPrefix("ShdPnd") }
            kill(p.processIdentifier, SIGKILL)
            done.wait()
            Issue.record("knetcap still running 5 s after signal \(signal) (killed; -w file left incomplete); \(masks.joined(separator: ", "))")
            return
        }
        #expect(p.terminationReason == .exit && p.terminationStatus == Status.ok,
                "knetcap ended with \(p.terminationReason == .exit ? "status" : "signal") \(p.terminationStatus); stderr: \(stderrText())")
        let stderr = stderrText()
        #expect(stderr.contains("\(datagrams) packets captured"), "stderr: \(stderr)")

        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: tcpdump!)
        reader.arguments = ["-nn", "-r", pcap.path]
        let readerOut = Pipe(), readerErr = Pipe()
        reader.standardOutput = readerOut
        reader.standardError = readerErr
        try reader.runSerialized()
        let text = String(decoding: readerOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: readerErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        reader.waitForExit()
        #expect(reader.terminationStatus == 0, "tcpdump -r failed: \(problems)")
        #expect(!problems.contains("truncated"), "tcpdump: \(problems)")
        let lines = text.split(separator: "\n")
        #expect(lines.count == datagrams, "tcpdump read:\n\(text)")
        #expect(lines.allSatisfy { $0.contains("> 127.0.0.1.\(port): UDP") }, "tcpdump read:\n\(text)")
    }

    @Test func sigintLeavesACompleteFile() throws {
        try captureThenSignal(SIGINT, port: 47_301, datagrams: 3)
    }

    @Test func sigtermLeavesACompleteFile() throws {
        try captureThenSignal(SIGTERM, port: 47_302, datagrams: 3)
    }

    @Test func sigintBeforeAnyPacketLeavesAnEmptyValidFile() throws {
        try captureThenSignal(SIGINT, port: 47_303, datagrams: 0)
    }

    /// A process may start with SIGTERM blocked (inherited from a threaded parent, e.g. this test
    /// runner); knetcap relies on SIGTERM to finish the -w file, so it must unblock it.
    @Test func sigtermStopsKnetcapStartedWithStopSignalsBlocked() throws {
        try captureThenSignal(SIGTERM, port: 47_304, datagrams: 3, inheritBlockedSignals: true)
    }
}
