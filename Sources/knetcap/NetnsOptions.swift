import ArgumentParser
import Foundation
import KnetcapNetns

/// `--netns PID|PATH`, `--container ID`, `--pod NAME [-n NAMESPACE]`, `--container-name NAME`:
/// which network namespace a live capture (or `knetcap interfaces`) opens its handle in.
struct NetnsOptions: ParsableArguments {
    @Option(name: .customLong("netns"), help: ArgumentHelp("Work in the network namespace of process PID, or of the namespace file PATH (/proc/PID/ns/net, /var/run/netns/NAME; a bare NAME means /var/run/netns/NAME): capture there (-i names its interfaces, default any), list its interfaces, or run the command there. Repeatable for a capture: one interface per namespace.", valueName: "PID|PATH"))
    var netns: [String] = []

    @Option(name: .customLong("container"), help: ArgumentHelp("Work in the network namespace of container ID (full id or unique prefix), resolved with `crictl inspect ID`, else `docker inspect -f {{.State.Pid}} ID`. Repeatable for a capture.", valueName: "ID"))
    var container: [String] = []

    @Option(name: .customLong("pod"), help: ArgumentHelp("Work in the network namespace of pod NAME (kubectl get pod NAME -n NAMESPACE -o json), which must run on this node. Repeatable for a capture (all in -n NAMESPACE).", valueName: "NAME"))
    var pod: [String] = []

    @Option(name: .customLong("namespace"), help: ArgumentHelp("The pod's Kubernetes namespace (default: default). With --pod, -n NAMESPACE means the same, as in kubectl (tcpdump's -n is then -nn).", valueName: "NAMESPACE"))
    var namespace: String?

    @Option(name: .customLong("container-name"), help: ArgumentHelp("With --pod: the container whose id is looked up (default: the pod's first container; all containers of a pod share one network namespace).", valueName: "NAME"))
    var containerName: String?

    /// Whether any namespace option was given.
    var isGiven: Bool { !netns.isEmpty || !container.isEmpty || !pod.isEmpty }
    /// How many namespaces the options name.
    var count: Int { netns.count + container.count + pod.count }

    /// With `--pod`, `-n NAMESPACE` is kubectl's namespace flag; otherwise `-n` is tcpdump's
    /// "don't resolve" flag. Rewrites `-n X` to `--namespace X` when `--pod` is present (and X
    /// is not another flag). Words after `--` are left alone.
    static func rewritingPodNamespace(_ args: [String]) -> [String] {
        let end = args.firstIndex(of: "--") ?? args.endIndex
        let head = args[..<end]
        guard head.contains(where: { $0 == "--pod" || $0.hasPrefix("--pod=") }) else { return args }
        return rewritingShortNamespace(args)
    }

