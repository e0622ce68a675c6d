import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapCapture
import KnetcapSession

/// Where the test inputs live, all inside the repository: `Captures/` (shipped captures),
/// `Tests/Captures/public` and `Tests/Captures/tcpdump-tests` (captures written by others, see
/// `Tests/Captures/README.md`) and `scripts/gen_pcap.py` (synthetic traffic with ground truth).
/// Nothing outside the clone is read.
public enum Fixtures {
    public static let repo: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()
    /// `Tests/Captures`: the captures written by others, with their reference outputs.
    public static let testCaptures = repo.appendingPathComponent("Tests/Captures")
    public static let publicCaptures = testCaptures.appendingPathComponent("public")
    public static let tcpdumpTests = testCaptures.appendingPathComponent("tcpdump-tests")
    /// The pcapng test generator's 48 files (both byte orders; see Tests/Captures/README.md).
    public static let pcapngTestgen = testCaptures.appendingPathComponent("pcapng-testgen")
    public static let shipped = repo.appendingPathComponent("Captures")
    /// The traffic generator (`scripts/gen_pcap.README.md`).
    public static let genPcap = repo.appendingPathComponent("scripts/gen_pcap.py")

    /// The fewest capture files each capture directory holds (`Tests/Captures/README.md`); a
    /// directory with fewer has lost files, and the tests that iterate it must fail.
    public static let minimumCaptures: [URL: Int] = [publicCaptures: 25, tcpdumpTests: 95, shipped: 10]

    /// Capture files (`.pcap`, `.pcapng`) in `dir`, sorted by name. Called inside a test, a
    /// missing or empty directory records an issue naming it.
    public static func captures(in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let files = names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { dir.appendingPathComponent($0) }
        if files.isEmpty, Test.current != nil {
            Issue.record("no capture files in \(dir.path)", sourceLocation: sourceLocation)
        }
        return files
    }

    /// Records an issue for each of `dirs` that is missing or holds fewer captures than
    /// `minimumCaptures` says: every test that iterates capture lists has a companion test
    /// calling this, so a lost capture directory or file fails the suite instead of leaving
    /// the parameterized test with nothing to run.
    public static func expectCaptures(in dirs: [URL], sourceLocation: SourceLocation = #_sourceLocation) {
        for dir in dirs {
            let n = captures(in: dir, sourceLocation: sourceLocation).count
            let want = minimumCaptures[dir] ?? 1
            #expect(n >= want, "\(dir.path): \(n) capture files, expected at least \(want)", sourceLocation: sourceLocation)
        }
    }

    /// Runs `tool` with `args` (in `workingDirectory` if given); returns (status, stdout, stderr),
    /// or nil when it is not installed.
    public static func run(_ tool: String, _ args: [String], environment: [String: String] = [:],
                           workingDirectory: URL? = nil) -> (Int32, String, String)? {
        let paths = ["/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/bin/", "/sbin/"]
        guard let exe = paths.map({ $0 + tool }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let workingDirectory { p.currentDirectoryURL = workingDirectory }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.runSerialized() } catch { return nil }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitForExit()
        out.closeBothEnds(); err.closeBothEnds()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

extension Pipe {
    /// Closes both ends now. swift-corelibs-foundation keeps a pipe's descriptors open until
    /// the `Pipe` and the `Process` holding it are freed, which in the test process was never:
    /// a full run reached 1,300 descriptors and `Process.run` crashed copying them.
    public func closeBothEnds() {
        try? fileHandleForReading.close()
        try? fileHandleForWriting.close()
    }
}

/// Reads every packet of a capture as `knetcap -r` does (`openCaptureFile`: classic pcap
/// through libpcap, pcapng and the rest through libwiretap) and hands each dissected packet to
/// `body`. Returns the link type, or throws `CaptureError` when the file cannot be opened.
@discardableResult
public func readCapture(_ url: URL, _ body: (Packet, RawPacket) -> Void) throws -> (LinkType, EndReason) {
    let src = try openCaptureFile(url.path)
    let end = CaptureSession.forEachPacket(of: src) { p, raw in
        body(p, raw)
        return true
    }
    return (LinkType(rawValue: src.linkType), end)
}

/// The packet lines knetcap prints for a capture (one per packet), in the given style, UTC.
public func packetLines(_ url: URL, style: TimestampStyle = .epoch) throws -> [String] {
    var printer = PacketLinePrinter(timestampStyle: style, utcOffset: { _ in 0 })
    var lines: [String] = []
    var buf = TextBuffer()
    try readCapture(url) { p, _ in
        buf.removeAll()
        printer.write(p, to: &buf)
        lines.append(String(buf.string.dropLast()))
    }
    return lines
}

/// One child process started at a time in the test process (see `runSerialized`).
let processLaunch = NSLock()

extension Process {
    /// `run()`, one at a time across the test process's threads: concurrent `Process.run`
    /// calls of swift-corelibs-foundation (Swift 6.3) crashed the test process (a memmove in
    /// `Process.run`, under two-core load with the suites running in parallel).
    public func runSerialized() throws {
        processLaunch.lock()
        defer { processLaunch.unlock() }
        try run()
    }

    /// Waits for the process to end by polling `isRunning` (Foundation's process manager
    /// thread sets it), without running this thread's run loop. `waitUntilExit` runs a run
    /// loop on every waiting thread; with many tests waiting at once on Swift 6.3's
    /// swift-corelibs-foundation the test process crashed (a call through address 0 on a
    /// dispatch thread while other threads were in `waitUntilExit`).
    public func waitForExit() {
        while isRunning { usleep(1000) }
    }
}
