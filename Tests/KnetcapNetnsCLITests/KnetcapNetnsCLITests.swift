// End-to-end tests of `knetcap --netns/--container/--pod`, `knetcap enter` and
// `knetcap interfaces` on real network namespaces (NetnsLab), with crictl, docker and kubectl
// replaced by the stand-ins in Tests/StandIns (first on PATH for the knetcap process).
//
// The executable is `$KNETCAP_BIN` if set, else the `knetcap` next to this test runner.

import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let knetcap: URL = {
    if let env = ProcessInfo.processInfo.environment["KNETCAP_BIN"], !env.isEmpty { return URL(fileURLWithPath: env) }
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let sibling = runner.deletingLastPathComponent().appendingPathComponent("knetcap")
    if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
    let fm = FileManager.default
    let scratch = (try? fm.contentsOfDirectory(atPath: repoRoot.path))?.filter { $0.hasPrefix(".build") } ?? []
    let candidates = scratch.map { repoRoot.appendingPathComponent($0).appendingPathComponent("debug/knetcap") }
        .filter { fm.isExecutableFile(atPath: $0.path) }
    func modified(_ u: URL) -> Date { (try? fm.attributesOfItem(atPath: u.path)[.modificationDate] as? Date) ?? .distantPast }
    return candidates.max { modified($0) < modified($1) } ?? repoRoot.appendingPathComponent(".build/debug/knetcap")
}()

/// knetcap's exit statuses (Sources/knetcap/ExitCode.swift, README "Exit codes").
enum Status {
    static let ok: Int32 = 0
    static let usage: Int32 = 2
    static let noSuchProcess: Int32 = 20
    static let noSuchNamespace: Int32 = 21
    static let notANetworkNamespace: Int32 = 22
    static let permissionDenied: Int32 = 23
    static let noContainerRuntime: Int32 = 24
    static let noSuchContainer: Int32 = 25
    static let ambiguousContainer: Int32 = 26
    static let noSuchPod: Int32 = 27
    static let podOnAnotherNode: Int32 = 28
    static let containerNotRunning: Int32 = 29
    static let runtimeFailed: Int32 = 30
    static let kubectlFailed: Int32 = 31
    static let commandNotFound: Int32 = 127
}

let runningID = "3f2a9c0d6b1e4f5a8c7d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"
let nodeName: String = {
    var u = utsname()
    guard uname(&u) == 0 else { return "localhost" }
    return withUnsafeBytes(of: &u.nodename) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
}()
let python3: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// PATH for knetcap: the stand-ins first, then the system tools (`ip`, `sh`); never
/// /usr/local/bin (a real docker CLI may live there).
func toolPath(_ standIns: URL) -> String { "\(standIns.path):/usr/sbin:/usr/bin:/sbin:/bin" }

/// A temp directory with copies of the named stand-ins (Tests/StandIns) and their call log.
final class StandIns {
    let dir: URL
    var log: URL { dir.appendingPathComponent("calls.log") }
    init(_ names: [String]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-standins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for n in names {
            try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("Tests/StandIns/\(n)"), to: dir.appendingPathComponent(n))
        }
    }
    deinit { try? FileManager.default.removeItem(at: dir) }
    var calls: [String] { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    /// The environment for knetcap: PATH with these stand-ins first, their parameters.
    func environment(pid: Int32, path: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = path ?? toolPath(dir)
        env["STANDIN_PID"] = String(pid)
        env["STANDIN_NODE"] = nodeName
        env["STANDIN_LOG"] = log.path
        env["KNETCAP_NODE_NAME"] = nil
        for (k, v) in extra { env[k] = v }
        return env
    }
}

typealias Outcome = (status: Int32, stdout: String, stderr: String)

