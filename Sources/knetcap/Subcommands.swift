import ArgumentParser
import Foundation
import KnetcapCapture
import KnetcapNetns

/// `knetcap interfaces [--netns ...]`: the capture devices libpcap sees, with addresses.
struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap interfaces",
        abstract: "List the capture devices (libpcap's list) with their addresses.",
        discussion: """
        One device per line as tcpdump -D prints them (number, name, description, flags), each \
        followed by its IPv4 and IPv6 addresses. With --netns, --container or --pod the list \
        is the one inside that network namespace: the names -i accepts there.

        Examples:
          knetcap interfaces
          knetcap interfaces --netns 4242
          knetcap interfaces --pod web-7d4b9c -n shop
        """)

    @OptionGroup(title: "Network namespace")
    var netns: NetnsOptions

    mutating func run() throws {
        let entered = try netns.open()
        let devices = try entered.map { e in try e.run { try PcapSource.devices() } } ?? PcapSource.devices()
        if let e = entered {
            FileHandle.standardError.write(Data("knetcap: capture devices in \(e.summary)\n".utf8))
        }
        var text = ""
        for (i, d) in devices.enumerated() {
            text += "\(i + 1).\(d.name)"
            if let desc = d.description { text += " (\(desc))" }
            if !d.flagWords.isEmpty { text += " [\(d.flagWords.joined(separator: ", "))]" }
            text += "\n"
            for a in d.addresses { text += "    \(a.family) \(a)\n" }
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// `knetcap enter POD [NAMESPACE]` / `knetcap enter --pid PID [-- CMD ...]`.
///
/// Runs the command (default `$SHELL`, else /bin/sh) with only its network namespace
/// switched, like `nsenter -n --target PID`: knetcap resolves and checks the target, prints
/// what it found and the equivalent nsenter command, then on its own thread calls setns(2)
/// and execv(2)s the command, which so replaces knetcap (same PID, terminal, signals and exit
/// status; no nsenter binary needed, and the same checks and exit codes as a capture).
struct Enter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap enter",
        abstract: "Run a shell (or a command) inside a pod's network namespace only, like nsenter -n.",
        discussion: """
        The command keeps knetcap's mount, PID and user namespaces, so the node's tools \
        (ip, ss, tcpdump, knetcap) work on the pod's interfaces, sockets and routes. Before it \
        starts, knetcap prints (on stderr) the pod, container, runtime, PID and the equivalent \
        `nsenter -n --target PID` command. The exit status is the command's.

        Examples:
          knetcap enter web-7d4b9c shop                  # shell in pod web-7d4b9c, namespace shop
          knetcap enter --pid 4242 -- ip -o addr
          knetcap enter --container 0123abcd -- ss -tlnp
          knetcap enter --netns /var/run/netns/blue
        """)

    @Option(name: .customLong("pid"), help: ArgumentHelp("Enter the network namespace of process PID.", valueName: "PID"))
    var pid: Int32?

    @OptionGroup(title: "Network namespace")
    var netns: NetnsOptions

    @Argument(help: ArgumentHelp("The pod to enter.", valueName: "POD"))
    var podName: String?

    @Argument(help: ArgumentHelp("The pod's Kubernetes namespace (default: default).", valueName: "NAMESPACE"))
    var podNamespace: String?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command to run after -- (default: $SHELL, else /bin/sh).", valueName: "COMMAND"))
    var command: [String] = []

    mutating func run() throws {
        var options = netns
        if let p = pid {
            if netns.isGiven || podName != nil { throw Fatal(.usage, "give only one of --pid, --netns, --container, --pod or a POD") }
            options.netns = String(p)
        }
        if let pod = podName {
            if netns.isGiven { throw Fatal(.usage, "give only one of a POD, --pod, --pid, --netns or --container") }
            options.pod = pod
            if let ns = podNamespace {
                if netns.namespace != nil { throw Fatal(.usage, "give the namespace once: knetcap enter POD NAMESPACE, or -n NAMESPACE") }
                options.namespace = ns
            }
        }
        guard let entered = try options.open() else {
            throw Fatal(.usage, "nothing to enter: give a pod (knetcap enter POD [NAMESPACE]), --pid PID, --netns PATH or --container ID")
        }

        let tools = ToolRunner()
        var argv = command
        if argv.isEmpty {
            let shell = ProcessInfo.processInfo.environment["SHELL"].flatMap { $0.isEmpty ? nil : $0 }
            argv = [shell.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "/bin/sh"]
        }
        if argv[0].contains("/"), FileManager.default.fileExists(atPath: argv[0]),
           !FileManager.default.isExecutableFile(atPath: argv[0]) {  // nsenter: 126, "Permission denied"
            throw Fatal(.commandNotExecutable, "enter: \(argv[0]): permission denied (not executable)")
        }
        guard let executable = tools.locate(argv[0]) else {
            let where_ = argv[0].contains("/") ? "" : " on PATH (\(tools.searchPath))"
            throw Fatal(.commandNotFound, "enter: \(argv[0]): command not found\(where_)")
        }
        let lines = [
            "entering \(entered.summary)",
            "equivalent: \(entered.nsenterCommand(argv))",
        ]
        FileHandle.standardError.write(Data(lines.map { "knetcap: \($0)\n" }.joined().utf8))

        let failure = entered.namespace.exec(executable, argv)
        let e = errno
        if failure.kind != .system { throw Fatal(failure) }
        throw Fatal(e == ENOENT ? .commandNotFound : e == EACCES || e == ENOEXEC ? .commandNotExecutable : .failure,
                    "enter: \(failure.message)")
    }
}
