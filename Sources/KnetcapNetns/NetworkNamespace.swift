import CNetns
#if canImport(Glibc)
import Glibc
#endif

/// Which network namespace to enter: the one a process is in, or a namespace file.
///
/// A process's is `/proc/PID/ns/net`; `ip netns add NAME` bind-mounts one at
/// `/var/run/netns/NAME`; any other nsfs file works too (namespaces(7)).
public enum NetnsTarget: Sendable, Hashable, CustomStringConvertible {
    /// The network namespace of process `PID` (`/proc/PID/ns/net`).
    case pid(Int32)
    /// A namespace file: `/proc/PID/ns/net`, `/var/run/netns/NAME`, or any nsfs path.
    case path(String)

    /// Reads a `--netns` argument: digits are a PID, anything with a `/` a path, and a bare
    /// name is `ip netns`'s `/var/run/netns/NAME`.
    public init(parsing text: String) {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int32(text) {
            self = .pid(p)
        } else if text.contains("/") || text.isEmpty {
            self = .path(text)
        } else {
            self = .path("/var/run/netns/\(text)")
        }
    }

    /// The namespace file: `/proc/PID/ns/net` or the path itself.
    public var namespacePath: String {
        switch self {
        case .pid(let p): return "/proc/\(p)/ns/net"
        case .path(let p): return p
        }
    }

    /// `pid 4242` or the path, for messages.
    public var description: String {
        switch self {
        case .pid(let p): return "pid \(p)"
        case .path(let p): return p
        }
    }
}

/// An open network namespace (a descriptor on its nsfs file, closed on deinit) and the means
/// to do work inside it without moving the calling thread.
///
/// setns(2) switches only the calling thread, and a socket stays in the namespace it was
/// created in (network_namespaces(7)). So `run` starts a new thread, moves it into this
/// namespace, runs the work there (e.g. opening a libpcap handle, whose packet socket then
/// captures this namespace's traffic from any thread), moves the thread back, and ends it.
/// The calling thread, and every other thread of the process, never leave their namespace.
public final class NetworkNamespace: @unchecked Sendable {  // immutable after init
    /// What was asked for.
    public let target: NetnsTarget
    /// The namespace file that was opened (`/proc/PID/ns/net` or the path).
    public let path: String
    /// The namespace's nsfs inode: its identity, as `readlink /proc/PID/ns/net` and lsns(8)
    /// print it (`net:[inode]`).
    public let inode: UInt64
    /// The nsfs device of the namespace file (two files name the same namespace when device
    /// and inode are equal).
    public let device: UInt64
    let fd: Int32

    /// `net:[4026532451]`.
    public var identity: String { "net:[\(inode)]" }

    private init(target: NetnsTarget, path: String, fd: Int32, device: UInt64, inode: UInt64) {
        self.target = target
        self.path = path
        self.fd = fd
        self.device = device
        self.inode = inode
    }

    deinit { Sys.close(fd) }