/// Runs knetcap with `args` (after `prefix`, e.g. setpriv), `environment`, stdin text; waits
/// at most `timeout` s.
func run(_ args: [String], environment: [String: String]? = nil, prefix: [String] = [], stdin: String? = nil,
         timeout: TimeInterval = 60) throws -> Outcome {
    try #require(FileManager.default.isExecutableFile(atPath: knetcap.path), "no knetcap at \(knetcap.path)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let o = dir.appendingPathComponent("o"), e = dir.appendingPathComponent("e"), i = dir.appendingPathComponent("i")
    FileManager.default.createFile(atPath: o.path, contents: nil)
    FileManager.default.createFile(atPath: e.path, contents: nil)
    FileManager.default.createFile(atPath: i.path, contents: Data((stdin ?? "").utf8))
    let out = try FileHandle(forWritingTo: o), err = try FileHandle(forWritingTo: e)
    defer { try? out.close(); try? err.close() }
    let p = Process()
    let argv = prefix + [knetcap.path] + args
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    if let environment { p.environment = environment }
    p.standardInput = try FileHandle(forReadingFrom: i)
    p.standardOutput = out
    p.standardError = err
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.runSerialized()
    if done.wait(timeout: .now() + timeout) == .timedOut {
        kill(p.processIdentifier, SIGKILL)
        done.wait()
        Issue.record("knetcap \(args.joined(separator: " ")) did not finish within \(timeout) s; killed")
    }
    return (p.terminationReason == .uncaughtSignal ? -p.terminationStatus : p.terminationStatus,
            (try? String(contentsOf: o, encoding: .utf8)) ?? "", (try? String(contentsOf: e, encoding: .utf8)) ?? "")
}

/// The error contract: `status`, exactly one stderr line `knetcap: ...` naming every string
/// of `mentions`, nothing on stdout.
func expectError(_ r: Outcome, _ status: Int32, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "exit status (stderr: \(r.stderr))", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "stderr must be one line: \(r.stderr.debugDescription)", sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("knetcap: "), "\(r.stderr.debugDescription)", sourceLocation: sourceLocation)
    for m in mentions {
        #expect(r.stderr.contains(m), "stderr should mention \(m.debugDescription): \(r.stderr.debugDescription)", sourceLocation: sourceLocation)
    }
    #expect(r.stdout.isEmpty, "stdout: \(r.stdout.debugDescription)", sourceLocation: sourceLocation)
}

