// In-process tests of KnetcapNetns on real network namespaces (NetnsLab: `ip netns add`, veth,
// a process inside), and of the container/pod resolution against the stand-in CLIs in
// Tests/StandIns. One serialized suite: every test checks that afterwards no thread of this
// process is left in another network namespace.

import CPcap
import Foundation
import KnetcapCapture
import Testing
import KnetcapTestSupport
@testable import KnetcapNetns
#if canImport(Glibc)
import Glibc
#endif

/// This process's own network namespace, read once before any test enters another.
let ownNamespace: UInt64 = (try? inode("/proc/self/ns/net")) ?? 0

/// The calling thread's network namespace (`/proc/thread-self/ns/net`).
func threadNamespace() throws -> UInt64 { try inode("/proc/thread-self/ns/net") }

/// Checks that the process, the calling thread and every thread of the process are in the
/// process's own network namespace.
func expectBackHome(sourceLocation: SourceLocation = #_sourceLocation) {
    #expect((try? inode("/proc/self/ns/net")) == ownNamespace, "/proc/self/ns/net moved", sourceLocation: sourceLocation)
    #expect((try? threadNamespace()) == ownNamespace, "the calling thread is in another namespace", sourceLocation: sourceLocation)
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    #expect(!tasks.isEmpty, sourceLocation: sourceLocation)
    for t in tasks {
        guard let ino = try? inode("/proc/self/task/\(t)/ns/net") else { continue }  // thread ended meanwhile
        #expect(ino == ownNamespace, "thread \(t) is left in net:[\(ino)]", sourceLocation: sourceLocation)
    }
}

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A temp directory holding copies of the named stand-ins (Tests/StandIns), to use as PATH.
func standIns(_ names: [String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-standins-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for n in names {
        try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("Tests/StandIns/\(n)"), to: dir.appendingPathComponent(n))
    }
    return dir
}

let runningID = "3f2a9c0d6b1e4f5a8c7d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"

@Suite("KnetcapNetns", .serialized)
struct KnetcapNetnsTests {
    @Test func targetParsing() {
        #expect(NetnsTarget(parsing: "4242") == .pid(4242))
        #expect(NetnsTarget(parsing: "/var/run/netns/blue") == .path("/var/run/netns/blue"))
        #expect(NetnsTarget(parsing: "blue") == .path("/var/run/netns/blue"))
        #expect(NetnsTarget(parsing: "./ns") == .path("./ns"))
        #expect(NetnsTarget.pid(7).namespacePath == "/proc/7/ns/net")
    }

    @Suite("entering real namespaces", .serialized, .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"))
    struct Entering {
        @Test(arguments: ["pid", "path", "name"])
        func runsInsideAndComesBack(how: String) throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            let target: NetnsTarget = how == "pid" ? .pid(lab.pid) : how == "path" ? .path("/var/run/netns/\(lab.nsA)") : NetnsTarget(parsing: lab.nsA)
            let ns = try NetworkNamespace.open(target)
            let labInode = try inode("/var/run/netns/\(lab.nsA)")
            #expect(ns.inode == labInode)
            #expect(ns.identity == "net:[\(labInode)]")
            #expect(!ns.isCurrentThreadNamespace)
            let caller = pthread_self()
            let (inside, sameThread) = try ns.run { (try threadNamespace(), pthread_equal(pthread_self(), caller) != 0) }
            #expect(inside == labInode)
            #expect(!sameThread, "run must use a thread of its own")
            expectBackHome()
        }

        @Test func ownNamespaceIsRecognised() throws {
            let ns = try NetworkNamespace.open(.pid(getpid()))
            #expect(ns.isCurrentThreadNamespace)
            #expect(ns.inode == ownNamespace)
        }

        /// A libpcap handle opened on the namespace thread captures that namespace's traffic
        /// when read from this thread, after the namespace thread has ended.
        @Test func pcapHandleOpenedInsideCapturesThere() throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            let ns = try NetworkNamespace.open(.pid(lab.pid))
            let source = try ns.run { try PcapSource.openLive("any", snaplen: 65535) }
            expectBackHome()
            try source.setFilter("udp port 53 and host \(lab.addrB)")
            final class Handle: @unchecked Sendable { let h: OpaquePointer; init(_ h: OpaquePointer) { self.h = h } }
            let handle = Handle(source.handle)
            let stop = DispatchSemaphore(value: 0)
            Thread.detachNewThread {  // sends until the capture has its packet; breaks a stuck read after 15 s
                for _ in 0..<75 {
                    if stop.wait(timeout: .now() + 0.2) == .success { return }
                    try? lab.sendDNSQuery()
                }
                pcap_breakloop(handle.h)
            }
            var seen: [String] = []
            _ = source.forEach { p in
                let b = Array(p.bytes)
                // Linux cooked header (16 or 20 bytes), then IPv4: source and destination.
                let ip = source.linkType == 276 ? 20 : 16
                if b.count >= ip + 20 {
                    seen.append(b[(ip + 12)..<(ip + 16)].map(String.init).joined(separator: ".") + ">" + b[(ip + 16)..<(ip + 20)].map(String.init).joined(separator: "."))
                }
                return false
            }
            stop.signal()
            #expect(seen == ["\(lab.addrA)>\(lab.addrB)"])
        }

