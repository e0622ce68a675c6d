import Foundation

/// A container runtime CLI that can turn a container id into the PID of its process.
public enum ContainerRuntimeCLI: String, Sendable, CaseIterable {
    /// `crictl` (CRI: containerd, CRI-O): `crictl inspect ID` prints JSON whose `info.pid` is
    /// the container's PID and `status.state` is `CONTAINER_RUNNING` while it runs.
    case crictl
    /// `docker`: `docker inspect -f {{.State.Pid}} ID` prints the PID (0 when not running).
    case docker

    /// The exact command knetcap runs for `id` (argv; no shell is involved).
    public func inspectCommand(_ id: String) -> [String] {
        switch self {
        case .crictl: return ["crictl", "inspect", id]
        case .docker: return ["docker", "inspect", "-f", "{{.State.Pid}}", id]
        }
    }

    /// Where to look the container up by hand, for messages.
    var listCommand: String {
        switch self {
        case .crictl: return "crictl ps -a"
        case .docker: return "docker ps -a --no-trunc"
        }
    }
}

/// A container resolved to a PID.
public struct ResolvedContainer: Sendable {
    /// The id or prefix given.
    public var query: String
    /// The full id when the runtime reported it (crictl's `status.id`), else `query`.
    public var id: String
    /// The container's name when reported (crictl's `status.metadata.name`).
    public var name: String?
    /// The PID of the container's process, in knetcap's PID namespace.
    public var pid: Int32
    /// Its pod's name and namespace when the runtime reports the kubelet's labels
    /// (`io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`).
    public var pod: (name: String, namespace: String)?
    /// The CLI that answered.
    public var runtime: ContainerRuntimeCLI
    /// The command that answered (argv).
    public var command: [String]
    /// Every command run for this container, in order (one per runtime CLI tried).
    public var commands: [[String]]
}

/// A pod looked up with kubectl.
public struct PodInfo: Sendable {
    public var name: String
    public var namespace: String
    /// `spec.nodeName`.
    public var node: String
    /// `spec.hostNetwork`: the pod shares its node's network namespace.
    public var hostNetwork: Bool
    /// The container chosen (first in `spec.containers`, or `--container-name`).
    public var containerName: String
    /// Its `containerID` without the scheme.
    public var containerID: String
    /// The scheme of `containerID`: `containerd`, `cri-o`, `docker`.
    public var runtimeName: String
    /// Why another container than the first was chosen, if so.
    public var note: String?
    /// The commands run (kubectl get pod, and kubectl get node when the node name alone did
    /// not tell).
    public var commands: [[String]]
}

/// What `--container` / `--pod` resolved to.
public struct NamespaceResolution: Sendable {
    /// The namespace to enter: `.pid` of the container's process.
    public var target: NetnsTarget
    public var pod: PodInfo?
    public var container: ResolvedContainer
    /// Every external command run, in order.
    public var commands: [[String]] { (pod?.commands ?? []) + container.commands }
}

/// This machine as a Kubernetes node: its names (uname(2) nodename, and `KNETCAP_NODE_NAME`
/// when set, for a kubelet started with `--hostname-override`) and its addresses (for
/// matching a node's `status.addresses`).
public struct LocalNode: Sendable {
    public var names: [String]
    public var addresses: [String]

    public init(names: [String], addresses: [String]) {
        self.names = names
        self.addresses = addresses
    }

    /// uname -n, `KNETCAP_NODE_NAME`, and the addresses of the host's interfaces (getifaddrs).
    public static func current() -> LocalNode {
        var names: [String] = []
        if let n = ProcessInfo.processInfo.environment["KNETCAP_NODE_NAME"], !n.isEmpty { names.append(n) }
        var u = utsname()
        if uname(&u) == 0 {
            let nodename = withUnsafeBytes(of: &u.nodename) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !nodename.isEmpty { names.append(nodename) }
        }
        return LocalNode(names: names, addresses: localAddresses())
    }

    /// Whether `node` is one of `names`, ignoring case, or has the same first label
    /// (`ip-10-0-1-5.ec2.internal` and `ip-10-0-1-5`).
    public func isNamed(_ node: String) -> Bool {
        let n = node.lowercased()
        return names.contains { name in
            let m = name.lowercased()
            return m == n || m.split(separator: ".").first == n.split(separator: ".").first
        }
    }
}

