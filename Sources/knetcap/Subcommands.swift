import ArgumentParser
import Foundation
import KnetcapCapture
import KnetcapNetns
import KnetcapDissect
import KnetcapAnalysis
import KnetcapReport
import KnetcapSession

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
            options.netns = [String(p)]
        }
        if let pod = podName {
            if netns.isGiven { throw Fatal(.usage, "give only one of a POD, --pod, --pid, --netns or --container") }
            options.pod = [pod]
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

/// `knetcap diff BEFORE AFTER`: two captures (diagnosed afresh) or two `knetcap --json`
/// outputs (their summary lines; `--json --stats` for the DNS table), compared: per finding
/// kind the counts before and after, per DNS server the response-time percentiles before and
/// after. `--fail-on KIND|any` exits 12 when that kind (or any) was found more often after.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap diff",
        abstract: "Compare two captures (or two knetcap --json outputs): findings per kind and DNS response times per server, before and after.",
        discussion: """
        Each input is a pcap/pcapng file, read and diagnosed as knetcap -q would, or the output \
        of knetcap --json (with --stats for the DNS table). DNS response times are measured \
        from the first transmission of each query. With --fail-on, the exit status is 12 when \
        a named finding kind (or any, with `any`) was found more often after than before.

        Examples:
          knetcap diff before.pcap after.pcap
          knetcap diff --fail-on dns.conntrack-race before.pcap after.pcap
          knetcap --json --stats -q -r before.pcap > before.json; knetcap diff before.json after.pcap
        """)

    @OptionGroup(title: "Diagnosis")
    var diagnosisOptions: DiagnosisOptions

    @Option(name: .customLong("color"), help: ArgumentHelp("Colour: auto (on a terminal, unless NO_COLOR is set), always or never.", valueName: "WHEN"))
    var color: String = "auto"

    @Argument(help: ArgumentHelp("The capture or --json output before the change.", valueName: "BEFORE"))
    var before: String

    @Argument(help: ArgumentHelp("The capture or --json output after the change.", valueName: "AFTER"))
    var after: String

    func validate() throws {
        guard ["auto", "always", "never"].contains(color) else { throw ValidationError("--color takes auto, always or never, not '\(color)'") }
    }

    mutating func run() throws {
        if before == "-" && after == "-" { throw Fatal(.usage, "only one of BEFORE and AFTER can be - (standard input)") }
        Dissector.dnsPorts = Set(diagnosisOptions.dnsPorts)  // --dns-port, as for -r
        let b = try side(before), a = try side(after)
        let diff = CaptureDiff(before: b, after: a)
        let style = TextStyle(when: color, isTerminal: isatty(1) == 1, noColor: ProcessInfo.processInfo.environment["NO_COLOR"])
        FileHandle.standardOutput.write(Data(diff.text(style: style).utf8))
        let fail = diagnosisOptions.failOn
        if diff.worse.contains(where: { fail.contains("any") || fail.contains($0) }) { throw ExitCode(Exit.findingReported.rawValue) }
    }

    /// A capture (by its first bytes: pcap, pcapng, gzip, zstd, lz4) diagnosed afresh, else a
    /// `--json` output read. `-` is standard input. Its messages are `-r`'s: `NAME: what`.
    ///
    /// The first bytes are read to tell the two apart. A regular file is then opened again
    /// from its start; standard input, a FIFO or a process substitution (`<(...)`) cannot be
    /// read twice, so its capture is relayed through a pipe that replays the bytes already read.
    func side(_ path: String) throws -> DiffSide {
        let name = path == "-" ? "standard input" : path
        if path != "-" { try checkReadable(path) }  // -r's messages: no such file, a directory, permission denied
        let fd = path == "-" ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else { throw Fatal(errno == EACCES ? .permissionDenied : .failure, "\(name): \(String(cString: strerror(errno)))") }
        var st = stat()
        let regular = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
        let head = try readUpTo(4, from: fd, name: name)
        let magics: Set<[UInt8]> = [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d],
                                    [0x0a, 0x0d, 0x0d, 0x0a],
                                    [0x28, 0xb5, 0x2f, 0xfd], [0x04, 0x22, 0x4d, 0x18]]  // zstd, lz4 (as -r reads them)
        if magics.contains(head) || head.starts(with: [0x1f, 0x8b]) {  // or gzip
            if regular && path != "-" {
                close(fd)
                return try diagnose(path, name: name)
            }
            let relay = InputRelay(head: head, from: fd, keepCopy: false, copyIfCompressed: true)
            return try diagnose(relay.readPath, name: name, compressedCopy: { () throws(CaptureError) in try relay.drainedCopy() }, head: head, relay: relay)
        }
        guard head.first == UInt8(ascii: "{") else {
            if path != "-" { close(fd) }
            throw Fatal(.notACapture, head.isEmpty ? "\(name): empty: neither a pcap/pcapng capture nor knetcap --json output"
                                                   : "\(name): neither a pcap/pcapng capture nor knetcap --json output")
        }
        let text = head + (try readUpTo(.max, from: fd, name: name))
        if path != "-" { close(fd) }
        do { return try DiffSide(name: name, jsonLines: text) } catch { throw Fatal(.notACapture, error.message) }
    }

    /// Up to `limit` bytes of `fd` (fewer at its end), retrying EINTR.
    func readUpTo(_ limit: Int, from fd: Int32, name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: min(limit, 1 << 16))
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, limit - out.count)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Fatal(.readFailed, "\(name): read failed after \(out.count) bytes: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            out += buf.prefix(n)
        }
        return out
    }

    func diagnose(_ path: String, name: String, compressedCopy: (() throws(CaptureError) -> String?)? = nil, head: [UInt8]? = nil,
                  relay: InputRelay? = nil) throws -> DiffSide {
        let source = try openCaptureFile(path, name: name, relay: relay)  // as -r: classic pcap through libpcap, the rest through libwiretap
        (source as? WiretapSource)?.compressedCopy = compressedCopy  // a pipe's compressed stream, probed when it breaks
        if let head, let e = misreadCompressedStream(source, head: head, name: name) { throw Fatal(Exit(e), e.message) }
        guard source is WiretapSource || LinkType(rawValue: source.linkType).isSupported else {
            throw Fatal(.unsupportedLinkType, "\(name): link type \(PcapSource.linkTypeName(source.linkType)) is not supported (knetcap reads Ethernet, Linux SLL/SLL2, RAW, IPv4/IPv6, NULL/LOOP and NFLOG)")
        }
        let collector = StatsCollector()
        let session = CaptureSession(source: source, diagnosis: Diagnosis(vips: diagnosisOptions.vipAddresses), reporters: [collector])
        let outcome = session.run()
        if case .failed(let msg) = outcome.end { throw Fatal(.readFailed, "\(name): read failed after \(packetCount(outcome.packets)): \(msg)") }
        if case .badInput(let e) = outcome.end { throw Fatal(Exit(e), "\(e.message), after \(packetCount(outcome.packets)) (knetcap diff compares whole captures)") }
        // Packets read but not dissected (a link type knetcap does not know) would compare as
        // "no findings": refused as -r refuses them.
        if let u = session.unsupported.first {
            let n = session.unsupported.reduce(0) { $0 + $1.packets }
            throw Fatal(.unsupportedLinkType, "\(name): \(n) of its \(packetCount(outcome.packets)) have link type \(u.linkTypeName) (interface \(u.interface), from frame \(u.firstFrame)), which knetcap does not dissect (knetcap diff compares whole captures)")
        }
        let counts = Dictionary(grouping: outcome.report.findings, by: \.kind).mapValues(\.count)
            .merging(outcome.report.suppressed, uniquingKeysWith: +)
        return DiffSide(name: name, packets: outcome.packets, findings: counts, dns: collector.stats?.dns_servers)
    }
}

