import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong talking to the cluster, as one line.
public struct KubeError: Error, Sendable {
    public enum Kind: Sendable { case kubectlFailed, notFound, podSecurity, usage }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
}

/// The real `kubectl`, run as a child process with the user's `--context`/`--kubeconfig`
/// (kubectl plugin convention: the plugin passes the global flags it was given through).
public struct Kubectl: Sendable {
    /// `kubectl` on PATH, or `KNETCAP_KUBECTL`.
    public var executable: String
    /// `--context X`, `--kubeconfig Y`, `--request-timeout Z`, as given.
    public var globalFlags: [String]

    public init(globalFlags: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.globalFlags = globalFlags
        executable = environment["KNETCAP_KUBECTL"] ?? Self.onPath("kubectl", environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") ?? "kubectl"
    }

    static func onPath(_ name: String, _ path: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// The command line, for messages: `kubectl get pod web -n default -o json`.
    public func describe(_ args: [String]) -> String { (["kubectl"] + globalFlags + args).joined(separator: " ") }

    /// Runs `kubectl ARGS` (standard input `input`), returning its standard output.
    /// - Throws: `KubeError.notFound` when kubectl says NotFound, else `.kubectlFailed` with
    ///   its first error line and the command.
    public func run(_ args: [String], input: String? = nil) throws(KubeError) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = globalFlags + args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        do { try p.run() } catch {
            throw KubeError(.kubectlFailed, "cannot run \(executable): \(error.localizedDescription) (is kubectl installed and on PATH?)")
        }
        if let input {
            inp.fileHandleForWriting.write(Data(input.utf8))
            try? inp.fileHandleForWriting.close()
        }
        // Both pipes drained at once: a large `get -o json` must not block on a full stderr.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        Thread { errBox.data = errHandle.readDataToEndOfFile(); done.signal() }.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        let errData = errBox.data
        p.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            // kubectl's own error line, not client-go's klog lines (`E1202 00:20:20.003241 ...`).
            let lines = stderr.split(separator: "\n").map(String.init).filter { !Self.isKlogLine($0) && !$0.isEmpty }
            let line = lines.first { $0.hasPrefix("Error") || $0.hasPrefix("error") || $0.hasPrefix("The connection") }
                ?? lines.last ?? stderr.split(separator: "\n").first.map(String.init) ?? "exit status \(p.terminationStatus)"
            let kind: KubeError.Kind = stderr.contains("NotFound") || stderr.contains("not found") ? .notFound : .kubectlFailed
            throw KubeError(kind, "`\(describe(args))` failed: \(line)")
        }
        return String(decoding: o, as: UTF8.self)
    }

    /// A klog line (`E1202 00:20:20.003241   25096 file.go:265] ...`): severity letter, MMDD, time.
    static func isKlogLine(_ l: String) -> Bool {
        let b = Array(l.utf8.prefix(6))
        return b.count == 6 && [0x45, 0x57, 0x49, 0x46].contains(b[0]) && b[1...4].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && b[5] == 0x20
    }

    /// Runs `kubectl get ARGS -o json` and parses the object.
    public func getJSON(_ args: [String]) throws(KubeError) -> [String: Any] {
        let text = try run(["get"] + args + ["-o", "json"])
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw KubeError(.kubectlFailed, "`\(describe(["get"] + args + ["-o", "json"]))` did not print a JSON object")
        }
        return obj
    }

    /// Starts `kubectl ARGS` with each line of its standard output handed to `line` (on a
    /// thread of its own) until it ends; `ended` gets its exit status.
    public func stream(_ args: [String], line: @escaping @Sendable (String) -> Void, ended: @escaping @Sendable (Int32) -> Void) throws(KubeError) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = globalFlags + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw KubeError(.kubectlFailed, "cannot run \(executable): \(error.localizedDescription)") }
        let handle = out.fileHandleForReading
        Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let nl = pending.firstIndex(of: 0x0a) {
                    line(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...nl)
                }
            }
            if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
            p.waitUntilExit()
            ended(p.terminationStatus)
        }.start()
        return p
    }
}

/// A pod as `kubectl get pod -o json` gives it.
func podTarget(_ obj: [String: Any]) -> PodTarget {
    let meta = obj["metadata"] as? [String: Any] ?? [:]
    let spec = obj["spec"] as? [String: Any] ?? [:]
    let status = obj["status"] as? [String: Any] ?? [:]
    let statuses = status["containerStatuses"] as? [[String: Any]] ?? []
    let running = statuses.first { ($0["state"] as? [String: Any])?["running"] != nil } ?? statuses.first
    let id = (running?["containerID"] as? String).map { $0.split(separator: "/").last.map(String.init) ?? $0 }
    return PodTarget(namespace: meta["namespace"] as? String ?? "default", name: meta["name"] as? String ?? "",
                     node: spec["nodeName"] as? String ?? "", containerID: id, hostNetwork: spec["hostNetwork"] as? Bool ?? false)
}

