import ArgumentParser
import Foundation
import KnetcapCapture
import KnetcapKube
import KnetcapReport
#if canImport(Glibc)
import Glibc
#endif

/// `kubectl knetcap ...`: the same binary, run as `kubectl-knetcap` (kubectl finds plugins by
/// that name on PATH). `-n` is the Kubernetes namespace there, and `--context`/`--kubeconfig`
/// pass through to kubectl, as kubectl plugins do.
enum KubectlPlugin {
    static let help = """
        kubectl knetcap: capture and diagnose on many nodes through Kubernetes Jobs.

        Usage:
          kubectl knetcap capture [--pod NAME]... [-l SELECTOR] [--node NAME]... [--all-nodes]
                                  [-n NAMESPACE | -A] [--duration 30s] [-c N] [-C MB -W N]
                                  [--image IMAGE] [--dry-run] [-w MERGED.pcapng] [-- FILTER...]

        One Job per node captures the selected pods of that node (each in its own network
        namespace) or the node's interfaces; findings are shown as they come, with the node;
        each node's pcapng is copied back, the Jobs deleted. See kubectl knetcap capture --help.
        """

    static func main(_ arguments: [String]) -> Never {
        errorPrefix = "kubectl-knetcap"
        switch arguments.first {
        case nil, "help", "-h", "--help":
            print(help)
            exit(0)
        case "capture":
            let rest = Array(arguments.dropFirst())
            if rest == ["help"] { print(PluginCapture.helpMessage()); exit(0) }
            execute(PluginCapture.self, rest.map { $0 == "--dry-run=client" ? "--dry-run" : $0 })
        case let c?:
            fail(.usage, "kubectl knetcap: unknown command \(c); the command is capture (kubectl knetcap --help)")
        }
    }
}