/// `knetcap merge -w OUT.pcapng IN...`: captures from several vantage points (nodes, pods,
/// interfaces) merged by timestamp into one pcapng, as `mergecap -w OUT IN...` orders them,
/// with one interface per input interface named after its input (`node-a/eth0`).
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap merge",
        abstract: "Merge captures by timestamp into one pcapng, one interface per input interface, named after the input.",
        discussion: """
        Packets are ordered as Wireshark's mergecap orders them (the earliest next packet of \
        any input; of packets with the same time, the one of the input listed last). Each input's interfaces become \
        interfaces of the output named LABEL/NAME (LABEL: the file name without its \
        extensions, or what NAME=PATH gives), with their options and a comment naming the \
        file; packet comments (knetcap's findings among them) are kept. Inputs are any file \
        -r reads: pcap, pcapng, compressed. Then `knetcap -r OUT.pcapng` diagnoses across \
        the vantage points.

        Examples:
          knetcap merge -w all.pcapng node-a.pcapng node-b.pcapng
          knetcap merge -w all.pcapng client=/tmp/a.pcap coredns=/tmp/b.pcap.gz
        """)

    @Option(name: .customShort("w"), help: ArgumentHelp("The merged pcapng (- for standard output).", valueName: "FILE"))
    var output: String

    @Argument(help: ArgumentHelp("The captures: PATH, or LABEL=PATH to name its vantage point.", valueName: "INPUT"))
    var inputs: [String] = []

    mutating func run() throws {
        guard !inputs.isEmpty else { throw Fatal(.usage, "knetcap merge needs at least one input capture (see knetcap merge --help)") }
        let parsed = inputs.map { word -> MergeInput in
            // LABEL=PATH when the part before `=` names no file of its own and has no slash.
            if let eq = word.firstIndex(of: "="), !word[..<eq].contains("/"), !word[..<eq].isEmpty, access(word, F_OK) != 0 {
                return MergeInput(path: String(word[word.index(after: eq)...]), label: String(word[..<eq]))
            }
            return MergeInput(path: word, label: MergeInput.label(of: word))
        }
        if parsed.filter({ $0.path == "-" }).count > 1 { throw Fatal(.usage, "only one input can be - (standard input)") }
        if output == "-" && isatty(1) == 1 { throw Fatal(.usage, "-w - writes the pcapng to standard output, which is a terminal; redirect it") }
        // The output never names an input: writing would destroy it before it is read.
        let out = FileIdentity(output, standardFD: 1)
        for i in parsed where out != nil && FileIdentity(i.path, standardFD: 0) == out {
            throw Fatal(.usage, "-w \(output) names the input \(i.path); write the merge to another file")
        }
        PcapSource.installStopHandler()
        let result = try mergeCaptures(parsed, to: output)
        PcapSource.markExitSafe()
        let files = parsed.count == 1 ? "1 file" : "\(parsed.count) files"
        let ifs = result.interfaces.count == 1 ? "1 interface" : "\(result.interfaces.count) interfaces"
        var line = "knetcap: merged \(packetCount(result.packets)) from \(files) into \(output == "-" ? "standard output" : output) (\(ifs): \(result.interfaces.joined(separator: ", ")))"
        if result.end == .interrupted { line += "; stopped by a signal, the file is complete up to there" }
        // One line: what went wrong, with what the file holds; else what was merged.
        if let f = result.failure {
            let into = output == "-" ? "standard output" : output
            throw Fatal(Exit(f), f.kind == .cannotWrite ? "\(f.message) (after \(packetCount(result.packets)))"
                                                        : "\(f.message); \(packetCount(result.packets)) merged into \(into)")
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