/// tcpdump-style packet lines.
func packetLines(_ stdout: String) -> [String] {
    stdout.split(separator: "\n").map(String.init).filter { $0.prefixMatch(of: #/\d\d:\d\d:\d\d\.\d{6} /#) != nil }
}

/// The host's own IPv4 addresses other than loopback (`ip -o -4 addr`).
func hostAddresses() throws -> [String] {
    let r = try runTool(NetnsLab.ipPath!, ["-o", "-4", "addr"])
    return r.stdout.split(separator: "\n").compactMap { line -> String? in
        let w = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let i = w.firstIndex(of: "inet"), i + 1 < w.count else { return nil }
        let a = String(w[i + 1].split(separator: "/")[0])
        return a.hasPrefix("127.") ? nil : a
    }
}

/// A knetcap capture running in the background; its stderr is polled for "listening on".
final class Capture {
    let process = Process()
    let dir: URL
    let done = DispatchSemaphore(value: 0)
    init(_ args: [String], environment: [String: String]? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-cap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("o").path, contents: nil)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("e").path, contents: nil)
        process.executableURL = knetcap
        process.arguments = args
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("o"))
        process.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("e"))
        let done = self.done
        process.terminationHandler = { _ in done.signal() }
        try process.runSerialized()
    }
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitForExit() }
        try? FileManager.default.removeItem(at: dir)
    }
    var stdout: String { (try? String(contentsOf: dir.appendingPathComponent("o"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: dir.appendingPathComponent("e"), encoding: .utf8)) ?? "" }
    func waitListening(_ seconds: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stderr.contains("listening on") { return true }
            if !process.isRunning { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
    /// Waits for the process to end by itself (true), else stops it with SIGINT.
    @discardableResult
    func finish(within seconds: TimeInterval) -> Bool {
        if done.wait(timeout: .now() + seconds) == .success { return true }
        kill(process.processIdentifier, SIGINT)
        if done.wait(timeout: .now() + 5) == .timedOut { kill(process.processIdentifier, SIGKILL); done.wait() }
        return false
    }
}

/// A DNS server (UDP 53, answers one A query) and a TCP server (8053, says hello to one
/// client) in namespace B, run with python3.
let responderScript = """
import socket, sys
a, answer = sys.argv[1], sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((a, 53)); u.settimeout(30)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((a, 8053)); t.listen(1); t.settimeout(30)
print("ready", flush=True)
q, peer = u.recvfrom(512)
u.sendto(q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00" + q[12:] + b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04" + socket.inet_aton(answer), peer)
c, _ = t.accept(); c.sendall(b"hello\\n"); c.close()
"""

/// In namespace A: one DNS query (id 0x4b4e, A? netns.knetcap.test), waits for the answer,
/// then one TCP connection to port 8053, reads the greeting, closes.
let clientScript = """
import socket, sys
b = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(10)
name = b"".join(bytes([len(l)]) + l.encode() for l in "netns.knetcap.test".split("."))
u.sendto(b"\\x4b\\x4e\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + name + b"\\x00\\x00\\x01\\x00\\x01", (b, 53))
u.recvfrom(512)
s = socket.create_connection((b, 8053), timeout=10); s.recv(100); s.close()
"""

@Suite("knetcap in network namespaces", .serialized,
       .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"))
struct KnetcapNetnsCLITests {
    /// `--netns PID`, `--netns /var/run/netns/NAME` and `--netns NAME` capture exactly the
    /// namespace's DNS and TCP traffic; a capture on the host at the same time sees none of it.
    @Test(.enabled(if: python3 != nil, "needs python3 for the DNS and TCP servers"), arguments: ["pid", "path", "name"])
    func captureSeesOnlyTheNamespacesTraffic(how: String) throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let answer = lab.addrB.replacingOccurrences(of: ".2", with: ".80", options: [.anchored, .backwards])
        let responder = Process()
        responder.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
        responder.arguments = ["netns", "exec", lab.nsB, python3!, "-c", responderScript, lab.addrB, answer]
        let ready = Pipe()
        responder.standardOutput = ready
        responder.standardInput = FileHandle.nullDevice
        try responder.runSerialized()
        defer { if responder.isRunning { kill(responder.processIdentifier, SIGKILL) }; responder.waitForExit() }
        let line = ready.fileHandleForReading.availableData
        try #require(String(decoding: line, as: UTF8.self).contains("ready"), "responder did not start")

        let target = how == "pid" ? String(lab.pid) : how == "path" ? "/var/run/netns/\(lab.nsA)" : lab.nsA
        let inside = try Capture(["--netns", target, "-c", "5", "udp", "port", "53", "or", "tcp", "port", "8053"])
        let host = try Capture(["-i", "any", "host", lab.addrA, "or", "host", lab.addrB])
        try #require(inside.waitListening(), "namespace capture did not start: \(inside.stderr)")
        try #require(host.waitListening(), "host capture did not start: \(host.stderr)")

        let client = try lab.exec(in: lab.nsA, [python3!, "-c", clientScript, lab.addrB])
        #expect(client.status == 0, "client: \(client.stderr)")
        #expect(inside.finish(within: 15), "the -c 5 capture did not end by itself")
        Thread.sleep(forTimeInterval: 0.3)
        host.finish(within: 0)

        let a = NSRegularExpression.escapedPattern(for: lab.addrA), b = NSRegularExpression.escapedPattern(for: lab.addrB)
        let expected = [
            #"IP \#(a)\.\d+ > \#(b)\.53: 19278\+ A\? netns\.knetcap\.test\. "#,
            #"IP \#(b)\.53 > \#(a)\.\d+: 19278 1/0/0 A \#(NSRegularExpression.escapedPattern(for: answer)) "#,
            #"IP \#(a)\.\d+ > \#(b)\.8053: Flags \[S\], "#,
            #"IP \#(b)\.8053 > \#(a)\.\d+: Flags \[S\.\], "#,
            #"IP \#(a)\.\d+ > \#(b)\.8053: Flags \[\.\], "#,
        ]
        let lines = packetLines(inside.stdout)
        #expect(lines.count == 5, "namespace capture:\n\(inside.stdout)\n\(inside.stderr)")
        for (line, pattern) in zip(lines, expected) {
            #expect(line.firstMatch(of: try Regex(pattern)) != nil, "\(line.debugDescription) should match \(pattern)")
        }
        #expect(inside.stderr.contains("capture opened in network namespace net:[\(try inode("/var/run/netns/\(lab.nsA)"))]"), "\(inside.stderr)")
        if how == "pid" { #expect(inside.stderr.contains("of pid \(lab.pid) (sleep), /proc/\(lab.pid)/ns/net")) }
        else { #expect(inside.stderr.contains("of /var/run/netns/\(lab.nsA)")) }
        #expect(inside.stderr.contains("listening on any, link-type LINUX_SLL2"), "\(inside.stderr)")
        // -i any as tcpdump 4.99: the interface (by its name inside the namespace) and the direction.
        let named = { (line: String?, pattern: String) in line?.firstMatch(of: try! Regex(pattern)) != nil }
        #expect(named(lines.first, #" \#(lab.ifA) +Out IP \#(a)\."#), "\(lines.first ?? "")")
        #expect(named(lines.dropFirst().first, #" \#(lab.ifA) +In  IP \#(b)\.53 > "#), "\(lines)")
        #expect(inside.stderr.contains("5 packets captured"))

        #expect(packetLines(host.stdout).isEmpty, "the host capture saw namespace traffic:\n\(host.stdout)")
        #expect(host.stderr.contains("0 packets captured"), "\(host.stderr)")
    }

    /// `--container ID` (prefix) through crictl, and `--pod NAME -n NS` through kubectl and
    /// crictl, capture in the container's namespace; stderr says what was resolved and how.
    @Test(arguments: ["container", "pod", "docker-pod"])
    func resolvedCapture(how: String) throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let tools = try StandIns(["crictl", "docker", "kubectl"])
        let select: [String]
        switch how {
        case "container": select = ["--container", "3f2a9c"]
        case "pod": select = ["--pod", "web", "-n", "shop"]
        default: select = ["--pod", "dockerweb", "-n", "shop"]
        }
        let capture = try Capture(select + ["-c", "1", "udp", "port", "53"], environment: tools.environment(pid: lab.pid))
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        try lab.sendDNSQuery()
        #expect(capture.finish(within: 15))
        let lines = packetLines(capture.stdout)
        #expect(lines.count == 1 && lines[0].contains("\(lab.addrA)."), "\(capture.stdout)\n\(capture.stderr)")
        #expect(lines.first?.contains("> \(lab.addrB).53: 19278+ A? netns.knetcap.test.") == true)
        let err = capture.stderr
        #expect(err.contains("pid \(lab.pid)"), "\(err)")
        #expect(err.contains("capture opened in network namespace net:[\(try inode("/var/run/netns/\(lab.nsA)"))] of pid \(lab.pid)"), "\(err)")
        switch how {
        case "container":
            #expect(tools.calls == ["crictl inspect 3f2a9c"])
            #expect(err.contains("container \(runningID) (app): pid \(lab.pid), from `crictl inspect 3f2a9c`"), "\(err)")
        case "pod":
            #expect(tools.calls == ["kubectl get pod web -n shop -o json", "crictl inspect \(runningID)"])
            #expect(err.contains("pod shop/web on node \(nodeName) (this node): container app, containerd://\(runningID)"), "\(err)")
        default:
            #expect(tools.calls.last?.hasPrefix("docker inspect -f {{.State.Pid}} 5d0c4e2a") == true, "\(tools.calls)")
            #expect(err.contains("pod shop/dockerweb") && err.contains("docker://5d0c4e2a"), "\(err)")
            #expect(err.contains("from `docker inspect -f '{{.State.Pid}}' 5d0c4e2a"), "\(err)")
        }
    }

    /// `--pod ... -w NAME.pcapng`: the interface block names the device and filter, carries
    /// the namespace summary as if_description and the pod metadata as ptcpdump's `Key: value`
    /// lines, which tshark shows.
    @Test func podCaptureWritesPodMetadataToPcapng() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let tools = try StandIns(["crictl", "docker", "kubectl"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-ng-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("pod.pcapng")
        let capture = try Capture(["--pod", "web", "-n", "shop", "-c", "1", "-w", out.path, "udp", "port", "53"],
                                  environment: tools.environment(pid: lab.pid))
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        try lab.sendDNSQuery()
        #expect(capture.finish(within: 15))
        let text = try #require(Fixtures.run("tshark", ["-r", out.path, "-T", "fields", "-e", "frame.interface_name",
                                                        "-e", "frame.interface_description", "-e", "dns.qry.name"]), "tshark").1
        let cols = text.split(separator: "\n").first.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) } ?? []
        #expect(cols.count == 3, "\(text)")
        #expect(cols.first == "any")
        #expect(cols.dropFirst().first?.contains("pod shop/web") == true, "\(cols)")
        #expect(cols.last == "netns.knetcap.test")
        // The IDB comment, as libwiretap reads it back (capinfos -a prints no IDB comments).
        let raw = try Data(contentsOf: out)
        let body = String(decoding: raw, as: UTF8.self)
        for line in ["PodName: web", "PodNamespace: shop", "NodeName: \(nodeName)", "ContainerId: \(runningID)",
                     "NetNsInode: \(try inode("/var/run/netns/\(lab.nsA)"))"] {
            #expect(body.contains(line), "\(line) in the interface block")
        }
    }

    /// `--netns B --container ID` (a container in namespace A): one process, one handle in
    /// each namespace, one pcapng interface each (named after the namespace file and after the
    /// container's pod from crictl's kubelet labels, with its metadata); each query seen
    /// leaving A and then arriving in B, in that order; `-c` counts both.
    @Test func oneCaptureInTwoNamespaces() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let tools = try StandIns(["crictl", "docker", "kubectl"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-two-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("two.pcapng")
        let capture = try Capture(["--netns", lab.nsB, "--container", "3f2a9c", "-c", "4", "-w", out.path, "udp", "port", "53"],
                                  environment: tools.environment(pid: lab.pid))
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        #expect(capture.stderr.contains("listening on any in 2 network namespaces (\(lab.nsB), shop/web), link-type LINUX_SLL2"), "\(capture.stderr)")
        try lab.sendDNSQuery(name: "one.knetcap.test")
        try lab.sendDNSQuery(name: "two.knetcap.test")
        #expect(capture.finish(within: 15), "the -c 4 capture did not end by itself: \(capture.stderr)")
        #expect(capture.stderr.contains("4 packets captured"), "\(capture.stderr)")
        let text = try #require(Fixtures.run("tshark", ["-r", out.path, "-T", "fields", "-e", "frame.interface_id", "-e", "frame.interface_name",
                                                        "-e", "dns.qry.name"]), "tshark").1
        #expect(text.split(separator: "\n") == ["1\tshop/web/any\tone.knetcap.test", "0\t\(lab.nsB)/any\tone.knetcap.test",
                                                "1\tshop/web/any\ttwo.knetcap.test", "0\t\(lab.nsB)/any\ttwo.knetcap.test"], "\(text)")
        let info = try #require(Fixtures.run("capinfos", [out.path]), "capinfos").1
        #expect(info.contains("Number of interfaces in file: 2"), "\(info)")
        #expect(info.contains("Description = network namespace net:[\(try inode("/var/run/netns/\(lab.nsB)"))] of /var/run/netns/\(lab.nsB)"), "\(info)")
        #expect(info.contains("Filter string = udp port 53"), "\(info)")
        let body = String(decoding: try Data(contentsOf: out), as: UTF8.self)
        for line in ["PodName: web", "PodNamespace: shop", "ContainerId: \(runningID)", "NetNsInode: \(try inode("/var/run/netns/\(lab.nsA)"))",
                     "NetNsInode: \(try inode("/var/run/netns/\(lab.nsB)"))"] {
            #expect(body.contains(line), "\(line) in an interface block")
        }
        // Read back: two vantage points, every query seen at both, so no loss between them.
        let q = try run(["-q", "--json", "-r", out.path])
        #expect(q.status == 0 && !q.stdout.contains("net.cross-node-loss"), "\(q.stdout)")
        // Classic pcap cannot say which namespace a packet came from.
        expectError(try run(["--netns", lab.nsA, "--netns", lab.nsB, "-w", dir.appendingPathComponent("x.pcap").path]), Status.usage,
                    mentions: ["written as pcapng"])
    }

    /// `enter` runs the command in the namespace: `ip -o addr` shows the namespace's
    /// addresses, not the host's; stderr names the target and the nsenter equivalent.
    @Test(arguments: ["pid", "netns-path", "pod", "container-docker"])
    func enterShowsTheNamespacesAddresses(how: String) throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let tools = try StandIns(how == "container-docker" ? ["docker"] : ["crictl", "kubectl"])
        let select: [String]
        switch how {
        case "pid": select = ["--pid", String(lab.pid)]
        case "netns-path": select = ["--netns", "/var/run/netns/\(lab.nsA)"]
        case "pod": select = ["web", "shop"]
        default: select = ["--container", "3f2a9c"]
        }
        let r = try run(["enter"] + select + ["--", "ip", "-o", "addr"], environment: tools.environment(pid: lab.pid))
        #expect(r.status == Status.ok, "\(r.stderr)")
        #expect(r.stdout.contains("inet \(lab.addrA)/24"), "\(r.stdout)")
        #expect(r.stdout.contains(lab.ifA))
        for h in try hostAddresses() { #expect(!r.stdout.contains("inet \(h)/"), "host address \(h) shown inside: \(r.stdout)") }
        let nsInode = try inode("/var/run/netns/\(lab.nsA)")
        #expect(r.stderr.contains("knetcap: entering network namespace net:[\(nsInode)]"), "\(r.stderr)")
        if how == "netns-path" {
            #expect(r.stderr.contains("knetcap: equivalent: nsenter --net=/var/run/netns/\(lab.nsA) -- ip -o addr"), "\(r.stderr)")
        } else {
            #expect(r.stderr.contains("knetcap: equivalent: nsenter -n --target \(lab.pid) -- ip -o addr"), "\(r.stderr)")
        }
        if how == "pod" {
            #expect(r.stderr.contains("pod shop/web on node \(nodeName) (this node): container app, containerd://\(runningID)"), "\(r.stderr)")
            #expect(r.stderr.contains("from `crictl inspect \(runningID)` (runtime CLI: crictl)"), "\(r.stderr)")
            #expect(tools.calls == ["kubectl get pod web -n shop -o json", "crictl inspect \(runningID)"])
        }
        if how == "container-docker" {
            #expect(r.stderr.contains("pid \(lab.pid), from `docker inspect -f '{{.State.Pid}}' 3f2a9c` (runtime CLI: docker)"), "\(r.stderr)")
        }
    }

    @Test func enterPassesTheExitStatusAndRunsTheShell() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let pid = String(lab.pid)
        #expect(try run(["enter", "--pid", pid, "--", "/bin/sh", "-c", "exit 7"]).status == 7)
        var env = ProcessInfo.processInfo.environment
        env["SHELL"] = "/bin/sh"
        let shell = try run(["enter", "--pid", pid], environment: env, stdin: "ip -o -4 addr show dev \(lab.ifA)\nexit 3\n")
        #expect(shell.status == 3, "\(shell.stderr)")
        #expect(shell.stdout.contains("inet \(lab.addrA)/24"), "\(shell.stdout)")
        #expect(shell.stderr.contains("nsenter -n --target \(pid) -- /bin/sh"), "\(shell.stderr)")
        let missing = try run(["enter", "--pid", pid, "--", "knt-no-such-command"])
        expectError(missing, Status.commandNotFound, mentions: ["knt-no-such-command", "command not found"])

        // A file that exists but cannot be executed: 126, as nsenter and shells.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-noexec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("script")
        try Data("echo hi\n".utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        expectError(try run(["enter", "--pid", pid, "--", file.path]), 126, mentions: [file.path, "not executable"])
    }

    @Test func interfacesInTheNamespace() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let r = try run(["interfaces", "--netns", String(lab.pid)])
        #expect(r.status == Status.ok, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasSuffix(".\(lab.ifA) [Up, Running, Connected]") || $0.contains(".\(lab.ifA) [Up, Running") }, "\(r.stdout)")
        #expect(lines.contains("    inet \(lab.addrA)/24"), "\(r.stdout)")
        #expect(lines.contains { $0.contains(".any (Pseudo-device that captures on all interfaces)") })
        for h in try hostAddresses() { #expect(!r.stdout.contains("inet \(h)/"), "host address \(h) listed: \(r.stdout)") }
        #expect(r.stderr.contains("knetcap: capture devices in network namespace net:["), "\(r.stderr)")
        let host = try run(["interfaces"])
        #expect(host.status == Status.ok)
        #expect(!host.stdout.contains(lab.ifA))
    }

    /// Without root, entering another process's namespace is refused with exit 23.
    @Test(.enabled(if: setpriv != nil, "needs setpriv (util-linux) to run as nobody"))
    func withoutPrivileges() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let nobody = [setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
        expectError(try run(["--netns", String(lab.pid), "-i", "any"], prefix: nobody), Status.permissionDenied,
                    mentions: ["/proc/\(lab.pid)/ns/net", "permission denied", "root"])
        expectError(try run(["--netns", "/var/run/netns/\(lab.nsA)"], prefix: nobody), Status.permissionDenied,
                    mentions: ["/var/run/netns/\(lab.nsA)", "CAP_SYS_ADMIN"])
        expectError(try run(["enter", "--pid", String(lab.pid), "--", "true"], prefix: nobody), Status.permissionDenied,
                    mentions: ["/proc/\(lab.pid)/ns/net"])
    }
}