struct PluginCapture: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kubectl knetcap capture",
        abstract: "Capture on the nodes of the selected pods (or on named nodes) with one Job per node, show findings as they come, copy the captures back.",
        discussion: """
        The Jobs run in their own namespace (--job-namespace, default knetcap-system), created \
        labelled for the privileged Pod Security level when absent; when it exists with \
        another level, the error prints the kubectl label command that allows the capture \
        pods. Each Job is pinned to its node, tolerates every taint, uses hostPID and \
        hostNetwork, adds NET_RAW, NET_ADMIN, SYS_ADMIN and SYS_PTRACE, mounts the CRI socket \
        (--cri-socket) for crictl, and has backoffLimit 0, activeDeadlineSeconds (duration + \
        300) and ttlSecondsAfterFinished 600. Ctrl-C or SIGTERM deletes the Jobs.

        Examples:
          kubectl knetcap capture --node a --node b --duration 30s --dry-run -- port 53
          kubectl knetcap capture -n default -l app=client --duration 1m -w client.pcapng -- port 53
          kubectl knetcap capture --pod coredns-5d78c9869d-abcde -n kube-system
        """)

    @Option(name: .customLong("pod"), help: ArgumentHelp("A pod to capture (repeatable), in -n NAMESPACE.", valueName: "NAME"))
    var pods: [String] = []
    @Option(name: [.customShort("l"), .customLong("selector")], help: ArgumentHelp("Pods to capture by label selector, as kubectl get -l.", valueName: "SELECTOR"))
    var selector: String?
    @Option(name: .customLong("node"), help: ArgumentHelp("A node whose own interfaces to capture (repeatable).", valueName: "NAME"))
    var nodes: [String] = []
    @Flag(name: .customLong("all-nodes"), help: "Capture on every node.")
    var allNodes = false
    @Option(name: [.customShort("n"), .customLong("namespace")], help: ArgumentHelp("The pods' namespace.", valueName: "NAMESPACE"))
    var namespace: String = "default"
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "Pods of -l in every namespace.")
    var allNamespaces = false
    @Option(name: .customLong("context"), help: ArgumentHelp("kubeconfig context, passed to kubectl.", valueName: "NAME"))
    var context: String?
    @Option(name: .customLong("kubeconfig"), help: ArgumentHelp("kubeconfig file, passed to kubectl.", valueName: "PATH"))
    var kubeconfig: String?
    @Option(name: .customLong("job-namespace"), help: ArgumentHelp("Where the capture Jobs run.", valueName: "NAMESPACE"))
    var jobNamespace = "knetcap-system"
    @Option(name: .customLong("image"), help: ArgumentHelp("knetcap's image (built from the repository's Containerfile).", valueName: "IMAGE"))
    var image = JobSettings().image
    @Option(name: .customLong("duration"), parsing: .unconditional, help: ArgumentHelp("How long to capture: 90, 90s, 5m, 1h.", valueName: "DURATION"))
    var duration = "60s"
    @Option(name: .customShort("c"), parsing: .unconditional, help: ArgumentHelp("Stop each capture after N packets.", valueName: "N"))
    var count: Int?
    @Option(name: .customShort("C"), parsing: .unconditional, help: ArgumentHelp("Rotate each node's file every MB million bytes (with -W, a ring).", valueName: "MB"))
    var fileSize: Int?
    @Option(name: .customShort("W"), parsing: .unconditional, help: ArgumentHelp("With -C: keep N files.", valueName: "N"))
    var fileCount: Int?
    @Option(name: .customLong("cri-socket"), help: ArgumentHelp("The container runtime's socket on the nodes.", valueName: "PATH"))
    var criSocket = JobSettings().criSocket
    @Flag(name: .customLong("dry-run"), help: "Print the Jobs as YAML and create nothing (--dry-run=client is the same).")
    var dryRun = false
    @Option(name: .customShort("w"), help: ArgumentHelp("Merge the nodes' captures into this pcapng (knetcap merge).", valueName: "FILE"))
    var merged: String?
    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where each node's capture is copied (default ./knetcap-RUN).", valueName: "DIR"))
    var outputDir: String?
    @Argument(parsing: .postTerminator, help: ArgumentHelp("A BPF capture filter (after --).", valueName: "FILTER"))
    var filter: [String] = []

    func validate() throws {
        if pods.isEmpty && selector == nil && nodes.isEmpty && !allNodes {
            throw ValidationError("name what to capture: --pod NAME, -l SELECTOR, --node NAME or --all-nodes")
        }
        if allNamespaces && !pods.isEmpty { throw ValidationError("-A applies to -l SELECTOR, not to --pod") }
        guard Self.seconds(duration) != nil else { throw ValidationError("--duration takes seconds or a number with s, m or h (90, 90s, 5m, 1h), not '\(duration)'") }
        if fileCount != nil && fileSize == nil { throw ValidationError("-W applies with -C") }
        for (flag, v) in [("-c", count), ("-C", fileSize), ("-W", fileCount)] { if let v, v <= 0 { throw ValidationError("\(flag) takes a positive number") } }
        // Names as the API server checks them (RFC 1123), before anything is created.
        for n in nodes where !Self.isSubdomain(n) { throw ValidationError("--node \(n): not a node name (lower-case letters, digits, '-' and '.', RFC 1123)") }
        for p in pods where !Self.isSubdomain(p) { throw ValidationError("--pod \(p): not a pod name (lower-case letters, digits, '-' and '.', RFC 1123)") }
        for (flag, ns) in [("-n", namespace), ("--job-namespace", jobNamespace)] where !Self.isLabel(ns) {
            throw ValidationError("\(flag) \(ns): not a namespace name (at most 63 lower-case letters, digits and '-', RFC 1123)")
        }
        if image.isEmpty || image.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) {
            throw ValidationError("--image '\(image)': not an image reference")
        }
        if filter.first == "--" ? filter.count > 1 : !filter.isEmpty {
            let expression = (filter.first == "--" ? Array(filter.dropFirst()) : filter).joined(separator: " ")
            do { try checkCaptureFilter(expression) } catch { throw ValidationError(error.message) }
        }
    }

    /// An RFC 1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends (namespace names).
    static func isLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
        guard (1...63).contains(b.count), alnum(b.first!), alnum(b.last!) else { return false }
        return b.allSatisfy { alnum($0) || $0 == 0x2d }
    }

    /// An RFC 1123 subdomain: labels joined by '.', at most 253 bytes (node and pod names).
    static func isSubdomain(_ s: String) -> Bool {
        s.utf8.count <= 253 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel(String($0)) }
    }

    /// `90`, `90s`, `5m`, `1h`, `1m30s` (Go's durations, whole seconds) in seconds.
    static func seconds(_ text: String) -> Int? {
        if let n = Int(text), n > 0 { return n }
        var total = 0, number = "", any = false
        for ch in text {
            if ch.isNumber { number.append(ch); continue }
            guard let n = Int(number), let unit = ["s": 1, "m": 60, "h": 3600][String(ch)] else { return nil }
            total += n * unit; number = ""; any = true
        }
        return any && number.isEmpty && total > 0 && total < 7 * 86400 ? total : nil
    }

    mutating func run() throws {
        var global: [String] = []
        if let c = context { global += ["--context", c] }
        if let k = kubeconfig { global += ["--kubeconfig", k] }
        let kubectl = Kubectl(globalFlags: global)
        var targets = Targets()
        targets.pods = pods; targets.selector = selector; targets.nodes = nodes; targets.allNodes = allNodes
        targets.namespace = namespace; targets.allNamespaces = allNamespaces
        var s = JobSettings()
        s.namespace = jobNamespace; s.image = image; s.durationSeconds = Self.seconds(duration)!
        s.count = count; s.fileSizeMB = fileSize; s.fileCount = fileCount; s.criSocket = criSocket
        s.filter = filter.first == "--" ? Array(filter.dropFirst()) : filter
        s.runID = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })

        // -w and --output-dir are checked with --dry-run too: a dry run checks the command line.
        if let out = merged { try Self.checkOutput(out) }
        if let d = outputDir { try Self.checkOutputDirectory(d) }
        // Named nodes need no cluster to be planned: --dry-run with --node only runs no kubectl.
        let plans: [NodePlan]
        do {
            if dryRun && pods.isEmpty && selector == nil && !allNodes {
                plans = nodes.reduce(into: []) { acc, n in if !acc.contains(where: { $0.node == n }) { acc.append(NodePlan(node: n, pods: [])) } }
            } else {
                plans = try resolvePlans(targets, kubectl: kubectl)
            }
        } catch { throw Self.fatal(error) }
        let jobs = plans.map { CaptureJob(plan: $0, settings: s) }
        if dryRun {
            print(try yamlDocuments(jobs.map(\.manifest)), terminator: "")
            return
        }

        let note: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("kubectl-knetcap: \($0)\n".utf8)) }
        do {
            if try ensureNamespace(s.namespace, kubectl: kubectl) { note("created namespace \(s.namespace) (pod-security.kubernetes.io/enforce=privileged)") }
        } catch { throw Self.fatal(error) }
        let dir = outputDir ?? "knetcap-\(s.runID)"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw Fatal(.cannotWrite, "cannot create \(dir): \(error.localizedDescription)")
        }
        let runner = CaptureRun(kubectl: kubectl, jobs: jobs, settings: s, outputDirectory: dir)
        runner.onNote = note
        let toStdout = merged == "-"
        runner.onFinding = { node, f in
            let kind = f["kind"] as? String ?? "finding", summary = f["summary"] as? String ?? ""
            let sev = (f["severity"] as? String).map { "[\($0)] " } ?? ""
            let line = Data("\(node): \(sev)\(kind): \(summary)\n".utf8)
            // With -w - standard output is the pcapng: the findings go to standard error.
            if toStdout { FileHandle.standardError.write(line) } else { FileHandle.standardOutput.write(line) }
        }
        // Ctrl-C / SIGTERM: the Jobs deleted before exiting (no capture pod left behind).
        signal(SIGINT, SIG_IGN); signal(SIGTERM, SIG_IGN)
        // A signal while `kubectl create` is under way: the Jobs it creates after the first
        // cleanup are deleted once it returns (at most 60 s later), then knetcap exits.
        let creating = DispatchSemaphore(value: 0)
        final class Flag: @unchecked Sendable { var inFlight = true }
        let create = Flag()
        let ownDirectory = outputDir == nil
        let queue = DispatchQueue(label: "signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler {
                note("stopping: deleting the capture Jobs (label \(runLabel)=\(s.runID))")
                runner.cleanup()
                if create.inFlight, creating.wait(timeout: .now() + 60) == .success { runner.cleanup() }
                if ownDirectory { rmdir(dir) }  // removed only when empty: nothing copied yet
                Glibc.exit(128 + sig)
            }
            src.resume()
            sources.append(src)
        }
        do { try runner.create() } catch { create.inFlight = false; creating.signal(); runner.cleanup(); throw Self.fatal(error) }
        create.inFlight = false
        creating.signal()
        note("created \(jobs.count) Job\(jobs.count == 1 ? "" : "s") in \(s.namespace) (\(jobs.map { "\($0.name) on \($0.node)" }.joined(separator: ", "))); capturing for \(s.durationSeconds) s")
        let outcomes = runner.follow()
        runner.cleanup()
        var copied: [MergeInput] = []
        var failures: [String] = []
        for job in jobs {
            switch outcomes[job.node] {
            case .copied(let path, let status)?:
                note("\(job.node): capture copied to \(path)\(status == 0 ? "" : " (knetcap exited \(status) in the pod)")")
                copied.append(MergeInput(path: path, label: job.node))
            case .failed(let why)?: failures.append(why)
            case nil: failures.append("\(job.node): no result")
            }
        }
        if let out = merged, !copied.isEmpty {
            let r = try mergeCaptures(copied, to: out)
            // A -w that cannot be written is its own error (exit 8), as for knetcap merge.
            if let f = r.failure, f.kind == .cannotWrite { throw Fatal(.cannotWrite, f.message + " (each node's capture is in \(dir))") }
            note("merged \(packetCount(r.packets)) from \(copied.count) node\(copied.count == 1 ? "" : "s") into \(out == "-" ? "standard output" : out)")
            if let f = r.failure { failures.append(f.message) }
        }
        // A run that copied nothing leaves no empty directory behind.
        if copied.isEmpty, outputDir == nil { rmdir(dir) }  // only when empty
        if !failures.isEmpty { throw Fatal(.captureJobFailed, failures.joined(separator: "; ")) }
    }

    /// `--output-dir DIR`: a directory (or none yet) in a writable directory.
    static func checkOutputDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { throw Fatal(.cannotWrite, "--output-dir \(path): not a directory") }
            if access(path, W_OK) != 0 { throw Fatal(.cannotWrite, "--output-dir \(path): \(String(cString: strerror(errno)))") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if access(parent.isEmpty ? "." : parent, W_OK) != 0 { throw Fatal(.cannotWrite, "--output-dir \(path): \(String(cString: strerror(errno)))") }
    }

    /// `-w FILE` checked before any Job is created: `-` not a terminal, FILE not a directory,
    /// its directory writable (the merge itself comes after the capture).
    static func checkOutput(_ path: String) throws {
        if path.isEmpty { throw Fatal(.usage, "-w takes a file name, or - for standard output") }
        if path == "-" {
            if isatty(1) == 1 { throw Fatal(.usage, "-w - writes the merged pcapng to standard output, which is a terminal; redirect it") }
            return
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw Fatal(.cannotWrite, "cannot write \(path): it is a directory")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if access(parent.isEmpty ? "." : parent, W_OK) != 0 {
            throw Fatal(.cannotWrite, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func fatal(_ e: KubeError) -> Fatal {
        switch e.kind {
        case .notFound: return Fatal(.noSuchPod, e.message)
        case .podSecurity: return Fatal(.podSecurityRefused, e.message)
        case .usage: return Fatal(.usage, e.message)
        case .kubectlFailed: return Fatal(.kubectlFailed, e.message)
        }
    }
}
