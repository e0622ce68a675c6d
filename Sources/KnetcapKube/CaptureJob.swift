import Foundation
import Yams

/// A pod to capture, as `kubectl get pod -o json` describes it.
public struct PodTarget: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// `spec.nodeName` (empty while unscheduled).
    public var node: String
    /// `status.containerStatuses[].containerID` of a running container, runtime prefix
    /// stripped (`containerd://0123...` → `0123...`); nil when none runs yet.
    public var containerID: String?
    /// `spec.hostNetwork`: the pod shares its node's network namespace.
    public var hostNetwork: Bool
    public init(namespace: String, name: String, node: String, containerID: String?, hostNetwork: Bool) {
        self.namespace = namespace; self.name = name; self.node = node; self.containerID = containerID; self.hostNetwork = hostNetwork
    }
}

/// What one node's Job captures: the node's own interfaces (`pods` empty) or those pods.
public struct NodePlan: Sendable, Equatable {
    public var node: String
    public var pods: [PodTarget]
    public init(node: String, pods: [PodTarget]) { self.node = node; self.pods = pods }
}

/// The settings every capture Job of one run shares.
public struct JobSettings: Sendable, Equatable {
    /// The namespace the Jobs run in (labelled for the `privileged` Pod Security level).
    public var namespace = "knetcap-system"
    /// knetcap's own image (built from the repository's `Containerfile`).
    public var image = "ghcr.io/knetcap/knetcap:latest"
    /// Capture length in seconds: knetcap is sent SIGINT then (`timeout -s INT`), so its file is
    /// complete and its diagnosis printed.
    public var durationSeconds = 60
    /// `-c`: stop after this many packets (per pod, or for the node).
    public var count: Int? = nil
    /// `-C` (millions of bytes) and `-W` (files) for the capture file.
    public var fileSizeMB: Int? = nil
    public var fileCount: Int? = nil
    /// The BPF capture filter's words.
    public var filter: [String] = []
    /// The container runtime's CRI socket on the node, mounted for `crictl` (container id → PID).
    public var criSocket = "/run/containerd/containerd.sock"
    /// What identifies this run's Jobs (label `knetcap.io/run`): 5 lowercase letters and digits.
    public var runID = "00000"
    /// Seconds the pod waits after the capture for its file to be copied (the plugin deletes
    /// the Job once it has it); added to the duration for `activeDeadlineSeconds`.
    public var copyWindowSeconds = 300
    /// `ttlSecondsAfterFinished`: a Job the plugin could not delete is removed by Kubernetes.
    public var ttlSecondsAfterFinished = 600
    public init() {}
}

/// The capture file a Job leaves in its pod, for `kubectl cp`.
public let jobOutputDirectory = "/knetcap"

/// The label every object of a run carries, and its selector.
public let runLabel = "knetcap.io/run"

/// One capture Job: `metadata.name`, its manifest, and the file its pod writes.
public struct CaptureJob: @unchecked Sendable {  // its manifest is a value (Yams.Node) never shared mutably
    public var name: String
    public var node: String
    /// Where the pod leaves the node's pcapng (`/knetcap/NODE.pcapng`).
    public var outputPath: String
    /// The manifest, as kubectl takes it (`kubectl create -f -`) and `--dry-run` prints it.
    public var manifest: Node