/// Errors that need no namespace of their own: one line, one distinct status each.
@Suite("knetcap namespace errors")
struct KnetcapNetnsErrorTests {
    static let missingPID: Int32 = {
        let max = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 4_194_304
        return max < Int32.max ? max + 1 : 999_999_999
    }()

    @Test func pidThatDoesNotExist() throws {
        let pid = String(Self.missingPID)
        expectError(try run(["--netns", pid, "-i", "any"]), Status.noSuchProcess, mentions: ["PID \(pid)", "/proc/\(pid)"])
        expectError(try run(["--netns", pid]), Status.noSuchProcess, mentions: ["PID \(pid)"])
        expectError(try run(["interfaces", "--netns", pid]), Status.noSuchProcess, mentions: ["PID \(pid)"])
        expectError(try run(["enter", "--pid", pid, "--", "true"]), Status.noSuchProcess, mentions: ["PID \(pid)"])
    }

    @Test func namespacePathThatDoesNotExist() throws {
        expectError(try run(["--netns", "/var/run/netns/knt-missing-xyz"]), Status.noSuchNamespace,
                    mentions: ["/var/run/netns/knt-missing-xyz", "ip netns list"])
        expectError(try run(["--netns", "knt-missing-xyz"]), Status.noSuchNamespace, mentions: ["/var/run/netns/knt-missing-xyz"])
    }