/// What to capture, as the plugin's flags name it.
public struct Targets: Sendable, Equatable {
    public var pods: [String] = []
    public var selector: String? = nil
    public var nodes: [String] = []
    public var allNodes = false
    /// The pods' namespace (`-n`), or every namespace (`-A`).
    public var namespace = "default"
    public var allNamespaces = false
    public init() {}
}

/// The Jobs' plans: pods resolved to their nodes with kubectl (each pod running, with a
/// container id), named nodes checked to exist; one plan per node, in the order met. A node
/// named with `--node` and holding selected pods captures those pods.
/// - Throws: `KubeError` (`.notFound` naming the pod or node; `.usage` for a pod not
///   scheduled or not running; selectors that match nothing).
public func resolvePlans(_ t: Targets, kubectl k: Kubectl) throws(KubeError) -> [NodePlan] {
    var pods: [PodTarget] = []
    let ns = t.allNamespaces ? ["-A"] : ["-n", t.namespace]
    for name in t.pods {
        do { pods.append(podTarget(try k.getJSON(["pod", name] + ns.filter { $0 != "-A" }))) } catch {
            throw error.kind == .notFound ? KubeError(.notFound, "no pod \(name) in namespace \(t.namespace) (\(error.message))") : error
        }
    }
    if let sel = t.selector {
        let list: [String: Any]
        do { list = try k.getJSON(["pods"] + ns + ["-l", sel]) } catch {
            // The API server parses selectors (400 BadRequest "unable to parse requirement").
            if error.message.contains("unable to parse") || error.message.contains("BadRequest") || error.message.contains("invalid") {
                throw KubeError(.usage, "-l \(sel): not a label selector (\(error.message))")
            }
            throw error
        }
        let items = (list["items"] as? [[String: Any]] ?? []).map(podTarget)
        if items.isEmpty { throw KubeError(.notFound, "no pod matches -l \(sel) in \(t.allNamespaces ? "any namespace" : "namespace \(t.namespace)")") }
        pods += items
    }
    for p in pods {
        if p.node.isEmpty { throw KubeError(.usage, "pod \(p.namespace)/\(p.name) is not scheduled on a node yet") }
        if p.containerID == nil && !p.hostNetwork { throw KubeError(.usage, "pod \(p.namespace)/\(p.name) has no running container (kubectl get pod \(p.name) -n \(p.namespace))") }
    }
    var nodes: [String] = []
    for n in t.nodes {
        do { _ = try k.getJSON(["node", n]) } catch {
            throw error.kind == .notFound ? KubeError(.notFound, "no node \(n) (\(error.message))") : error
        }
        nodes.append(n)
    }
    if t.allNodes {
        let list = try k.getJSON(["nodes"])
        nodes += (list["items"] as? [[String: Any]] ?? []).compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
    }
    var plans: [NodePlan] = []
    func plan(_ node: String) -> Int {
        if let i = plans.firstIndex(where: { $0.node == node }) { return i }
        plans.append(NodePlan(node: node, pods: []))
        return plans.count - 1
    }
    for p in pods {
        let i = plan(p.node)
        if !plans[i].pods.contains(p) { plans[i].pods.append(p) }
    }
    for n in nodes { _ = plan(n) }
    return plans
}

/// The Pod Security check: the Jobs' namespace must admit privileged pods. Absent, it is
/// created labelled `privileged` (`namespaceManifest`); present with an `enforce` level other
/// than `privileged`, capture pods would be refused, and the error says the exact fix.
/// Returns whether it was created.
/// - Throws: `KubeError.podSecurity` with the `kubectl label` command that fixes it.
public func ensureNamespace(_ name: String, kubectl k: Kubectl) throws(KubeError) -> Bool {
    let ns: [String: Any]
    do { ns = try k.getJSON(["namespace", name]) } catch {
        guard error.kind == .notFound else { throw error }
        _ = try k.run(["create", "-f", "-"], input: (try? yamlDocuments([namespaceManifest(name)])) ?? "")
        return true
    }
    let labels = (ns["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
    let level = labels["pod-security.kubernetes.io/enforce"] ?? "privileged"
    if !["privileged", "baseline", "restricted"].contains(level) {
        throw KubeError(.podSecurity, "namespace \(name) has pod-security.kubernetes.io/enforce=\(level), which is not a Pod Security level (privileged, baseline, restricted), so capture pods are not admitted as privileged; allow them with: \(k.describe(["label", "--overwrite", "namespace", name, "pod-security.kubernetes.io/enforce=privileged"]))")
    }
    if level != "privileged" {
        throw KubeError(.podSecurity, "namespace \(name) enforces the \(level) Pod Security level, which refuses capture pods (hostPID, hostNetwork, NET_RAW/NET_ADMIN/SYS_ADMIN/SYS_PTRACE); allow them with: \(k.describe(["label", "--overwrite", "namespace", name, "pod-security.kubernetes.io/enforce=privileged"]))")
    }
    return false
}