    /// The Job for `plan`: pinned to its node (`spec.nodeName`, every taint tolerated),
    /// `hostPID` and `hostNetwork` (to reach the pods' network namespaces and the node's
    /// interfaces), the capabilities capture and setns need (NET_RAW, NET_ADMIN, SYS_ADMIN,
    /// SYS_PTRACE), the CRI socket mounted when pods are captured, `backoffLimit: 0`,
    /// `activeDeadlineSeconds` (duration + copy window), `ttlSecondsAfterFinished`.
    public init(plan: NodePlan, settings s: JobSettings) {
        node = plan.node
        name = Self.jobName(run: s.runID, node: plan.node)
        outputPath = "\(jobOutputDirectory)/\(Self.fileStem(plan.node)).pcapng"
        let labels = Node([("app.kubernetes.io/name", "knetcap"), ("app.kubernetes.io/managed-by", "kubectl-knetcap"),
                           (runLabel, s.runID), ("knetcap.io/node", Self.labelValue(plan.node))].map { (Node($0.0), Node($0.1)) })
        let pods = plan.pods.filter { !$0.hostNetwork }
        var mounts: [Node] = [map(["name": "out", "mountPath": Node(jobOutputDirectory)])]
        var volumes: [Node] = [map(["name": "out", "emptyDir": map([:])])]
        var env: [Node] = [map(["name": "KNETCAP_NODE", "valueFrom": map(["fieldRef": map(["fieldPath": "spec.nodeName"])])])]
        if !pods.isEmpty {
            mounts.append(map(["name": "cri-socket", "mountPath": Node(s.criSocket)]))
            volumes.append(map(["name": "cri-socket", "hostPath": map(["path": Node(s.criSocket), "type": "Socket"])]))
            env.append(map(["name": "CONTAINER_RUNTIME_ENDPOINT", "value": Node("unix://" + s.criSocket)]))
        }
        let container: Node = map([
            "name": "knetcap",
            "image": Node(s.image),
            "imagePullPolicy": "IfNotPresent",
            "command": seq(["/bin/sh", "-c", Node(Self.script(plan: NodePlan(node: plan.node, pods: pods), output: outputPath, settings: s), Tag(.str), .literal)]),
            "env": seq(env),
            "securityContext": map([
                "capabilities": map(["add": seq(["NET_RAW", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"])]),
            ]),
            "resources": map([
                "requests": map(["cpu": "100m", "memory": "128Mi"]),
                "limits": map(["memory": "512Mi"]),
            ]),
            "volumeMounts": seq(mounts),
        ])
        manifest = map([
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": map(["name": Node(name), "namespace": Node(s.namespace), "labels": labels]),
            "spec": map([
                "backoffLimit": int(0),
                "activeDeadlineSeconds": int(s.durationSeconds + s.copyWindowSeconds),
                "ttlSecondsAfterFinished": int(s.ttlSecondsAfterFinished),
                "template": map([
                    "metadata": map(["labels": labels]),
                    "spec": map([
                        "nodeName": Node(plan.node),
                        "hostPID": bool(true),
                        "hostNetwork": bool(true),
                        "dnsPolicy": "ClusterFirstWithHostNet",
                        "restartPolicy": "Never",
                        "tolerations": seq([map(["operator": "Exists"])]),
                        "containers": seq([container]),
                        "volumes": seq(volumes),
                    ]),
                ]),
            ]),
        ])
    }

    /// The pod's shell script: one knetcap for the node, stopped by SIGINT after the duration,
    /// capturing every selected pod of the node at once (each in its own network namespace,
    /// one `--container ID` each: one handle and one pcapng interface per pod, named after it
    /// from the runtime's kubelet labels, with its metadata) or the node's own interfaces;
    /// a `-C` capture's rotated files merged into the node's (`knetcap merge`); findings as
    /// JSON lines on standard output (the pod's log); then a `{"knetcap_job":...}` line with
    /// the file and status, and a wait for the copy.
    static func script(plan: NodePlan, output: String, settings s: JobSettings) -> String {
        var common: [String] = ["-q", "--json"]
        if let c = s.count { common += ["-c", String(c)] }
        if let c = s.fileSizeMB { common += ["-C", String(c)] }
        if let w = s.fileCount { common += ["-W", String(w)] }
        let filter = s.filter.isEmpty ? "" : " -- " + s.filter.map(shellQuoted).joined(separator: " ")
        let stop = "timeout -s INT \(s.durationSeconds)"
        var lines = ["set -u", "status=0"]
        // What this node's pod captures: the node's interfaces, or each pod's namespace.
        let containers = plan.pods.compactMap(\.containerID).map { "--container \(shellQuoted($0)) " }.joined()
        func knetcap(_ file: String) -> String {
            "\(stop) knetcap \(containers)-i any \(common.joined(separator: " ")) -w \(shellQuoted(file))\(filter)"
        }
        if s.fileSizeMB == nil {
            lines.append(knetcap(output) + " || status=$?")
        } else {
            // -C rotates the capture into several files: into raw/, then one file for the node.
            lines.append("mkdir -p \(jobOutputDirectory)/raw")
            lines.append(knetcap("\(jobOutputDirectory)/raw/capture.pcapng") + " || status=$?")
            lines.append("set --")
            lines.append("for f in \(jobOutputDirectory)/raw/capture.pcapng*; do [ -e \"$f\" ] && set -- \"$@\" \"$f\"; done")
            lines.append("knetcap merge -w \(shellQuoted(output)) \"$@\" || status=$?")
        }
        // timeout's 124 is the capture stopped at its duration, as asked.
        lines.append("[ \"$status\" = 124 ] && status=0")
        lines.append("echo '{\"knetcap_job\":{\"node\":\(jsonString(plan.node)),\"file\":\(jsonString(output)),\"status\":'\"$status\"'}}'")
        lines.append("sleep \(s.copyWindowSeconds)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `knetcap-RUN-NODE`, a DNS-1123 label (lowercase letters, digits, `-`, at most 63): the
    /// node's name lowercased, other characters made `-`, cut with a hash of the whole name
    /// when too long.
    static func jobName(run: String, node: String) -> String {
        let prefix = "knetcap-\(run)-"
        var n = String(node.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        let room = 63 - prefix.count
        if n.count > room { n = String(n.prefix(room - 6)) + "-" + String(fnv1a(node) % 0xfffff, radix: 16).padded(5) }
        n = String(n.drop(while: { $0 == "-" }).reversed().drop(while: { $0 == "-" }).reversed())
        return prefix + (n.isEmpty ? String(fnv1a(node) % 0xfffff, radix: 16) : n)
    }

    /// A label value for `name` (at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends):
    /// the name itself when it is one, else a hash.
    static func labelValue(_ name: String) -> String {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        let ends = name.first.map { $0.isLetter || $0.isNumber } == true && name.last.map { $0.isLetter || $0.isNumber } == true
        return (1...63).contains(name.count) && allowed && ends ? name : "h" + String(fnv1a(name), radix: 16)
    }

    /// A file name for `name` (a node or a pod): `/` and other odd characters made `-`.
    static func fileStem(_ name: String) -> String {
        String(name.map { ($0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0))) ? $0 : "-" })
    }
}

/// A multi-document YAML stream of `jobs` (`---` between documents), as `kubectl create -f -`
/// takes it and `--dry-run` prints it.
public func yamlDocuments(_ nodes: [Node]) throws -> String {
    try nodes.map { try Yams.serialize(node: $0) }.joined(separator: "---\n")
}

/// The namespace the Jobs run in, labelled for the `privileged` Pod Security level (enforce,
/// warn and audit): capture pods use hostPID, hostNetwork and added capabilities, which the
/// baseline and restricted levels refuse.
public func namespaceManifest(_ name: String) -> Node {
    map([
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": map([
            "name": Node(name),
            "labels": map([
                "app.kubernetes.io/managed-by": "kubectl-knetcap",
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "privileged",
                "pod-security.kubernetes.io/audit": "privileged",
            ]),
        ]),
    ])
}

/// A YAML mapping in the order written (kubectl's and the API reference's order).
func map(_ pairs: KeyValuePairs<String, Node>) -> Node { Node(pairs.map { (Node($0.key), $0.value) }) }
/// A YAML sequence.
func seq(_ items: [Node]) -> Node { Node(items) }
/// A YAML integer (`!!int`, plain).
func int(_ i: Int) -> Node { Node(String(i), Tag(.int)) }
/// A YAML boolean (`!!bool`, plain).
func bool(_ b: Bool) -> Node { Node(b ? "true" : "false", Tag(.bool)) }

/// `s` quoted for a POSIX shell (single quotes; a `'` as `'\''`), bare when it is safe.
func shellQuoted(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// `s` as a JSON string literal (RFC 8259 §7).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "'": out += "\\u0027"  // inside the script's single quotes
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// FNV-1a, 32 bits: a short stable hash for names that are too long or not valid labels.
func fnv1a(_ s: String) -> UInt32 {
    var h: UInt32 = 2166136261
    for b in s.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
    return h
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
