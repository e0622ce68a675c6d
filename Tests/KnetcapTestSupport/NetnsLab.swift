import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two real network namespaces joined by a veth pair, made with `ip netns add` (root):
///
///     netns knt-ID-a                          netns knt-ID-b
///     knID a  10.77.X.1/24  <---- veth ---->  knID b  10.77.X.2/24
///
/// and a process living in the first (`ip netns exec knt-ID-a sleep 600`) whose PID tests
/// enter. Names and the subnet are unique per lab; `remove()` (also on deinit) kills the
/// process and deletes both namespaces, whatever the test did.
public final class NetnsLab: @unchecked Sendable {
    public let id: String
    public let nsA: String, nsB: String
    public let ifA: String, ifB: String
    public let addrA: String, addrB: String
    public private(set) var pid: Int32 = 0
    private var sleeper: Process?
    private var removed = false

    public static let available: Bool = geteuid() == 0 && ipPath != nil
    public static let ipPath: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    public init() throws {
        let n = UInt32.random(in: 0..<0xFFFFFF)
        id = String(n, radix: 16)
        nsA = "knt-\(id)-a"; nsB = "knt-\(id)-b"
        ifA = "kn\(id)a"; ifB = "kn\(id)b"
        let x = Int.random(in: 1...254)
        addrA = "10.77.\(x).1"; addrB = "10.77.\(x).2"
        do {
            try ip(["netns", "add", nsA])
            try ip(["netns", "add", nsB])
            try ip(["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB])
            try ip(["-n", nsA, "addr", "add", "\(addrA)/24", "dev", ifA])
            try ip(["-n", nsB, "addr", "add", "\(addrB)/24", "dev", ifB])
            for (ns, dev) in [(nsA, ifA), (nsB, ifB), (nsA, "lo"), (nsB, "lo")] {
                try ip(["-n", ns, "link", "set", dev, "up"])
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
            p.arguments = ["netns", "exec", nsA, "sleep", "600"]
            p.standardInput = FileHandle.nullDevice
            try p.runSerialized()
            sleeper = p
            pid = p.processIdentifier
            // `ip netns exec` enters the namespace, then execs sleep in the same process.
            let want = try inode("/var/run/netns/\(nsA)")
            let deadline = Date().addingTimeInterval(10)
            while (try? inode("/proc/\(pid)/ns/net")) != want {
                guard Date() < deadline, p.isRunning else { throw LabError("process \(pid) never entered \(nsA)") }
                Thread.sleep(forTimeInterval: 0.02)
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Kills the process and deletes both namespaces (idempotent).
    public func remove() {
        guard !removed else { return }
        removed = true
        if let p = sleeper, p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitForExit()
        }
        _ = try? ip(["netns", "del", nsA], check: false)
        _ = try? ip(["netns", "del", nsB], check: false)
    }

    /// Runs `ip ARGS`; throws with its stderr when it fails and `check`.
    @discardableResult
    public func ip(_ args: [String], check: Bool = true) throws -> String {
        let r = try runTool(NetnsLab.ipPath!, args)
        if check && r.status != 0 { throw LabError("ip \(args.joined(separator: " ")): \(r.stderr)") }
        return r.stdout
    }

    /// Runs `command` inside namespace `ns` (`ip netns exec NS ...`).
    @discardableResult
    public func exec(in ns: String, _ command: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool(NetnsLab.ipPath!, ["netns", "exec", ns] + command)
    }

    /// Sends one DNS query (A? NAME, id 0x4b4e) from namespace A to B's port 53 with bash's
    /// /dev/udp: one UDP datagram, inside the lab only.
    public func sendDNSQuery(name: String = "netns.knetcap.test") throws {
        var q = "\\x4b\\x4e\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
        for label in name.split(separator: ".") {
            q += String(format: "\\x%02x", label.utf8.count) + label
        }
        q += "\\x00\\x00\\x01\\x00\\x01"
        let r = try exec(in: nsA, ["bash", "-c", "printf '\(q)' > /dev/udp/\(addrB)/53"])
        if r.status != 0 { throw LabError("sending the DNS query failed: \(r.stderr)") }
    }
}

public struct LabError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The inode of a namespace file (stat follows /proc/PID/ns/net to the namespace).
public func inode(_ path: String) throws -> UInt64 {
    var st = stat()
    guard stat(path, &st) == 0 else { throw LabError("stat \(path): \(String(cString: strerror(errno)))") }
    return UInt64(st.st_ino)
}

/// Runs an executable, collecting stdout and stderr (through files: no pipe deadlock).
public func runTool(_ exe: String, _ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let o = dir.appendingPathComponent("o"), e = dir.appendingPathComponent("e")
    FileManager.default.createFile(atPath: o.path, contents: nil)
    FileManager.default.createFile(atPath: e.path, contents: nil)
    let out = try FileHandle(forWritingTo: o), err = try FileHandle(forWritingTo: e)
    defer { try? out.close(); try? err.close() }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let environment { p.environment = environment }
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = out
    p.standardError = err
    try p.runSerialized()
    p.waitForExit()
    return (p.terminationStatus, (try? String(contentsOf: o, encoding: .utf8)) ?? "", (try? String(contentsOf: e, encoding: .utf8)) ?? "")
}