/// IPv4 and IPv6 addresses of this namespace's interfaces (getifaddrs(3)).
func localAddresses() -> [String] {
    var head: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&head) == 0, let first = head else { return [] }
    defer { freeifaddrs(head) }
    var out: [String] = []
    var p: UnsafeMutablePointer<ifaddrs>? = first
    while let ifa = p {
        defer { p = ifa.pointee.ifa_next }
        guard let sa = ifa.pointee.ifa_addr else { continue }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var a = sin.pointee.sin_addr
                _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
            }
        case AF_INET6:
            sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var a = sin6.pointee.sin6_addr
                _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
            }
        default: continue
        }
        out.append(String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return out
}

/// Resolves `--container ID` and `--pod NAME` to the PID whose network namespace to enter,
/// by running the cluster's own CLIs (the exact commands are in README.md, "Capturing inside
/// a pod"):
///
///     crictl inspect ID                      -> JSON: info.pid, status.state, status.id
///     docker inspect -f {{.State.Pid}} ID    -> the PID (0: not running)
///     kubectl get pod NAME -n NS -o json     -> spec.nodeName, spec.containers, status.containerStatuses
///     kubectl get node NODE -o json          -> status.addresses (only when the node's name is not this host's)
public struct Resolver: Sendable {
    public var tools: ToolRunner

    public init(tools: ToolRunner = ToolRunner()) { self.tools = tools }

    // MARK: Containers

    private enum Answer {
        case found(pid: Int32, id: String?, name: String?, state: String?, pod: (name: String, namespace: String)? = nil)
        case notFound(String)
        case ambiguous(String)
        case failed(String)
    }

    /// Resolves a container id (or unique prefix) to its PID, asking each runtime CLI of
    /// `order` that is on PATH until one knows the container.
    /// - Throws: `NetnsError` `.noContainerRuntime` (none on PATH), `.noSuchContainer`,
    ///   `.ambiguousContainer`, `.containerNotRunning`, `.runtimeFailed`.
    public func container(_ id: String, order: [ContainerRuntimeCLI] = [.crictl, .docker],
                          runtimeName: String? = nil) throws(NetnsError) -> ResolvedContainer {
        let present = order.compactMap { cli in tools.locate(cli.rawValue).map { (cli, $0) } }
        let names = order.map(\.rawValue)
        guard !present.isEmpty else {
            let which = names.count == 1 ? "\(names[0]) is not" : "neither \(names.joined(separator: " nor ")) is"
            let why = runtimeName.map { " (the container runs in \($0))" } ?? ""
            throw NetnsError(.noContainerRuntime, "container \(id): no container runtime CLI found: \(which) on PATH (\(tools.searchPath))\(why); install \(names.count == 1 ? names[0] : "crictl (containerd, CRI-O) or docker"), or give --netns PID")
        }
        var commands: [[String]] = []
        var notFound: [String] = []
        var failures: [String] = []
        for (cli, exe) in present {
            let command = cli.inspectCommand(id)
            commands.append(command)
            let out = try tools.run(exe, command)
            let shown = "`\(shellQuoted(command))`"
            switch answer(cli, out) {
            case .found(let pid, let fullID, let name, let state, let pod):
                if pid <= 0 || (state != nil && state != "CONTAINER_RUNNING") {
                    throw NetnsError(.containerNotRunning, "container \(id) is not running (\(shown): \(state ?? "pid \(pid)")): start it, or pick a running container (\(cli.listCommand))")
                }
                return ResolvedContainer(query: id, id: fullID ?? id, name: name, pid: pid, pod: pod, runtime: cli,
                                         command: command, commands: commands)
            case .ambiguous(let line):
                throw NetnsError(.ambiguousContainer, "container id \(id) matches more than one container (\(shown): \(line)): give more of the id (see \(cli.listCommand))")
            case .notFound(let line):
                notFound.append("\(shown): \(line)")
            case .failed(let line):
                failures.append("\(shown): \(line)")
            }
        }
        if !failures.isEmpty {
            throw NetnsError(.runtimeFailed, "container \(id): \((failures + notFound).joined(separator: "; ")); check that the runtime is running and its CLI can reach it (crictl: /etc/crictl.yaml runtime-endpoint; docker: DOCKER_HOST)")
        }
        throw NetnsError(.noSuchContainer, "no container \(id): \(notFound.joined(separator: "; ")); see \(present.map { "`\($0.0.listCommand)`" }.joined(separator: " or ")) for the ids")
    }