        @Test func devicesInsideAreTheNamespaces() throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            let ns = try NetworkNamespace.open(.path("/var/run/netns/\(lab.nsA)"))
            let inside = try ns.run { try PcapSource.devices() }
            let host = try PcapSource.devices()
            let names = Set(inside.map(\.name))
            #expect(names.contains(lab.ifA))
            #expect(!names.contains(lab.ifB))
            #expect(inside.first { $0.name == lab.ifA }?.addresses.contains { $0.description == "\(lab.addrA)/24" } == true)
            for d in host where !["lo", "any"].contains(d.name) && !d.addresses.isEmpty {
                #expect(!names.contains(d.name), "host interface \(d.name) listed inside the namespace")
            }
            #expect(!host.map(\.name).contains(lab.ifA))
            expectBackHome()
        }

        @Test func readFileReadsTheTargetsProcFiles() throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            try lab.exec(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.ip_default_ttl=77"])
            let hostTTL = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_default_ttl", encoding: .utf8)
            #expect(hostTTL.trimmingCharacters(in: .whitespacesAndNewlines) != "77")
            for target in [NetnsTarget.pid(lab.pid), .path("/var/run/netns/\(lab.nsA)")] {
                let dev = readFile("/proc/net/dev", inNamespaceOf: target) ?? ""
                #expect(dev.contains("\(lab.ifA):"), "\(target): \(dev)")
                #expect(!dev.contains("\(lab.ifB):"))
                let ttl = readFile("/proc/sys/net/ipv4/ip_default_ttl", inNamespaceOf: target)
                #expect(ttl?.trimmingCharacters(in: .whitespacesAndNewlines) == "77", "\(target)")
                #expect(readFile("/proc/net/netstat", inNamespaceOf: target)?.contains("TcpExt:") == true)
                let ns = try NetworkNamespace.open(target)
                #expect(ns.readFile("/proc/self/net/dev")?.contains("\(lab.ifA):") == true)
            }
            #expect(readFile("/proc/net/dev", inNamespaceOf: nil)?.contains("\(lab.ifA):") == false)
            #expect(readFile("/proc/net/dev", inNamespaceOf: .path("/nonexistent/knt")) == nil)
            expectBackHome()
        }

        @Test func workThatThrowsLeavesNothingSwitched() throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            let ns = try NetworkNamespace.open(.pid(lab.pid))
            #expect(throws: LabError.self) { try ns.run { throw LabError("inside") } }
            #expect(throws: CaptureError.self) { _ = try ns.run { try PcapSource.openLive("knt-nope0", snaplen: 100) } }
            expectBackHome()
        }

        /// If the thread cannot switch back, it still ends: nothing of the process stays in the
        /// target namespace, and the next run uses a new thread.
        @Test func failedRestoreEndsTheThread() throws {
            let lab = try NetnsLab()
            defer { lab.remove() }
            let ns = try NetworkNamespace.open(.pid(lab.pid))
            final class Box: @unchecked Sendable { var tid: Int32 = 0 }
            let first = Box()
            let r = try ns.runReportingRestore(restoreFrom: -1) { () -> UInt64 in
                first.tid = Sys.threadID()
                return try threadNamespace()
            }
            #expect(r.restored == false)
            #expect(r.value == (try inode("/var/run/netns/\(lab.nsA)")))
            #expect(!FileManager.default.fileExists(atPath: "/proc/self/task/\(first.tid)"), "the thread left in the namespace must have ended")
            expectBackHome()
            let again = try ns.runReportingRestore { Sys.threadID() }
            #expect(again.restored)
            #expect(again.value != first.tid)
            expectBackHome()
        }
    }

    @Suite("namespace errors", .serialized)
    struct Errors {
        func expectError(_ kind: NetnsError.Kind, mentions: [String], _ body: () throws -> Void,
                         sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                try body()
                Issue.record("expected \(kind)", sourceLocation: sourceLocation)
            } catch let e as NetnsError {
                #expect(e.kind == kind, "\(e.message)", sourceLocation: sourceLocation)
                #expect(!e.message.contains("\n"), sourceLocation: sourceLocation)
                for m in mentions { #expect(e.message.contains(m), "\(e.message.debugDescription) should mention \(m)", sourceLocation: sourceLocation) }
            } catch {
                Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            }
            expectBackHome(sourceLocation: sourceLocation)
        }

        /// A PID above pid_max never exists.
        static let missingPID: Int32 = {
            let max = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 4_194_304
            return max < Int32.max ? max + 1 : 999_999_999
        }()

        @Test func pidThatDoesNotExist() {
            expectError(.noSuchProcess, mentions: ["\(Self.missingPID)", "/proc/\(Self.missingPID)"]) {
                _ = try NetworkNamespace.open(.pid(Self.missingPID))
            }
            expectError(.noSuchProcess, mentions: ["PID 0"]) { _ = try NetworkNamespace.open(.pid(0)) }
        }

        @Test func pathThatDoesNotExist() {
            expectError(.noSuchNamespace, mentions: ["/var/run/netns/knt-missing-xyz", "ip netns list"]) {
                _ = try NetworkNamespace.open(NetnsTarget(parsing: "knt-missing-xyz"))
            }
            expectError(.noSuchNamespace, mentions: ["/nonexistent/dir/ns"]) { _ = try NetworkNamespace.open(.path("/nonexistent/dir/ns")) }
        }

        @Test func notANetworkNamespace() throws {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("knt-not-ns-\(UUID().uuidString)")
            try Data("x".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            expectError(.notANetworkNamespace, mentions: [file.path, "not a namespace file"]) { _ = try NetworkNamespace.open(.path(file.path)) }
            expectError(.notANetworkNamespace, mentions: ["/proc/self/ns/mnt", "mount namespace"]) { _ = try NetworkNamespace.open(.path("/proc/self/ns/mnt")) }
            expectError(.notANetworkNamespace, mentions: ["UTS namespace"]) { _ = try NetworkNamespace.open(.path("/proc/self/ns/uts")) }
            expectError(.notANetworkNamespace, mentions: ["/proc/self/ns"]) { _ = try NetworkNamespace.open(.path("/proc/self/ns")) }
        }

        @Test func readFileOfAMissingTargetIsNil() {
            #expect(readFile("/proc/net/dev", inNamespaceOf: .pid(Self.missingPID)) == nil)
            expectBackHome()
        }
    }

    @Suite("container and pod resolution (stand-in CLIs)", .serialized)
    struct Resolution {
        let pid = getpid()

        func resolver(_ tools: [String], crictlDown: Bool = false) throws -> (Resolver, URL) {
            let dir = try standIns(tools)
            var env = ["STANDIN_PID": String(pid), "STANDIN_NODE": "node-a", "STANDIN_LOG": dir.appendingPathComponent("calls.log").path]
            if crictlDown { env["STANDIN_CRICTL_DOWN"] = "1" }
            return (Resolver(tools: ToolRunner(searchPath: dir.path, timeout: 20, environment: env)), dir)
        }

        func calls(_ dir: URL) -> [String] {
            ((try? String(contentsOf: dir.appendingPathComponent("calls.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func expectError(_ kind: NetnsError.Kind, mentions: [String], _ body: () throws -> Void,
                         sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                try body()
                Issue.record("expected \(kind)", sourceLocation: sourceLocation)
            } catch let e as NetnsError {
                #expect(e.kind == kind, "\(e.message)", sourceLocation: sourceLocation)
                #expect(!e.message.contains("\n"), sourceLocation: sourceLocation)
                for m in mentions { #expect(e.message.contains(m), "\(e.message.debugDescription) should mention \(m)", sourceLocation: sourceLocation) }
            } catch {
                Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            }
        }

        @Test func crictlPrefixGivesThePID() throws {
            let (r, dir) = try resolver(["crictl", "docker"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let c = try r.container("3f2a9c")
            #expect(c.pid == pid)
            #expect(c.runtime == .crictl)
            #expect(c.id == runningID)
            #expect(c.name == "app")
            #expect(c.command == ["crictl", "inspect", "3f2a9c"])
            #expect(calls(dir) == ["crictl inspect 3f2a9c"])
        }

        @Test func dockerWhenCrictlIsAbsent() throws {
            let (r, dir) = try resolver(["docker"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let c = try r.container("3f2a9c")
            #expect(c.pid == pid)
            #expect(c.runtime == .docker)
            #expect(calls(dir) == ["docker inspect -f {{.State.Pid}} 3f2a9c"])
        }

        @Test func dockerAfterCrictlDoesNotKnowIt() throws {
            let (r, dir) = try resolver(["crictl", "docker"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let c = try r.container("5d0c")
            #expect(c.runtime == .docker)
            #expect(c.pid == pid)
            #expect(calls(dir) == ["crictl inspect 5d0c", "docker inspect -f {{.State.Pid}} 5d0c"])
        }

        @Test func containerErrors() throws {
            let (both, dir) = try resolver(["crictl", "docker"])
            defer { try? FileManager.default.removeItem(at: dir) }
            expectError(.noSuchContainer, mentions: ["ffff", "crictl inspect ffff", "not found", "Error: No such object: ffff"]) { _ = try both.container("ffff") }
            expectError(.ambiguousContainer, mentions: ["3f2", "more than one", "multiple IDs found"]) { _ = try both.container("3f2") }
            expectError(.containerNotRunning, mentions: ["3f2b", "CONTAINER_EXITED"]) { _ = try both.container("3f2b") }
            let (docker, ddir) = try resolver(["docker"])
            defer { try? FileManager.default.removeItem(at: ddir) }
            expectError(.noSuchContainer, mentions: ["Error: No such object: ffff"]) { _ = try docker.container("ffff") }
            expectError(.ambiguousContainer, mentions: ["multiple IDs found with provided prefix: 3f2"]) { _ = try docker.container("3f2") }
            expectError(.containerNotRunning, mentions: ["3f2b", "pid 0"]) { _ = try docker.container("3f2b") }
            let (none, ndir) = try resolver(["kubectl"])
            defer { try? FileManager.default.removeItem(at: ndir) }
            expectError(.noContainerRuntime, mentions: ["neither crictl nor docker", ndir.path]) { _ = try none.container("3f2a") }
            let (down, wdir) = try resolver(["crictl"], crictlDown: true)
            defer { try? FileManager.default.removeItem(at: wdir) }
            expectError(.runtimeFailed, mentions: ["crictl inspect 3f2a", "connect: no such file or directory"]) { _ = try down.container("3f2a") }
        }

        @Test func podOnThisNode() throws {
            let (r, dir) = try resolver(["crictl", "docker", "kubectl"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let local = LocalNode(names: ["node-a"], addresses: ["192.0.2.10"])
            let res = try r.resolvePod("web", namespace: "shop", containerName: nil, local: local, rerun: "knetcap --pod web -n shop")
            #expect(res.target == .pid(pid))
            #expect(res.pod?.node == "node-a")
            #expect(res.pod?.containerName == "app")
            #expect(res.pod?.runtimeName == "containerd")
            #expect(res.pod?.containerID == runningID)
            #expect(calls(dir) == ["kubectl get pod web -n shop -o json", "crictl inspect \(runningID)"])
            // FQDN node names match the short hostname.
            let fqdn = LocalNode(names: ["node-a.cluster.example"], addresses: [])
            _ = try r.resolvePod("web", namespace: "shop", containerName: nil, local: fqdn, rerun: "x")
        }

        @Test func podChoosesARunningContainer() throws {
            let (r, dir) = try resolver(["crictl", "kubectl"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let local = LocalNode(names: ["node-a"], addresses: [])
            let p = try r.pod("crashy", namespace: "shop", containerName: nil)
            #expect(p.containerName == "sidecar")
            #expect(p.note?.contains("CrashLoopBackOff") == true)
            expectError(.containerNotRunning, mentions: ["app", "CrashLoopBackOff"]) {
                _ = try r.resolvePod("crashy", namespace: "shop", containerName: "app", local: local, rerun: "x")
            }
            expectError(.noSuchContainer, mentions: ["nope", "app, sidecar"]) { _ = try r.pod("web", namespace: "shop", containerName: "nope") }
            let sidecar = try r.pod("web", namespace: "shop", containerName: "sidecar")
            #expect(sidecar.containerID.hasPrefix("77aa0e5c"))
        }

        @Test func dockerPodUsesDocker() throws {
            let (r, dir) = try resolver(["crictl", "docker", "kubectl"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let res = try r.resolvePod("dockerweb", namespace: "shop", containerName: nil, local: LocalNode(names: ["node-a"], addresses: []), rerun: "x")
            #expect(res.container.runtime == .docker)
            #expect(res.pod?.runtimeName == "docker")
            #expect(calls(dir).last?.hasPrefix("docker inspect -f {{.State.Pid}} 5d0c4e2a") == true)
        }

        @Test func podErrors() throws {
            let (r, dir) = try resolver(["crictl", "kubectl"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let local = LocalNode(names: ["node-a"], addresses: ["192.0.2.10"])
            expectError(.noSuchPod, mentions: ["nope", "shop", "Error from server (NotFound): pods \"nope\" not found", "kubectl get pods -n shop"]) {
                _ = try r.resolvePod("nope", namespace: "shop", containerName: nil, local: local, rerun: "x")
            }
            expectError(.noSuchPod, mentions: ["namespace default"]) {
                _ = try r.resolvePod("web", namespace: "default", containerName: nil, local: local, rerun: "x")
            }
            expectError(.podOnAnotherNode, mentions: ["worker-7", "run on worker-7: knetcap --pod elsewhere -n shop -i any", "198.51.100.7"]) {
                _ = try r.resolvePod("elsewhere", namespace: "shop", containerName: nil, local: local, rerun: "knetcap --pod elsewhere -n shop -i any")
            }
            #expect(calls(dir).suffix(2) == ["kubectl get pod elsewhere -n shop -o json", "kubectl get node worker-7 -o json"])
            // The node's address is this machine's: it is this node after all.
            let multi = LocalNode(names: ["other-name"], addresses: ["198.51.100.7"])
            var p = try r.pod("elsewhere", namespace: "shop", containerName: nil)
            try r.checkOnThisNode(&p, local: multi, rerun: "x")
            expectError(.containerNotRunning, mentions: ["not scheduled", "Pending"]) {
                _ = try r.resolvePod("pending", namespace: "shop", containerName: nil, local: local, rerun: "x")
            }
            let (noKubectl, kdir) = try resolver(["crictl"])
            defer { try? FileManager.default.removeItem(at: kdir) }
            expectError(.kubectlFailed, mentions: ["kubectl is not on PATH"]) {
                _ = try noKubectl.resolvePod("web", namespace: "shop", containerName: nil, local: local, rerun: "x")
            }
            let (noCrictl, cdir) = try resolver(["docker", "kubectl"])
            defer { try? FileManager.default.removeItem(at: cdir) }
            expectError(.noContainerRuntime, mentions: ["crictl is not on PATH", "containerd"]) {
                _ = try noCrictl.resolvePod("web", namespace: "shop", containerName: nil, local: local, rerun: "x")
            }
        }

        @Test func shellQuoting() {
            #expect(shellQuoted(["docker", "inspect", "-f", "{{.State.Pid}}", "abc"]) == "docker inspect -f '{{.State.Pid}}' abc")
            #expect(shellQuoted(["sh", "-c", "exit 7"]) == "sh -c 'exit 7'")
            #expect(shellQuoted(["it's"]) == "'it'\\''s'")
        }
    }
}

/// kubectl's klog lines are not quoted as the error: the plain line it ends with is (recorded
/// from kubectl 1.32 with no cluster), and a klog line alone gives its `err=` message.
@Suite struct ToolErrorLineTests {
    @Test func klogLinesGiveWayToThePlainMessage() {
        let stderr = """
        E1201 08:56:03.115357   19502 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \\"http://localhost:8080/api?timeout=32s\\": dial tcp 127.0.0.1:8080: connect: connection refused"
        E1201 08:56:03.116926   19502 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \\"http://localhost:8080/api?timeout=32s\\": dial tcp 127.0.0.1:8080: connect: connection refused"
        The connection to the server localhost:8080 was refused - did you specify the right host or port?
        """
        let out = ToolRunner.Output(command: ["kubectl"], status: 1, stdout: "", stderr: stderr)
        #expect(out.errorLine == "The connection to the server localhost:8080 was refused - did you specify the right host or port?")
        let only = ToolRunner.Output(command: ["kubectl"], status: 1, stdout: "",
                                     stderr: String(stderr.split(separator: "\n")[0]))
        #expect(only.errorLine == "couldn't get current server API group list: Get \"http://localhost:8080/api?timeout=32s\": dial tcp 127.0.0.1:8080: connect: connection refused")
    }
}