    @Test func notANetworkNamespace() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("knt-plain-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        expectError(try run(["--netns", file.path]), Status.notANetworkNamespace, mentions: [file.path, "not a namespace file"])
        expectError(try run(["--netns", "/proc/self/ns/mnt"]), Status.notANetworkNamespace, mentions: ["/proc/self/ns/mnt", "mount namespace", "not a network namespace"])
    }

    @Test func containerErrors() throws {
        let tools = try StandIns(["crictl", "docker"])
        let env = tools.environment(pid: 1)
        expectError(try run(["--container", "ffff"], environment: env), Status.noSuchContainer,
                    mentions: ["no container ffff", "`crictl inspect ffff`", "not found", "Error: No such object: ffff", "crictl ps -a"])
        expectError(try run(["--container", "3f2"], environment: env), Status.ambiguousContainer,
                    mentions: ["3f2", "more than one container", "multiple IDs found with provided prefix: 3f2"])
        expectError(try run(["--container", "3f2b"], environment: env), Status.containerNotRunning,
                    mentions: ["3f2b", "not running", "CONTAINER_EXITED"])
        let crictlOnly = try StandIns(["crictl"])
        let down = crictlOnly.environment(pid: 1, path: crictlOnly.dir.path, extra: ["STANDIN_CRICTL_DOWN": "1"])
        expectError(try run(["--container", "3f2a"], environment: down), Status.runtimeFailed,
                    mentions: ["`crictl inspect 3f2a`", "containerd.sock", "runtime-endpoint"])
        let kubectlOnly = try StandIns(["kubectl"])
        expectError(try run(["--container", "3f2a"], environment: kubectlOnly.environment(pid: 1, path: kubectlOnly.dir.path)),
                    Status.noContainerRuntime, mentions: ["no container runtime CLI found", "neither crictl nor docker", "--netns PID"])
    }