    private func answer(_ cli: ContainerRuntimeCLI, _ out: ToolRunner.Output) -> Answer {
        let line = out.errorLine
        if out.status != 0 {
            let text = (out.stderr + "\n" + out.stdout).lowercased()
            if text.contains("multiple ids") || text.contains("ambiguous") || text.contains("more than one") { return .ambiguous(line) }
            if text.contains("cannot connect") || text.contains("connect:") || text.contains("dial unix")
                || text.contains("permission denied") || text.contains("connection refused") || out.status < 0 {
                return .failed(line)
            }
            if text.contains("not found") || text.contains("notfound") || text.contains("no such object")
                || text.contains("no such container") || text.contains("does not exist") {
                return .notFound(line)
            }
            if cli == .docker && (text.contains("map has no entry for key \"state\"") || text.contains("can't evaluate field state")) {
                return .notFound("\(line) (an image or other object, not a container)")
            }
            return .failed(line.isEmpty ? "exit status \(out.status)" : line)
        }
        switch cli {
        case .docker:
            let text = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let pid = Int32(text) else { return .failed("unexpected output \(text.debugDescription) (expected a PID)") }
            return .found(pid: pid, id: nil, name: nil, state: nil)
        case .crictl:
            guard let data = out.stdout.data(using: .utf8),
                  let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                return .failed("output is not JSON: \(String(out.stdout.prefix(80)).debugDescription)")
            }
            let status = object["status"] as? [String: Any]
            guard let info = object["info"] as? [String: Any], let pid = (info["pid"] as? NSNumber)?.int32Value else {
                return .failed("no info.pid in its JSON (is the runtime's verbose info disabled?)")
            }
            let name = (status?["metadata"] as? [String: Any])?["name"] as? String
            // The kubelet's labels on every container it creates (pkg/kubelet/types/labels.go).
            let labels = status?["labels"] as? [String: String] ?? [:]
            let pod = labels["io.kubernetes.pod.name"].flatMap { n in labels["io.kubernetes.pod.namespace"].map { (n, $0) } }
            return .found(pid: pid, id: status?["id"] as? String, name: name, state: status?["state"] as? String, pod: pod)
        }
    }

    // MARK: Pods

    /// Looks the pod up with `kubectl get pod NAME -n NAMESPACE -o json` and chooses its
    /// container: `containerName`, else the first of `spec.containers` (all containers of a
    /// pod share one network namespace; if the first is not running, the first running one).
    /// - Throws: `NetnsError` `.kubectlFailed` (not on PATH, or another failure),
    ///   `.noSuchPod`, `.noSuchContainer` (no container of that name),
    ///   `.containerNotRunning` (not scheduled, or no running container).
    public func pod(_ name: String, namespace: String, containerName: String?) throws(NetnsError) -> PodInfo {
        let command = ["kubectl", "get", "pod", name, "-n", namespace, "-o", "json"]
        let shown = "`\(shellQuoted(command))`"
        guard let kubectl = tools.locate("kubectl") else {
            throw NetnsError(.kubectlFailed, "pod \(namespace)/\(name): kubectl is not on PATH (\(tools.searchPath)): install kubectl with access to the cluster, or give --container ID or --netns PID")
        }
        let out = try tools.run(kubectl, command)
        if out.status != 0 {
            let text = out.stderr + out.stdout
            if text.contains("(NotFound)") || text.contains("not found") {
                throw NetnsError(.noSuchPod, "pod \(name) not found in namespace \(namespace) (\(shown): \(out.errorLine)): check the name with `kubectl get pods -n \(namespace)`, or give the pod's namespace with -n NAMESPACE")
            }
            throw NetnsError(.kubectlFailed, "pod \(namespace)/\(name): \(shown) failed: \(out.errorLine.isEmpty ? "exit status \(out.status)" : out.errorLine)")
        }
        guard let data = out.stdout.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw NetnsError(.kubectlFailed, "pod \(namespace)/\(name): \(shown) did not print a JSON object")
        }
        let spec = object["spec"] as? [String: Any] ?? [:]
        let status = object["status"] as? [String: Any] ?? [:]
        let phase = status["phase"] as? String
        let node = spec["nodeName"] as? String ?? ""
        if node.isEmpty {
            throw NetnsError(.containerNotRunning, "pod \(namespace)/\(name) is not scheduled to a node yet (phase \(phase ?? "unknown")): see `kubectl describe pod \(name) -n \(namespace)`")
        }
        let declared = (spec["containers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let statuses = status["containerStatuses"] as? [[String: Any]] ?? []
        func statusOf(_ c: String) -> [String: Any]? { statuses.first { $0["name"] as? String == c } }
        func idOf(_ c: String) -> String? {
            guard let s = statusOf(c), let id = s["containerID"] as? String, !id.isEmpty,
                  (s["state"] as? [String: Any])?["running"] != nil else { return nil }
            return id
        }
        func why(_ c: String) -> String {
            guard let state = statusOf(c)?["state"] as? [String: Any], let (k, v) = state.first else { return "no status yet" }
            let reason = (v as? [String: Any])?["reason"] as? String
            return reason.map { "\(k): \($0)" } ?? k
        }
        var chosen: String
        var note: String?
        if let c = containerName {
            guard declared.contains(c) || statusOf(c) != nil else {
                throw NetnsError(.noSuchContainer, "pod \(namespace)/\(name) has no container \(c) (its containers: \(declared.joined(separator: ", "))): give one of those with --container-name")
            }
            chosen = c
        } else {
            guard let first = declared.first ?? (statuses.first?["name"] as? String) else {
                throw NetnsError(.containerNotRunning, "pod \(namespace)/\(name) lists no containers (phase \(phase ?? "unknown"))")
            }
            chosen = first
            if idOf(first) == nil, let running = declared.first(where: { idOf($0) != nil }) {
                note = "container \(first) is not running (\(why(first))); using \(running), which shares the pod's network namespace"
                chosen = running
            }
        }
        guard let full = idOf(chosen) else {
            throw NetnsError(.containerNotRunning, "container \(chosen) of pod \(namespace)/\(name) is not running (\(why(chosen)); phase \(phase ?? "unknown")): see `kubectl describe pod \(name) -n \(namespace)`")
        }
        let parts = full.components(separatedBy: "://")
        let runtime = parts.count == 2 ? parts[0] : "unknown"
        let id = parts.count == 2 ? parts[1] : full
        return PodInfo(name: name, namespace: namespace, node: node, hostNetwork: spec["hostNetwork"] as? Bool ?? false,
                       containerName: chosen, containerID: id, runtimeName: runtime, note: note, commands: [command])
    }

    /// Checks that `pod` runs on this machine: its node name is one of `local.names` (or has
    /// the same first label), or else one of the node's `status.addresses` (from
    /// `kubectl get node NODE -o json`) is this machine's hostname or one of its addresses.
    /// - Parameter rerun: the command to run on the pod's node instead, for the message.
    /// - Throws: `NetnsError.podOnAnotherNode`.
    public func checkOnThisNode(_ pod: inout PodInfo, local: LocalNode, rerun: String) throws(NetnsError) {
        if local.isNamed(pod.node) { return }
        var detail = ""
        let command = ["kubectl", "get", "node", pod.node, "-o", "json"]
        if let kubectl = tools.locate("kubectl") {
            pod.commands.append(command)
            let out = try tools.run(kubectl, command)
            if out.status == 0, let data = out.stdout.data(using: .utf8),
               let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                let addresses = ((object["status"] as? [String: Any])?["addresses"] as? [[String: Any]] ?? [])
                for a in addresses {
                    guard let value = a["address"] as? String else { continue }
                    if a["type"] as? String == "Hostname" ? local.isNamed(value) : local.addresses.contains(value) { return }
                }
                let shown = addresses.compactMap { $0["address"] as? String }
                detail = shown.isEmpty ? "" : "; its addresses \(shown.joined(separator: ", ")) are not this machine's"
            } else {
                detail = "; `\(shellQuoted(command))` failed: \(out.errorLine)"
            }
        }
        let here = local.names.last ?? "unknown"
        throw NetnsError(.podOnAnotherNode, "pod \(pod.namespace)/\(pod.name) runs on node \(pod.node), not on this node (\(here)\(detail)): run on \(pod.node): \(rerun) (if this machine is \(pod.node), set KNETCAP_NODE_NAME=\(pod.node))")
    }

    /// `--pod`: the pod, the node check, and its container's PID through the runtime its
    /// `containerID` names (`docker://` -> docker, then crictl; `containerd://`, `cri-o://`
    /// -> crictl).
    public func resolvePod(_ name: String, namespace: String, containerName: String?, local: LocalNode,
                           rerun: String) throws(NetnsError) -> NamespaceResolution {
        var pod = try self.pod(name, namespace: namespace, containerName: containerName)
        try checkOnThisNode(&pod, local: local, rerun: rerun)
        let order: [ContainerRuntimeCLI] = pod.runtimeName == "docker" ? [.docker, .crictl]
            : (pod.runtimeName == "containerd" || pod.runtimeName == "cri-o") ? [.crictl] : [.crictl, .docker]
        let c = try container(pod.containerID, order: order, runtimeName: "\(pod.runtimeName) (\(pod.runtimeName)://)")
        return NamespaceResolution(target: .pid(c.pid), pod: pod, container: c)
    }

    /// `--container`: the PID through crictl, else docker.
    public func resolveContainer(_ id: String) throws(NetnsError) -> NamespaceResolution {
        let c = try container(id)
        return NamespaceResolution(target: .pid(c.pid), pod: nil, container: c)
    }
}
