import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Live corroboration reads the capture namespace's own /proc (issue 12, point 3). A client in
/// namespace A connects to B's address on a port nothing in B listens on; A has its own app
/// bound to 127.0.0.1 on that port (as a node may). Captured in A (the client's side, like
/// the node side of a pod's veth), A's listen table says nothing about B's address: the
/// finding must say so and make no claim. Captured in B, where the same 127.0.0.1 listener
/// runs, the wrong-bind-address observation is right and must be there.
@Suite("knetcap live corroboration names the right namespace", .serialized,
       .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"),
       .enabled(if: python3 != nil, "needs python3 for the listener and the client"))
struct LiveCorroborationTests {
    static let listener = """
    import socket, sys, time
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); print("ready", flush=True); time.sleep(30)
    """
    static let client = """
    import socket, sys
    try: socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    except OSError as e: print(e)
    """

    /// Runs the refused connection with the 127.0.0.1 listener in `listenerIn` and the capture
    /// in `captureIn`; returns knetcap's stdout (packets and diagnosis).
    func refused(lab: NetnsLab, port: Int, listenerIn: String, captureIn: String) throws -> String {
        let l = Process()
        l.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
        l.arguments = ["netns", "exec", listenerIn, python3!, "-c", Self.listener, String(port)]
        let ready = Pipe()
        l.standardOutput = ready
        l.standardInput = FileHandle.nullDevice
        try l.runSerialized()
        defer { if l.isRunning { kill(l.processIdentifier, SIGKILL) }; l.waitForExit() }
        try #require(String(decoding: ready.fileHandleForReading.availableData, as: UTF8.self).contains("ready"))
        let capture = try Capture(["--netns", captureIn, "-c", "2", "tcp", "port", String(port)])
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        let c = try lab.exec(in: lab.nsA, [python3!, "-c", Self.client, lab.addrB, String(port)])
        #expect(c.stdout.contains("refused"), "the connection must be refused: \(c.stdout) \(c.stderr)")
        #expect(capture.finish(within: 15), "the -c 2 capture did not end: \(capture.stderr)")
        return capture.stdout
    }

    @Test func clientSideMakesNoClaimAboutTheServer() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let out = try refused(lab: lab, port: 9998, listenerIn: lab.nsA, captureIn: lab.nsA)
        #expect(out.contains("tcp.rst-unlistened-port"), "\(out)")
        #expect(out.contains("observed: ") && out.contains("\(lab.addrB) is not an address of this network namespace"), "\(out)")
        #expect(!out.contains("LISTEN on 127.0.0.1:9998"), "A's own listener was blamed for B's port:\n\(out)")
        // B's address is configured in B alone: the finding names B and the flag to capture there.
        #expect(out.contains("\(lab.addrB) is an address of network namespace net:["), "\(out)")
        #expect(out.contains("(ip netns \(lab.nsB)"), "\(out)")
        #expect(out.contains("capture with --netns \(lab.nsB) to corroborate"), "\(out)")
    }

    @Test func serverSideSeesTheWrongBindAddress() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let out = try refused(lab: lab, port: 9997, listenerIn: lab.nsB, captureIn: lab.nsB)
        #expect(out.contains("tcp.rst-unlistened-port"), "\(out)")
        #expect(out.contains("nothing LISTENs on \(lab.addrB):9997; LISTEN on 127.0.0.1:9997 instead (wrong bind address)"), "\(out)")
    }
}