    /// Rewrites every `-n X` before `--` to `--namespace X` (for `knetcap enter` and
    /// `knetcap interfaces`, where `-n` has no other meaning).
    static func rewritingShortNamespace(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a == "--" { out.append(contentsOf: args[i...]); break }
            if a == "-n", i + 1 < args.endIndex, !args[i + 1].hasPrefix("-") {
                out.append(contentsOf: ["--namespace", args[i + 1]])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    /// Checks the combination of options, resolves `--container`/`--pod` (printing on stderr
    /// what was resolved, by which runtime, with the commands run) and opens the one namespace
    /// they name (`knetcap enter`, `knetcap interfaces`).
    /// - Parameter readingFile: `-r FILE`, which no namespace option may accompany.
    /// - Returns: nil when no namespace option was given.
    /// - Throws: `Fatal` (usage, or a namespace error with its exit status).
    func open(readingFile: String? = nil) throws -> EnteredNamespace? {
        let given = [("--netns", netns), ("--container", container), ("--pod", pod)].filter { !$0.1.isEmpty }.map(\.0)
        if count > 1 { throw Fatal(.usage, "give only one of \(given.joined(separator: ", ")) here: they name the one network namespace to work in") }
        return try openAll(readingFile: readingFile).first
    }

    /// Every namespace the options name, opened, in the order netns, containers, pods (a
    /// capture: one handle in each). The same namespace named twice is refused.
    /// - Throws: `Fatal` (usage, or the first namespace error with its exit status).
    func openAll(readingFile: String? = nil) throws -> [EnteredNamespace] {
        if pod.isEmpty && namespace != nil { throw Fatal(.usage, "--namespace (-n with --pod) applies only to --pod NAME") }
        if pod.isEmpty && containerName != nil { throw Fatal(.usage, "--container-name applies only to --pod NAME") }
        guard isGiven else { return [] }
        let first = !netns.isEmpty ? "--netns" : !container.isEmpty ? "--container" : "--pod"
        if let f = readingFile { throw Fatal(.usage, "\(first) applies to live capture (-i), not to -r \(f)") }
        var opened: [EnteredNamespace] = []
        var twice: String?
        do throws(NetnsError) {
            let resolver = Resolver()
            var targets: [(NetnsTarget, NamespaceResolution?)] = netns.map { (NetnsTarget(parsing: $0), nil) }
            for c in container {
                let r = try resolver.resolveContainer(c)
                targets.append((r.target, r))
            }
            for p in pod {
                let invocation = ["knetcap"] + CommandLine.arguments.dropFirst()
                let r = try resolver.resolvePod(p, namespace: namespace ?? "default", containerName: containerName,
                                                local: .current(), rerun: shellQuoted(invocation))
                targets.append((r.target, r))
            }
            for (target, resolution) in targets {
                let namespace: NetworkNamespace
                do {
                    namespace = try NetworkNamespace.open(target)
                } catch {
                    guard let c = resolution?.container else { throw error }
                    throw NetnsError(error.kind, "container \(c.query) is pid \(c.pid) (`\(shellQuoted(c.command))`), but: \(error.message)")
                }
                if let twin = opened.first(where: { $0.namespace.device == namespace.device && $0.namespace.inode == namespace.inode }) {
                    twice = "\(namespace.path) is network namespace \(namespace.identity), already named as \(twin.namespace.path): name each namespace once"
                    break
                }
                // Said once the namespace is open, so that every failure stays one line.
                resolution.map(announce)
                opened.append(EnteredNamespace(namespace: namespace, resolution: resolution))
            }
        } catch {
            throw Fatal(error)
        }
        if let twice { throw Fatal(.usage, twice) }
        return opened
    }
}

/// Prints (stderr) what `--pod`/`--container` resolved to and how:
///
///     knetcap: pod default/web on node node-a (this node): container app, containerd://0123abcd...
///     knetcap: container 0123abcd... (app): pid 4242, from `crictl inspect 0123abcd...`
func announce(_ r: NamespaceResolution) {
    var lines: [String] = []
    if let p = r.pod {
        lines.append("pod \(p.namespace)/\(p.name) on node \(p.node) (this node): container \(p.containerName), \(p.runtimeName)://\(p.containerID)"
                     + (p.hostNetwork ? " (hostNetwork: the pod uses the node's own network namespace)" : ""))
        if let note = p.note { lines.append(note) }
    }
    let c = r.container
    let name = c.name.map { " (\($0))" } ?? ""
    lines.append("container \(c.id)\(name): pid \(c.pid), from `\(shellQuoted(c.command))` (runtime CLI: \(c.runtime.rawValue))")
    FileHandle.standardError.write(Data(lines.map { "knetcap: \($0)\n" }.joined().utf8))
}

/// A target network namespace, open, with what it was resolved from.
struct EnteredNamespace {
    let namespace: NetworkNamespace
    let resolution: NamespaceResolution?

    var target: NetnsTarget { namespace.target }

    /// The namespace as a vantage point (an interface name of a capture in several): the pod
    /// (`NAMESPACE/POD`, from --pod or the runtime's kubelet labels), else the container's name
    /// or id (12 characters), else `pid N` or the namespace file's name.
    var label: String {
        if let p = resolution?.pod { return "\(p.namespace)/\(p.name)" }
        if let p = resolution?.container.pod { return "\(p.namespace)/\(p.name)" }
        if let c = resolution?.container { return c.name ?? String(c.id.prefix(12)) }
        switch namespace.target {
        case .pid(let p): return "pid \(p)"
        case .path(let p): return (p as NSString).lastPathComponent
        }
    }

    /// `network namespace net:[4026532451] of pid 4242 (sleep), /proc/4242/ns/net`, plus the
    /// pod/container and runtime when resolved, and a note when it is knetcap's own.
    var summary: String {
        var s = "network namespace \(namespace.identity) of "
        switch namespace.target {
        case .pid(let p):
            let comm = (try? String(contentsOfFile: "/proc/\(p)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            s += "pid \(p)\(comm.map { " (\($0))" } ?? ""), \(namespace.path)"
        case .path(let p):
            s += p
        }
        if let r = resolution {
            if let pod = r.pod { s += ", pod \(pod.namespace)/\(pod.name)" }
            s += ", container \(r.container.id.prefix(13)) via \(r.container.runtime.rawValue)"
        }
        if namespace.isCurrentThreadNamespace { s += " (knetcap's own network namespace)" }
        return s
    }

    /// The `nsenter` command that enters the same namespace and runs `command`.
    func nsenterCommand(_ command: [String]) -> String {
        let head: [String]
        switch namespace.target {
        case .pid(let p): head = ["nsenter", "-n", "--target", String(p)]
        case .path(let p): head = ["nsenter", "--net=\(p)"]
        }
        return shellQuoted(head + ["--"] + command)
    }

    /// Runs `body` on a thread inside the namespace (NetworkNamespace.run); namespace errors
    /// become `Fatal` with their exit status, `body`'s errors pass through.
    func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try namespace.run(body)
        } catch let e as NetnsError {
            throw Fatal(e)
        }
    }
}

/// Opens a live capture inside `entered` (or here when nil): the packet socket libpcap
/// creates stays in the namespace it was created in, so capturing from this thread afterwards
/// sees that namespace's traffic. Says on stderr which namespace was entered.
func inNamespace<T>(_ entered: EnteredNamespace?, _ open: () throws -> T) throws -> T {
    guard let entered else { return try open() }
    let value = try entered.run(open)
    FileHandle.standardError.write(Data("knetcap: capture opened in \(entered.summary); -i names its interfaces\n".utf8))
    return value
}

extension Fatal {
    init(_ e: NetnsError) { self.init(Exit(e), e.message) }
}
