import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C and SIGTERM on a busy link (issue 12): a steady UDP sender in one namespace (about
/// 2000 datagrams a second, for at most 30 s), knetcap writing `-w` in the other. One signal
/// stops reading at once (the drain delivers only what the kernel held) and writes the
/// counts and the diagnosis; a second one right after ends knetcap before the diagnosis, and
/// in both cases tcpdump reads the file whole: no "truncated", as many packets as knetcap
/// says it captured. Before, knetcap drained until the link went quiet: it ran on for as
/// long as the sender did, and a second signal cut the file mid-record.
@Suite("knetcap stops promptly on a busy link", .serialized,
       .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"),
       .enabled(if: python3 != nil, "needs python3 for the sender"),
       .enabled(if: tcpdumpPath != nil, "needs tcpdump to read the file back"))
struct BusyLinkSignalTests {
    static let sender = """
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.time() + 30
    while time.time() < end:
        s.sendto(b"k" * 100, (sys.argv[1], 9999)); time.sleep(0.0005)
    """

    func stop(signals: [Int32]) throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let send = Process()
        send.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
        send.arguments = ["netns", "exec", lab.nsA, python3!, "-c", Self.sender, lab.addrB]
        send.standardInput = FileHandle.nullDevice
        try send.runSerialized()
        defer { if send.isRunning { kill(send.processIdentifier, SIGKILL) }; send.waitForExit() }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-busy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("busy.pcap").path
        let capture = try Capture(["--netns", lab.nsB, "-i", lab.ifB, "-w", file, "udp", "port", "9999"])
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(send.isRunning, "the sender must still be sending when the signal comes")
        let t0 = Date()
        for (i, s) in signals.enumerated() {
            if i > 0 { Thread.sleep(forTimeInterval: 0.005) }
            kill(capture.process.processIdentifier, s)
        }
        let ended = capture.done.wait(timeout: .now() + 5) == .success
        let took = Date().timeIntervalSince(t0)
        try #require(ended, "knetcap still running 5 s after \(signals) on a busy link; stderr: \(capture.stderr)")
        // Generous for a loaded CI machine; the drain itself is bounded at 90 ms.
        #expect(took < 2, "stopping took \(took) s")
        let status = capture.process.terminationStatus
        let expected: Int32 = signals.count == 1 ? 0 : 128 + signals[1]
        #expect(capture.process.terminationReason == .exit && status == expected,
                "status \(status) (\(capture.process.terminationReason == .exit ? "exit" : "signal")); stderr: \(capture.stderr)")
        let err = capture.stderr
        let captured = err.split(separator: "\n").first { $0.hasSuffix(" packets captured") }
            .flatMap { Int($0.split(separator: " ")[0]) }
        let n = try #require(captured, "no packet count on stderr: \(err)")
        #expect(n > 500, "the sender sends about 2000 datagrams a second: \(err)")
        if signals.count == 1 {
            #expect(err.contains("knetcap: no faults found in \(n) packets") || err.contains("== knetcap diagnosis") ||
                    capture.stdout.contains("knetcap: no faults found in \(n) packets"), "no diagnosis: \(capture.stdout) \(err)")
        } else if err.contains("second signal before the diagnosis") {  // it came while the file was open (else during the diagnosis)
            #expect(err.contains("stopped by a second signal before the diagnosis (\(n) packets read; \(file) is complete)"), "\(err)")
        }
        let read = try runTool(tcpdumpPath!, ["-nn", "-r", file])
        #expect(read.status == 0, "tcpdump -r: \(read.stderr)")
        #expect(!read.stderr.contains("truncated"), "tcpdump -r: \(read.stderr)")
        #expect(read.stdout.split(separator: "\n").count == n, "tcpdump read a different count than knetcap's \(n)")
    }

    @Test func sigtermStopsAtOnce() throws { try stop(signals: [SIGTERM]) }
    @Test func sigintStopsAtOnce() throws { try stop(signals: [SIGINT]) }
    @Test func secondSignalKeepsTheFileWhole() throws { try stop(signals: [SIGINT, SIGINT]) }
    @Test func secondSigtermKeepsTheFileWhole() throws { try stop(signals: [SIGTERM, SIGTERM]) }
}

let tcpdumpPath: String? = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