    @Test func podErrors() throws {
        let tools = try StandIns(["crictl", "kubectl"])
        let env = tools.environment(pid: 1)
        expectError(try run(["--pod", "nope", "-n", "shop"], environment: env), Status.noSuchPod,
                    mentions: ["pod nope not found in namespace shop", "Error from server (NotFound): pods \"nope\" not found"])
        expectError(try run(["--pod", "web"], environment: env), Status.noSuchPod, mentions: ["namespace default"])
        expectError(try run(["--pod", "elsewhere", "-n", "shop", "-i", "any", "port", "53"], environment: env), Status.podOnAnotherNode,
                    mentions: ["runs on node worker-7", "run on worker-7: knetcap --pod elsewhere -n shop -i any port 53"])
        #expect(tools.calls.suffix(2) == ["kubectl get pod elsewhere -n shop -o json", "kubectl get node worker-7 -o json"])
        expectError(try run(["--pod", "pending", "--namespace", "shop"], environment: env), Status.containerNotRunning,
                    mentions: ["not scheduled", "Pending"])
        expectError(try run(["--pod", "web", "-n", "shop", "--container-name", "db"], environment: env), Status.noSuchContainer,
                    mentions: ["no container db", "app, sidecar"])
        let crictlOnly = try StandIns(["crictl"])
        expectError(try run(["--pod", "web", "-n", "shop"], environment: crictlOnly.environment(pid: 1, path: crictlOnly.dir.path)),
                    Status.kubectlFailed, mentions: ["kubectl is not on PATH"])
        expectError(try run(["enter", "nope", "shop"], environment: env), Status.noSuchPod, mentions: ["pod nope not found"])
    }

    @Test func usage() throws {
        expectError(try run(["--netns", "/proc/self/ns/net", "--netns", "/proc/thread-self/ns/net"]), Status.usage, mentions: ["already named as /proc/self/ns/net", "name each namespace once"])
        expectError(try run(["interfaces", "--netns", "1", "--netns", "2"]), Status.usage, mentions: ["only one of --netns here"])
        expectError(try run(["--netns", "1", "-r", "/dev/null"]), Status.usage, mentions: ["--netns", "live capture", "-r"])
        expectError(try run(["--namespace", "shop", "-i", "any"]), Status.usage, mentions: ["--namespace", "--pod"])
        expectError(try run(["--container-name", "app", "-i", "any"]), Status.usage, mentions: ["--container-name", "--pod"])
        expectError(try run(["enter"]), Status.usage, mentions: ["nothing to enter"])
        expectError(try run(["enter", "--pid", "1", "web"]), Status.usage, mentions: ["only one of"])
        // Without --pod, -n is still tcpdump's no-resolve flag.
        let r = try run(["-n", "-q", "-r", repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path])
        #expect(r.status == Status.ok, "\(r.stderr)")
    }
}
