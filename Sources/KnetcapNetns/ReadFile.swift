/// Reads a `/proc` file as the target network namespace sees it, for live corroboration
/// (`/proc/net/netstat`, `/proc/net/snmp`, `/proc/net/tcp`, `/proc/sys/net/...`).
///
/// - `target == nil`: the file as knetcap's own namespace sees it (a plain read).
/// - `/proc/net/X` (or `/proc/self/net/X`) with a `.pid` target: reads `/proc/PID/net/X`,
///   which shows that process's namespace (proc(5)); needs only ptrace read access.
/// - anything else (a `.path` target, `/proc/sys/net/...` sysctls, whose values depend on the
///   reader's namespace): read on a thread inside the namespace (`NetworkNamespace.run`),
///   with `/proc/net/X` read as `/proc/thread-self/net/X` (`/proc/net` follows the process's
///   main thread, not the calling thread).
///
/// Files under `/sys/class/net` are not switched: sysfs shows the namespace it was mounted
/// in, not the reader's.
/// - Returns: the file's text (UTF-8, at most 64 MiB), or nil if the namespace cannot be
///   opened or entered or the file cannot be read.
public func readFile(_ path: String, inNamespaceOf target: NetnsTarget?) -> String? {
    guard let target else { return try? Sys.readText(path).get() }
    if case .pid(let pid) = target, let rest = procNetRelative(path),
       let text = try? Sys.readText("/proc/\(pid)/net/\(rest)").get() {
        return text
    }
    guard let ns = try? NetworkNamespace.open(target) else { return nil }
    let local = procNetRelative(path).map { "/proc/thread-self/net/\($0)" } ?? path
    return try? ns.run { try Sys.readText(local).get() }
}

extension NetworkNamespace {
    /// `readFile(_:inNamespaceOf:)` with this namespace already open: `/proc/PID/net/X` for a
    /// `.pid` target, else `path` read on a thread inside the namespace (`/proc/net/X` as
    /// `/proc/thread-self/net/X`).
    /// - Returns: the text, or nil when it cannot be entered or the file cannot be read.
    public func readFile(_ path: String) -> String? {
        // /proc/PID/net shows the namespace PID is in now: use it only while that is still
        // the namespace this object holds (the process may have exited and its PID been reused).
        if case .pid(let pid) = target, let rest = procNetRelative(path),
           let now = try? Sys.pathIdentity("/proc/\(pid)/ns/net").get(), now.device == device, now.inode == inode,
           let text = try? Sys.readText("/proc/\(pid)/net/\(rest)").get() {
            return text
        }
        let local = procNetRelative(path).map { "/proc/thread-self/net/\($0)" } ?? path
        return try? run { try Sys.readText(local).get() }
    }
}

/// `X` for `/proc/net/X` and `/proc/self/net/X`; nil for other paths.
func procNetRelative(_ path: String) -> String? {
    for prefix in ["/proc/net/", "/proc/self/net/", "/proc/thread-self/net/"] where path.hasPrefix(prefix) {
        let rest = String(path.dropFirst(prefix.count))
        return rest.isEmpty || rest.contains("..") ? nil : rest
    }
    return nil
}
