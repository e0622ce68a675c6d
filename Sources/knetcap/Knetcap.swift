import ArgumentParser
import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapNetns
import KnetcapFilter
import KnetcapReport
import KnetcapSession

/// `knetcap [flags] [expression]`: capture or read, print, diagnose. `knetcap interfaces` and
/// `knetcap enter` are separate commands dispatched by `main` (see `Subcommands.swift`).
struct Knetcap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knetcap",
        abstract: "Capture or read packets, print them like tcpdump -nn, and name the network fault.",
        discussion: """
        Reads a pcap/pcapng file (-r) or captures live (-i, `any` included) through libpcap. \
        Trailing words are a BPF capture filter, as with tcpdump. After the packets, knetcap \
        prints a diagnosis that names network faults (see README.md for every finding kind). \
        The diagnosis always sees every captured packet: a display filter (-Y) never hides \
        a fault's evidence.

        Other commands: `knetcap interfaces` lists capture devices; `knetcap enter` runs a \
        shell in a pod's network namespace.

        Examples:
          knetcap -r Captures/dns-timeout-glibc.pcap
          knetcap -q -r dns.pcap udp port 53
          knetcap -i any -w dns.pcap port 53
          knetcap --json -r dns.pcap | jq 'select(.finding)'
        """,
        version: knetcapVersion
    )

    @Option(name: .customShort("r"), help: ArgumentHelp("Read packets from FILE (pcap or pcapng; - for standard input).", valueName: "FILE"))
    var readFile: String?

    @Option(name: .customShort("i"), help: ArgumentHelp("Capture live on INTERFACE (any for all).", valueName: "INTERFACE"))
    var interface: String?

    @Option(name: .customShort("w"), help: ArgumentHelp("Write the captured packets to FILE as pcap (complete after Ctrl-C/SIGTERM); packets are not printed.", valueName: "FILE"))
    var writeFile: String?

    @Option(name: .customShort("c"), parsing: .unconditional, help: ArgumentHelp("Stop after COUNT packets read (with -Y too, as tshark -c).", valueName: "COUNT"))
    var count: Int?

    @Option(name: .customShort("s"), parsing: .unconditional, help: ArgumentHelp("Snapshot length for live capture, bytes (default and 0: 262144, as tcpdump).", valueName: "SNAPLEN"))
    var snaplen: Int32 = 262_144

    @Flag(name: .customShort("q"), help: "Print the diagnosis only, not the packets.")
    var quiet = false

    @Flag(name: .customLong("json"), help: "One JSON object per packet (Wireshark field names), then one per finding, then a summary.")
    var json = false

    @Flag(name: .customLong("number"), help: "Print the frame number before each packet (tcpdump -#).")
    var number = false

    @Flag(name: .customShort("t"), help: "Timestamps: -t none, -tt epoch, -ttt delta, -tttt date, -ttttt since first.")
    var timestampLevel: Int

    @Flag(name: .customLong("nano"), help: "Print timestamps with nanoseconds.")
    var nano = false

    @Flag(name: .customShort("S"), help: "Print absolute TCP sequence numbers.")
    var absoluteSeq = false

    @Flag(name: .customShort("n"), help: "Accepted for tcpdump compatibility; knetcap never resolves names.")
    var noResolve: Int

    @Flag(name: .customShort("p"), help: "Do not put the interface into promiscuous mode.")
    var noPromiscuous = false

    @OptionGroup(title: "Diagnosis")
    var diagnosisOptions: DiagnosisOptions

    @OptionGroup(title: "Display filter")
    var display: DisplayOptions

    @OptionGroup(title: "Reports")
    var output: OutputOptions

    @OptionGroup(title: "Network namespace (capture inside a pod)")
    var netns: NetnsOptions

    @Argument(help: ArgumentHelp("BPF capture filter (tcpdump syntax), e.g. udp port 53.", valueName: "expression"))
    var expression: [String] = []

    func validate() throws {
        if let c = count, c <= 0 { throw ValidationError("-c takes a positive packet count, not \(c)") }
        if snaplen < 0 { throw ValidationError("-s takes a snapshot length in bytes (0 for the default 262144), not \(snaplen)") }
        if timestampLevel > 5 { throw ValidationError("-t may be given at most five times") }
        if let f = expression.first, f.hasPrefix("-") { throw ValidationError("unknown option '\(f)'") }
    }

    /// How messages name the input: the file, standard input, or the interface.
    var inputName: String { readFile.map { $0 == "-" ? "standard input" : $0 } ?? interface ?? "any" }

    /// Whether two paths name one existing file (same device and inode).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    var timestampStyle: TimestampStyle {
        switch timestampLevel {
        case 0: return .timeOfDay
        case 1: return .none
        case 2: return .epoch
        case 3: return .deltaPrevious
        case 4: return .dateTime
        default: return .deltaFirst
        }
    }

    mutating func run() throws {
        do {
            try capture()
        } catch let f as Fatal {
            fail(f.code, f.message)
        } catch let e as CaptureError {
            fail(Exit(e), e.message)
        }
    }

    func capture() throws {
        if display.listFields {
            FileHandle.standardOutput.write(Data(DisplayOptions.fieldList().utf8))
            return
        }
        // Checked here, not in validate(): ArgumentParser validates before it reports an
        // unknown option, and `knetcap --bogus` should name --bogus.
        if readFile != nil && interface != nil { throw Fatal(.usage, "use either -r FILE or -i INTERFACE, not both") }
        if readFile == "" { throw Fatal(.usage, "-r takes a capture file name, or - for standard input") }
        if let r = readFile, let w = writeFile, r != "-", w != "-", Self.sameFile(r, w) {
            throw Fatal(.usage, "-w \(w) is the file -r reads: writing it would destroy the input; write to another file")
        }
        if readFile == nil && interface == nil && !netns.isGiven { throw Fatal(.usage, "nothing to read: give -r FILE or -i INTERFACE (e.g. -i any)") }
        let displayFilter = try display.compiled()  // -Y: before anything is opened
        // --netns/--container/--pod: resolve and open that network namespace (nil: knetcap's own);
        // the live handle is opened inside it (NetnsOptions.swift).
        let entered = try netns.open(readingFile: readFile)
        let source: PcapSource
        if let path = readFile {
            source = try PcapSource.openFile(path)
        } else {
            source = try inNamespace(entered) {
                try PcapSource.openLive(interface ?? "any", snaplen: snaplen == 0 ? 262_144 : snaplen, promiscuous: !noPromiscuous,
                                        immediate: false)
            }
        }
        let link = LinkType(rawValue: source.linkType)
        guard link.isSupported else {
            throw Fatal(.unsupportedLinkType, "\(inputName): link type \(PcapSource.linkTypeName(source.linkType)) is not supported (knetcap reads Ethernet, Linux SLL/SLL2, RAW, IPv4/IPv6, NULL/LOOP and NFLOG)")
        }
        let filter = expression.joined(separator: " ")
        if !filter.isEmpty { try source.setFilter(filter) }
        let writer = try writeFile.map { p throws(CaptureError) in try PcapWriter(source: source, path: p) }
        try output.checkWritable()

        // SIGINT, SIGTERM, SIGHUP (unless ignored) and SIGPIPE stop the capture, as tcpdump's.
        PcapSource.installStopHandler()
        if source.isLive {
            let what = writeFile.map { "writing to \($0)" } ?? "printing"
            FileHandle.standardError.write(Data("knetcap: listening on \(interface ?? "any"), link-type \(PcapSource.linkTypeName(source.linkType)), snapshot length \(source.snapshotLength) bytes, \(what)\n".utf8))
        }

        // `-w -` puts the pcap on standard output: the diagnosis goes to standard error.
        let out = TextOutput(fd: writeFile == "-" ? 2 : 1)
        out.flushesEachPacket = source.isLive
        let printPackets = !quiet && writer == nil
        // The outputs: one reporter each (a new output is one more line here). The statistics
        // collector comes first: the reporters after it print what it gathered.
        var reporters: [any Reporter] = []
        let collector = output.collector()
        let style = output.style(fd: out.fd)
        if let c = collector { reporters.append(c) }
        if let p = OutputOptions.progress(source: source, readFile: readFile) { reporters.append(p) }
        reporters.append(json
            ? JSONReporter(output: out, packets: printPackets, stats: output.stats ? collector : nil)
            : TextReporter(output: out, printer: printPackets ? PacketLinePrinter(
                timestampStyle: timestampStyle, nanoseconds: nano, printNumber: number,
                absoluteSequence: absoluteSeq, utcOffset: localUTCOffset, interfaceNames: source.interfaceNames) : nil,
                style: style))
        if output.stats, !json, let c = collector { reporters.append(StatsReporter(output: out, collector: c, style: style)) }
        let html = output.htmlReporter(collector: collector, source: source, inputName: inputName, readFile: readFile,
                                       filter: filter, namespace: entered?.summary, generator: knetcapVersion)
        if let h = html { reporters.append(h) }
        var diagnosis = Diagnosis(vips: diagnosisOptions.vipAddresses)
        if source.isLive {
            // Live corroboration: counters before, then the listener table and deltas whenever a
            // finding is made (read at most once a second), from the capture namespace's /proc
            // files (KnetcapNetns.readFile).
            let probe = entered.map { e in
                LiveProbe(source: "/proc/net of network namespace \(e.namespace.identity) (\(e.target))", read: e.namespace.readFile)
            } ?? LiveProbe()
            let before = probe.snapshot()
            var cached: (at: Date, evidence: LiveEvidence)?
            diagnosis.liveEvidence = {
                if let c = cached, Date().timeIntervalSince(c.at) < 1 { return c.evidence }
                let e = probe.reading(since: before)
                cached = (Date(), e)
                return e
            }
        }
        // Fields that need earlier packets (tcp.stream, dns.time, HTTP heads): all for JSON
        // packets; the session adds what -Y reads.
        let session = CaptureSession(source: source, diagnosis: diagnosis, reporters: reporters, writer: writer,
                                     displayFilter: displayFilter, tracking: json && printPackets ? .all : [], count: count)
        let read = session.read()
        let (end, n) = (read.end, read.packets)
        // The counts first: a second Ctrl-C during the diagnosis ends knetcap at once.
        if let s = source.statistics() {
            let msg = "\(n) packets captured\n\(s.received) packets received by filter\n\(s.dropped) packets dropped by kernel\n"
                + (s.interfaceDropped > 0 ? "\(s.interfaceDropped) packets dropped by interface\n" : "")
            FileHandle.standardError.write(Data(msg.utf8))
        }
        if let hits = displayFilter?.regexLimitHits, hits > 0 {  // -Y matches: PCRE2 gave up (tshark: silently no match)
            FileHandle.standardError.write(Data("knetcap: -Y: the regular expression hit PCRE2's match or depth limit on \(hits) packet\(hits == 1 ? "" : "s") (counted as no match, as tshark does)\n".utf8))
        }
        if PcapSource.exitRequested {  // a second signal came while the -w file was still open
            let sig = PcapSource.stopSignal
            let file = writeFile.map { $0 == "-" ? "; the pcap on standard output is complete" : "; \($0) is complete" } ?? ""
            FileHandle.standardError.write(Data("knetcap: stopped by a second signal before the diagnosis (\(n) packets read\(file))\n".utf8))
            Foundation.exit(128 + (sig == 0 ? SIGINT : sig))
        }
        let outcome = session.finish(read)
        if case .failed(let msg) = end {
            if msg.contains("different from the type of the first interface") || msg.contains("snapshot length") {
                throw Fatal(.unsupportedLinkType, "\(inputName): stopped after \(n) packets: \(msg) (libpcap \(PcapSource.libraryVersion.split(separator: " ").dropFirst(2).first ?? "") cannot read pcapng files whose interfaces differ in link type or snapshot length; tshark can)")
            }
            throw Fatal(.readFailed, "\(inputName): read failed after \(n) packets: \(msg)")
        }
        if let w = writer, let e = w.error {
            throw Fatal(.cannotWrite, "cannot write \(w.path): \(e) (the file is incomplete)")
        }
        if let e = out.error { throw Fatal(.cannotWrite, "cannot write standard output: \(e)") }
        if let h = html, let e = h.error { throw Fatal(.cannotWrite, "--html: cannot write \(h.path): \(e)") }
        if diagnosisOptions.shouldFail(outcome.report.findings) { throw ExitCode(Exit.findingReported.rawValue) }
    }
}

/// Prints `knetcap: MESSAGE` on stderr and exits with `code`.
func fail(_ code: Exit, _ message: String) -> Never {
    FileHandle.standardError.write(Data("knetcap: \(message)\n".utf8))
    Foundation.exit(code.rawValue)
}

/// Parses `arguments` for `command` and runs it. Usage errors get one line and exit status 2
/// (not ArgumentParser's 64); `Fatal` and `CaptureError` get their own codes.
func execute<C: ParsableCommand>(_ command: C.Type, _ arguments: [String]) -> Never {
    do {
        var c = try command.parseAsRoot(arguments)
        try c.run()
        Foundation.exit(0)
    } catch {
        if let f = error as? Fatal { fail(f.code, f.message) }
        if let e = error as? CaptureError { fail(Exit(e), e.message) }
        let code = command.exitCode(for: error)
        if code == .success || error is ExitCode { command.exit(withError: error) }  // --help, explicit exit codes
        let text = command.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad arguments"
        let name = command.configuration.commandName ?? "knetcap"
        fail(.usage, "\(text.replacingOccurrences(of: "Error: ", with: "")) (see \(name) --help)")
    }
}