    /// Opens `target`'s namespace file and checks that it is a network namespace (its
    /// filesystem is nsfs and `ioctl(NS_GET_NSTYPE)` is CLONE_NEWNET; on kernels before 4.11,
    /// its `/proc/self/fd` link reads `net:[...]`). Nothing is entered yet.
    /// - Throws: `NetnsError` `.noSuchProcess` (no `/proc/PID`), `.noSuchNamespace` (no such
    ///   file), `.notANetworkNamespace`, `.permissionDenied` (another user's process without
    ///   root: open needs ptrace access, see proc(5)), `.system`.
    public static func open(_ target: NetnsTarget) throws(NetnsError) -> NetworkNamespace {
        let path = target.namespacePath
        if case .pid(let pid) = target, pid <= 0 || !Sys.exists("/proc/\(pid)") {
            throw NetnsError(.noSuchProcess, "no process with PID \(pid) (/proc/\(pid) does not exist): check it with `ps -p \(pid)`, or give --container ID or --pod NAME to look the PID up")
        }
        if case .path = target, path.isEmpty {
            throw NetnsError(.noSuchNamespace, "empty namespace path: give a PID, /proc/PID/ns/net or /var/run/netns/NAME")
        }
        let fd: Int32
        switch Sys.openReadOnly(path) {
        case .success(let d): fd = d
        case .failure(let e):
            throw openError(e, target: target, path: path)
        }
        do throws(NetnsError) {
            try checkIsNetworkNamespace(fd, target: target, path: path)
            guard case .success(let id) = Sys.identity(fd, path) else {
                throw NetnsError(.system, "\(path): fstat failed: \(String(cString: strerror(errno)))")
            }
            return NetworkNamespace(target: target, path: path, fd: fd, device: id.device, inode: id.inode)
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    private static func openError(_ e: SysError, target: NetnsTarget, path: String) -> NetnsError {
        switch (e.errno, target) {
        case (ENOENT, .pid(let pid)), (ESRCH, .pid(let pid)):
            return NetnsError(.noSuchProcess, "process \(pid) has exited (\(path): \(e.text)): check the PID with `ps -p \(pid)`")
        case (ENOENT, .path), (ENOTDIR, .path):
            let hint = path.hasPrefix("/var/run/netns/") || path.hasPrefix("/run/netns/")
                ? "see `ip netns list` for the names there" : "give a PID, /proc/PID/ns/net or /var/run/netns/NAME"
            return NetnsError(.noSuchNamespace, "no such network namespace file \(path): \(hint)")
        case (EACCES, _), (EPERM, _):
            if geteuid() == 0 {  // root already: sudo would not help
                return NetnsError(.permissionDenied, "permission denied opening \(path) (\(e.text)) although knetcap runs as root: the process may belong to another user namespace, or a security module (AppArmor, SELinux, seccomp, a container's capability bounding set without CAP_SYS_PTRACE) forbids it; run knetcap on the node itself, with CAP_SYS_ADMIN and CAP_SYS_PTRACE")
            }
            return NetnsError(.permissionDenied, "permission denied opening \(path) (\(e.text)): entering another process's network namespace needs root (CAP_SYS_ADMIN, and CAP_SYS_PTRACE for /proc/PID/ns/net); run knetcap with sudo")
        default:
            return NetnsError(.system, "cannot open \(path): \(e.text)")
        }
    }

    /// The names namespaces(7) gives each CLONE_NEW* type, for "is a mount namespace, not a
    /// network namespace".
    static let typeNames: [Int32: String] = [
        0x0002_0000: "mount", 0x0200_0000: "cgroup", 0x0400_0000: "UTS", 0x0800_0000: "IPC",
        0x1000_0000: "user", 0x2000_0000: "PID", 0x4000_0000: "network", 0x0000_0080: "time",
    ]

    private static func checkIsNetworkNamespace(_ fd: Int32, target: NetnsTarget, path: String) throws(NetnsError) {
        let fsType: Int
        switch Sys.filesystemType(fd, path) {
        case .success(let t): fsType = t
        case .failure(let e): throw NetnsError(.system, "cannot check \(path): \(e)")
        }
        if fsType != Int(KNETCAP_NSFS_MAGIC) && fsType != Int(KNETCAP_PROC_SUPER_MAGIC) {
            let stale = path.hasPrefix("/var/run/netns/") || path.hasPrefix("/run/netns/")
                ? " (a file under /var/run/netns whose namespace mount is gone: remove it with `ip netns del \(path.split(separator: "/").last ?? "")`)" : ""
            throw NetnsError(.notANetworkNamespace, "\(path) is not a namespace file\(stale): give a PID, /proc/PID/ns/net or /var/run/netns/NAME")
        }
        switch Sys.namespaceType(fd, path) {
        case .success(let type):
            if type == Int32(KNETCAP_CLONE_NEWNET) { return }
            let name = typeNames[type].map { "a \($0) namespace" } ?? "namespace type \(type)"
            throw NetnsError(.notANetworkNamespace, "\(path) is \(name), not a network namespace: use /proc/PID/ns/net or /var/run/netns/NAME")
        case .failure(let e) where e.errno == ENOTTY || e.errno == EINVAL || e.errno == ENOSYS:
            // Kernels before 4.11 have no NS_GET_NSTYPE: the fd's link names the type.
            switch Sys.readlink("/proc/self/fd/\(fd)") {
            case .success(let link) where link.hasPrefix("net:["): return
            case .success(let link):
                throw NetnsError(.notANetworkNamespace, "\(path) is \(link), not a network namespace (net:[...]): use /proc/PID/ns/net or /var/run/netns/NAME")
            case .failure(let e):
                throw NetnsError(.system, "cannot check the namespace type of \(path): \(e)")
            }
        case .failure(let e):
            throw NetnsError(.system, "cannot check the namespace type of \(path): \(e)")
        }
    }

    /// Whether this is the namespace the calling thread is in already (e.g. a hostNetwork pod,
    /// or `--netns 1` on the host).
    public var isCurrentThreadNamespace: Bool {
        guard let mine = try? NetworkNamespace.open(.path(NetworkNamespace.currentThreadPath)) else { return false }
        return mine.device == device && mine.inode == inode
    }

    /// The calling thread's own namespace file: `/proc/thread-self/ns/net` (Linux >= 3.17),
    /// else `/proc/self/task/TID/ns/net`.
    static var currentThreadPath: String {
        Sys.exists("/proc/thread-self/ns/net") ? "/proc/thread-self/ns/net" : "/proc/self/task/\(Sys.threadID())/ns/net"
    }

    /// Runs `work` inside this network namespace and returns its result.
    ///
    /// `work` runs on a thread created for this call: the thread saves its own namespace
    /// (`/proc/thread-self/ns/net`), enters this one with setns(2), runs `work`, switches
    /// back, and ends. The calling thread waits and is never switched. If switching back
    /// fails, the thread still ends (it is never reused), so no thread of the process is left
    /// in the target namespace, and `work`'s result is returned as usual.
    /// - Throws: `NetnsError` `.permissionDenied` (setns needs CAP_SYS_ADMIN),
    ///   `.notANetworkNamespace`, `.system` (thread creation, saving the namespace); or
    ///   whatever `work` throws.
    public func run<T>(_ work: () throws -> T) throws -> T {
        try runReportingRestore(work).value
    }

    /// `run`, also saying whether the thread got back to its own namespace. `restoreFrom`
    /// replaces the saved namespace descriptor (tests use an invalid one to see a failed
    /// restore end the thread).
    func runReportingRestore<T>(restoreFrom: Int32? = nil, _ work: () throws -> T) throws -> (value: T, restored: Bool) {
        let outcome = ThreadOutcome<T>()
        let nsfd = fd, nsPath = path, target = target
        try withoutActuallyEscaping(work) { work in
            try runOnNewThread {
                let savedPath = NetworkNamespace.currentThreadPath
                let saved: Int32
                switch Sys.openReadOnly(savedPath) {
                case .success(let d): saved = d
                case .failure(let e):
                    outcome.result = .failure(NetnsError(.system, "cannot save this thread's network namespace (\(e)); nothing was entered"))
                    return
                }
                defer { Sys.close(saved) }
                if case .failure(let e) = Sys.setns(nsfd, Int32(KNETCAP_CLONE_NEWNET), nsPath) {
                    outcome.result = .failure(NetworkNamespace.setnsError(e, target: target, path: nsPath))
                    return
                }
                outcome.result = Result { try work() }
                outcome.restored = (try? Sys.setns(restoreFrom ?? saved, Int32(KNETCAP_CLONE_NEWNET), savedPath).get()) != nil
                // Returning ends this thread whether or not it got back: a thread left in the
                // target namespace is never reused.
            }
        }
        guard let result = outcome.result else { throw NetnsError(.system, "the namespace thread ended without a result") }
        return (try result.get(), outcome.restored)
    }

    static func setnsError(_ e: SysError, target: NetnsTarget, path: String) -> NetnsError {
        switch e.errno {
        case EPERM:
            return NetnsError(.permissionDenied, "cannot enter the network namespace of \(target) (setns \(path): \(e.text)): needs CAP_SYS_ADMIN; run knetcap as root (sudo)")
        case EINVAL:
            return NetnsError(.notANetworkNamespace, "\(path) is not a network namespace (setns: \(e.text))")
        default:
            return NetnsError(.system, "cannot enter the network namespace of \(target): \(e)")
        }
    }

    /// Replaces this process with `executable` run with `arguments` (argv, the program name
    /// first) in this network namespace only, like `nsenter -n`: the calling thread enters
    /// the namespace with setns(2), then execv(2)s; the new program keeps every other
    /// namespace, the environment, the descriptors and the signal mask. Returns only on
    /// failure, with the calling thread back in its own namespace (if even that fails, the
    /// error says so and the caller must exit).
    /// - Returns: `NetnsError` `.permissionDenied` (setns: needs CAP_SYS_ADMIN), `.system`
    ///   (execv failed: `errno` is left set, ENOENT / EACCES tell "not found" from "not
    ///   executable").
    public func exec(_ executable: String, _ arguments: [String]) -> NetnsError {
        let savedPath = NetworkNamespace.currentThreadPath
        let saved: Int32
        switch Sys.openReadOnly(savedPath) {
        case .success(let d): saved = d
        case .failure(let e): return NetnsError(.system, "cannot save this thread's network namespace (\(e)); nothing was entered")
        }
        defer { Sys.close(saved) }
        if case .failure(let e) = Sys.setns(fd, Int32(KNETCAP_CLONE_NEWNET), path) {
            return NetworkNamespace.setnsError(e, target: target, path: path)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        _ = execv(executable, &argv)
        let e = errno
        if case .failure(let r) = Sys.setns(saved, Int32(KNETCAP_CLONE_NEWNET), savedPath) {
            return NetnsError(.system, "cannot run \(executable): \(String(cString: strerror(e))); and cannot return to knetcap's own network namespace (\(r))")
        }
        errno = e
        return NetnsError(.system, "cannot run \(executable): \(String(cString: strerror(e)))")
    }
}

/// What the namespace thread hands back: written by that thread, read after it was joined.
private final class ThreadOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    var restored = false
}

/// Runs `body` on a new thread (pthread_create) and waits for it to end (pthread_join).
/// - Throws: `NetnsError.system` when the thread cannot be created.
func runOnNewThread(_ body: @escaping () -> Void) throws(NetnsError) {
    final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    let job = Unmanaged.passRetained(Job(body))
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, job.toOpaque())
    if rc != 0 {
        job.release()
        throw NetnsError(.system, "cannot start a thread for the network namespace: \(String(cString: strerror(rc)))")
    }
    pthread_join(thread, nil)
}
