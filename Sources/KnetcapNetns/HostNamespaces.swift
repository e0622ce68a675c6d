import Foundation

/// A network namespace of this host, found without entering it: an `ip netns` name
/// (`/var/run/netns/NAME`) or a process in it (`/proc/PID/ns/net`), so a finding can say where
/// an address lives and which `--netns` argument captures there.
public struct HostNamespace: Sendable, Equatable {
    /// How to open it: the `ip netns` file when it has a name, else the first process in it.
    public var target: NetnsTarget
    /// nsfs device and inode (`net:[inode]`, as lsns(8) prints it).
    public var device: UInt64, inode: UInt64
    /// `ip netns` names bound to it (`/var/run/netns/*`), sorted.
    public var names: [String]
    /// The lowest PID in it, and that process's `comm` (`/proc/PID/comm`), when one runs there.
    public var pid: Int32?
    public var command: String?

    /// `net:[4026532451]`.
    public var identity: String { "net:[\(inode)]" }

    /// The `--netns` argument that captures in it: its `ip netns` name, else the PID.
    public var netnsArgument: String { names.first ?? pid.map(String.init) ?? target.namespacePath }

    /// `net:[4026532451] (ip netns blue)` or `net:[4026532451] (pid 4242, coredns)`.
    public var description: String {
        var parts: [String] = []
        if !names.isEmpty { parts.append("ip netns " + names.joined(separator: ", ")) }
        if let pid { parts.append("pid \(pid)" + (command.map { ", \($0)" } ?? "")) }
        return parts.isEmpty ? identity : "\(identity) (\(parts.joined(separator: "; ")))"
    }
}

/// The network namespaces of this host: every `ip netns` name and the namespace of every
/// process (`/proc/[0-9]*/ns/net`, readable by root), one entry per namespace (device and
/// inode), in the order named namespaces first, then by lowest PID.
///
/// - Parameters:
///   - limit: stop after this many namespaces (a node may run hundreds of pods; each entry is
///     then read once per address a finding asks about).
///   - netnsDirectory, proc: where to look (tests may point elsewhere).
/// - Returns: what could be read; a namespace whose file cannot be stat'ed is left out.
public func hostNamespaces(limit: Int = 1024, netnsDirectory: String = "/var/run/netns",
                           proc: String = "/proc") -> [HostNamespace] {
    struct Key: Hashable { var device: UInt64, inode: UInt64 }
    var byKey: [Key: Int] = [:]
    var result: [HostNamespace] = []
    let fm = FileManager.default
    for name in ((try? fm.contentsOfDirectory(atPath: netnsDirectory)) ?? []).sorted() where result.count < limit {
        let path = "\(netnsDirectory)/\(name)"
        guard case .success(let id) = Sys.pathIdentity(path) else { continue }
        let key = Key(device: id.device, inode: id.inode)
        if let i = byKey[key] { result[i].names.append(name); continue }
        byKey[key] = result.count
        result.append(HostNamespace(target: .path(path), device: id.device, inode: id.inode, names: [name]))
    }
    let pids = ((try? fm.contentsOfDirectory(atPath: proc)) ?? []).compactMap { Int32($0) }.sorted()
    for pid in pids {
        guard case .success(let id) = Sys.pathIdentity("\(proc)/\(pid)/ns/net") else { continue }
        let key = Key(device: id.device, inode: id.inode)
        if let i = byKey[key] {
            if result[i].pid == nil { result[i].pid = pid; result[i].command = comm(proc, pid) }
            continue
        }
        guard result.count < limit else { continue }
        byKey[key] = result.count
        result.append(HostNamespace(target: .pid(pid), device: id.device, inode: id.inode, names: [],
                                    pid: pid, command: comm(proc, pid)))
    }
    return result
}

/// This process's network namespace (`/proc/self/ns/net`): nsfs device and inode, or nil.
public func ownNetworkNamespace() -> (device: UInt64, inode: UInt64)? {
    guard case .success(let id) = Sys.pathIdentity("/proc/self/ns/net") else { return nil }
    return id
}

private func comm(_ proc: String, _ pid: Int32) -> String? {
    guard case .success(let t) = Sys.readText("\(proc)/\(pid)/comm") else { return nil }
    let c = t.trimmingCharacters(in: .whitespacesAndNewlines)
    return c.isEmpty ? nil : c
}

extension HostNamespace {
    /// Reads a `/proc/net` file as this namespace sees it (`readFile(_:inNamespaceOf:)`): through
    /// `/proc/PID/net` when a process runs in it, else on a thread entered into it.
    public func readFile(_ path: String) -> String? {
        if let pid, let t = KnetcapNetns.readFile(path, inNamespaceOf: .pid(pid)),
           case .success(let now) = Sys.pathIdentity("/proc/\(pid)/ns/net"), now.device == device, now.inode == inode {
            return t
        }
        return KnetcapNetns.readFile(path, inNamespaceOf: target)
    }
}
