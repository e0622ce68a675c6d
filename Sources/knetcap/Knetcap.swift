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

    @Flag(name: .customLong("pcapng"), help: "Write -w as pcapng (the default when FILE ends in .pcapng): interface name and filter, pod metadata, findings as packet comments.")
    var writePcapng = false

    @Option(name: .customShort("C"), parsing: .unconditional, help: ArgumentHelp("With -w: a new file after MB million bytes (FILE, FILE1, FILE2 ...), as tcpdump: a whole number, no unit suffix.", valueName: "MB"))
    var fileSizeArgument: String?

    /// `-C` in millions of bytes, read as tcpdump 4.99.3 reads it (`validate` refuses the rest).
    var fileSize: Int? { fileSizeArgument.flatMap { if case .megabytes(let m) = Self.tcpdumpFileSize($0) { m } else { nil } } }

    /// What tcpdump 4.99.3's `-C` takes (`strtoint64_t(optarg, &endp, 10)`, then nothing may
    /// follow): optional leading white space, an optional sign, decimal digits; positive, and
    /// at most 2^63-1 bytes once multiplied by 1 000 000. It takes no unit suffix (`1k` is
    /// "invalid file size 1k") and no fraction.
    enum FileSizeArgument: Equatable {
        case megabytes(Int)
        /// Not a decimal integer (a suffix, a fraction, trailing text, nothing).
        case notANumber
        /// Zero or negative.
        case notPositive(String)
        /// Over 2^63-1 bytes (or past 64 bits itself).
        case tooLarge
    }

    static func tcpdumpFileSize(_ text: String) -> FileSizeArgument {
        // strtol's white space: the C locale's isspace.
        var rest = Substring(text).drop { " \t\n\u{0B}\u{0C}\r".contains($0) }
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" { negative = sign == "-"; rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .notANumber }
        guard let value = Int(rest) else { return .tooLarge }
        if negative || value == 0 { return .notPositive(negative && value != 0 ? "-\(value)" : "0") }
        return value > Int.max / 1_000_000 ? .tooLarge : .megabytes(value)
    }

    @Option(name: .customShort("G"), parsing: .unconditional, help: ArgumentHelp("With -w: a new file every SECONDS of capture time, FILE a strftime(3) pattern, as tcpdump.", valueName: "SECONDS"))
    var rotateSeconds: Int?

    @Option(name: .customShort("W"), parsing: .unconditional, help: ArgumentHelp("With -C: a ring of COUNT files; with -G alone: stop after COUNT files, as tcpdump.", valueName: "COUNT"))
    var fileCount: Int?

    @Option(name: .customShort("Z"), help: ArgumentHelp("Drop privileges to USER once the capture and -w file are open (namespaces entered before), as tcpdump.", valueName: "USER"))
    var user: String?

    @Option(name: .customShort("T"), help: ArgumentHelp("Output format: fields (with -e), as tshark -T fields; the diagnosis goes to standard error.", valueName: "FORMAT"))
    var outputFormat: String?

    @Option(name: .customShort("e"), help: ArgumentHelp("With -T fields: a field to print (Wireshark name; repeatable; knetcap --fields lists them).", valueName: "FIELD"))
    var fieldNames: [String] = []

    @Option(name: .customShort("E"), help: ArgumentHelp("With -T fields: separator=C, aggregator=C, header=y|n, occurrence=f|l|a, quote=d|s|n, bom=y|n, as tshark.", valueName: "OPTION=VALUE"))
    var fieldOptions: [String] = []

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
        if let c = fileSizeArgument {
            switch Self.tcpdumpFileSize(c) {
            case .megabytes: break
            case .notANumber:
                throw ValidationError("-C \(c): the file size is a whole number of millions of bytes (-C 1 is 1000000 bytes), with no unit suffix or fraction, as tcpdump 4.99.3 takes it")
            case .notPositive(let v): throw ValidationError("-C takes a positive file size in millions of bytes, not \(v)")
            // MB × 1 000 000 must fit in 64 bits (tcpdump: "file size N is too large").
            case .tooLarge: throw ValidationError("-C \(c): file size is too large (at most \(Int.max / 1_000_000) million bytes)")
            }
        }
        if let g = rotateSeconds, g <= 0 { throw ValidationError("-G takes a positive number of seconds, not \(g)") }
        if let w = fileCount, w <= 0 { throw ValidationError("-W takes a positive file count, not \(w)") }
        if fileCount != nil && fileSize == nil && rotateSeconds == nil { throw ValidationError("-W needs -C or -G") }
        // Before any file is opened: an unknown -Z user must not replace an existing -w file.
        if let u = user, getpwnam(u) == nil { throw ValidationError("-Z \(u): no such user") }
        if (fileSize != nil || rotateSeconds != nil) && (writeFile == nil || writeFile == "-") { throw ValidationError("-C and -G need -w FILE (a file name, not standard output)") }
        if writePcapng && writeFile == nil { throw ValidationError("--pcapng needs -w FILE") }
        // The reader takes .gz, .zst and .lz4 by name; the writer does not compress (a record
        // cut back after a full disk or a signal must leave a readable file): never write a
        // plain capture under a compressed file's name.
        if let w = writeFile, let ext = [".gz", ".zst", ".lz4"].first(where: { w.lowercased().hasSuffix($0) }) {
            let plain = String(w.dropLast(ext.count))
            throw ValidationError("-w \(w): knetcap writes captures uncompressed; write \(plain) and compress it afterwards (\(ext == ".gz" ? "gzip" : ext == ".zst" ? "zstd" : "lz4") \(plain))")
        }
        // tshark: "You can't write both raw packet data and dissected packets to the standard output."
        if outputFormat != nil && writeFile == "-" { throw ValidationError("-T fields with -w -: the field lines and the pcap cannot both go to standard output (write the pcap to a file, as tshark asks)") }
        if let t = outputFormat, t != "fields" { throw ValidationError("-T \(t): knetcap writes only -T fields (tshark's field export); --json for JSON") }
        if outputFormat == nil && (!fieldNames.isEmpty || !fieldOptions.isEmpty) { throw ValidationError("-e and -E need -T fields") }
        if outputFormat != nil && json { throw ValidationError("use either -T fields or --json, not both") }
    }

    /// How messages name the input: the file, standard input, or the interface.
    /// What `-r -` says of standard input shorter than a capture file header.
    func shortInputMessage(_ n: Int, name: String = "standard input") -> String {
        n == 0 ? "\(name): empty (0 bytes): not a pcap or pcapng capture"
               : "\(name): not a pcap or pcapng capture: truncated file header (\(n) byte\(n == 1 ? "" : "s"); a pcap header is 24, a pcapng section header 28)"
    }

    /// Whether `path` is something other than a regular file (a FIFO, a device, /dev/stdin's
    /// pipe): it cannot be read a second time.
    static func isReadOnce(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT != S_IFREG && st.st_mode & S_IFMT != S_IFDIR
    }

    var inputName: String { readFile.map { $0 == "-" ? "standard input" : $0 } ?? interface ?? "any" }

    /// Refuses (usage, before anything is opened or written) a `-w` or `--html` file that is the
    /// `-r` input, or an `--html` file that is the `-w` output: compared by device and inode
    /// (or, not yet created, by directory and name), so `./x`, `d/../x` and symlinks are caught,
    /// and `-` is the file standard input (`-r -`) or standard output (`-w -`) is.
    /// - Throws: `Fatal(.usage)`.
    func checkOutputsSpareTheInput() throws {
        let input = readFile.flatMap { FileIdentity($0, standardFD: 0) }
        let written = writeFile.flatMap { FileIdentity($0, standardFD: 1) }
        let inputName = readFile == "-" ? "standard input" : "the file -r reads"
        // A pipe or FIFO is not destroyed but read: writing it would block on knetcap's own input.
        var harm = "destroy the input"
        if case .channel? = input { harm = "block knetcap on its own input (a pipe or FIFO)" }
        if let w = writeFile, let i = input, written == i {
            throw Fatal(.usage, "-w \(w) is \(inputName): writing it would \(harm); write to another file")
        }
        // -C writes NAME1, NAME2 (NAME0... with -W) after NAME: one of them may be the input.
        if let w = writeFile, w != "-", fileSize != nil, let r = readFile, r != "-", Self.isRotatedName(r, of: w) {
            throw Fatal(.usage, "-w \(w) -C would write \(r), the file -r reads: write to another name")
        }
        if let h = output.htmlFile, writeFile == "-", output.htmlIsStandardOutput {
            throw Fatal(.usage, "--html \(h) is standard output, which -w - writes the capture to: write the report to another file")
        }
        if let h = output.htmlFile, let report = FileIdentity(h, standardFD: -1) {
            if report == input {
                throw Fatal(.usage, "--html \(h) is \(inputName): writing the report would \(harm); write it to another file")
            }
            if let w = writeFile, report == written {
                throw Fatal(.usage, "--html \(h) is the file -w writes\(w == "-" ? " (standard output)" : ""): write the report to another file")
            }
            // -C names the next files NAME1, NAME2 (NAME0... with -W): one of them is a -w file too.
            if let w = writeFile, w != "-", fileSize != nil, Self.isRotatedName(h, of: w) {
                throw Fatal(.usage, "--html \(h) is one of the files -w \(w) -C writes: write the report to another file")
            }
        }
    }

    /// The exit-9 line for the interfaces of `unsupported` (a pcapng file's interfaces whose
    /// link type knetcap does not dissect; nil when there are none): one named as before, or
    /// each of several (index, `if_name`, link type, packets, first frame; the first eight,
    /// then how many more). `interfaces`: the source's, across sections, for the names.
    static func unsupportedMessage(_ unsupported: [CaptureSession.UnsupportedInterface], interfaces: [WiretapSource.Interface], input: String) -> String? {
        guard let first = unsupported.first else { return nil }
        // Named by its index across sections (the number shown counts within its section).
        func name(_ u: CaptureSession.UnsupportedInterface) -> String {
            interfaces.dropFirst(Int(u.globalInterface)).first.map { $0.name.isEmpty ? "" : " (\($0.name))" } ?? ""
        }
        if unsupported.count == 1 {
            let u = first
            return "\(input): interface \(u.interface)\(name(u)) has link type \(u.linkTypeName), which knetcap does not dissect: its \(packetCount(u.packets)) from frame \(u.firstFrame) \(u.packets == 1 ? "was" : "were") read but not diagnosed"
        }
        let shown = 8
        let each = unsupported.prefix(shown).map { u in "interface \(u.interface)\(name(u)): \(u.linkTypeName), \(packetCount(u.packets)) from frame \(u.firstFrame)" }
        let rest = unsupported.dropFirst(shown)
        // CaptureSession follows at most `unsupportedLimit` of them.
        let atLeast = unsupported.count >= CaptureSession.unsupportedLimit ? "at least " : ""
        let more = rest.isEmpty ? "" : "; and \(atLeast)\(rest.count) more (\(packetCount(rest.reduce(0) { $0 + $1.packets })))"
        return "\(input): \(atLeast)\(unsupported.count) interfaces have link types knetcap does not dissect; their packets were read but not diagnosed: \(each.joined(separator: "; "))\(more)"
    }

    /// Whether `r` is a `-C -W` ring that wrapped: a ring file written again, its earlier
    /// packets overwritten.
    static func ringWrapped(_ r: RotatingWriter) -> Bool {
        r.rotation.files != nil && r.rotation.fileBytes != nil && r.reusedFiles > 0
    }

    /// "N files written: F (P packets), ..." (the first ten, then how many more), and when a
    /// ring wrapped, how often its files were reused, the packets written that are gone and
    /// which the files hold: the last ones written.
    static func filesWritten(_ r: RotatingWriter) -> String {
        let files = r.files
        let listed = files.prefix(10).map { "\($0.path) (\(packetCount($0.count)))" }.joined(separator: ", ")
        let more = files.count > 10 ? " and \(files.count - 10) more" : ""
        var line = "\(files.count) file\(files.count == 1 ? "" : "s") written: \(listed)\(more)"
        if ringWrapped(r), let w = r.rotation.files {
            let held = files.reduce(0) { $0 + $1.count }
            let first = files.compactMap { $0.frames.first?.lowerBound }.min(), last = files.compactMap { $0.frames.last?.upperBound }.max()
            let kept = first.flatMap { f in last.map { " (frames \(f) to \($0))" } } ?? ""
            let before = first.map { " (frames before \($0))" } ?? ""
            line += "; the ring of \(w) file\(w == 1 ? "" : "s") wrapped: its files were reused \(r.reusedFiles == 1 ? "once" : "\(r.reusedFiles) times"), "
                + "overwriting the first \(packetCount(r.overwrittenPackets)) written\(before); the files hold the last \(packetCount(held))\(kept)"
        }
        return line
    }

    /// Whether `path` is `name` followed by a count (`-C`'s NAME1, NAME2, ...; NAME0 with `-W`),
    /// in the same directory.
    static func isRotatedName(_ path: String, of name: String) -> Bool {
        let p = (path as NSString).lastPathComponent, n = (name as NSString).lastPathComponent
        guard p.count > n.count, p.hasPrefix(n), p.dropFirst(n.count).allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        var a = stat(), b = stat()
        return stat(FileIdentity.directory(of: path), &a) == 0 && stat(FileIdentity.directory(of: name), &b) == 0
            && a.st_dev == b.st_dev && a.st_ino == b.st_ino
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
        try checkOutputsSpareTheInput()
        if readFile == nil && interface == nil && !netns.isGiven { throw Fatal(.usage, "nothing to read: give -r FILE or -i INTERFACE (e.g. -i any)") }
        let displayFilter = try display.compiled()  // -Y: before anything is opened
        var fieldsOptions = FieldsReporter.Options()
        do {
            for e in fieldOptions { try fieldsOptions.apply(e) }
            // Checked before anything is opened; built again below on the real output.
            if outputFormat != nil { _ = try FieldsReporter(names: fieldNames, options: fieldsOptions, output: TextOutput(collecting: ())) }
        } catch { throw Fatal(.usage, error.message) }
        // --netns/--container/--pod: resolve and open that network namespace (nil: knetcap's own);
        // the live handle is opened inside it (NetnsOptions.swift).
        // Several (repeated --netns/--container/--pod): one handle in each, one pcapng interface
        // each (MultiPcapSource), `entered` nil.
        let namespaces = try netns.openAll(readingFile: readFile)
        let entered = namespaces.count == 1 ? namespaces.first : nil
        if namespaces.count > 1, let w = writeFile, !(writePcapng || w.hasSuffix(".pcapng")) {
            throw Fatal(.usage, "-w \(w): a capture in \(namespaces.count) network namespaces is written as pcapng, one interface each (name it .pcapng or add --pcapng)")
        }
        // -r: classic pcap through libpcap, everything else through libwiretap (openCaptureFile).
        let source: any PacketSource
        let live: PcapSource?
        var stdinCopy: InputRelay?
        if let path = readFile {
            // A FIFO (or a device) is read once as standard input is (with --html, re-opening it
            // for old evidence frames waited for a writer that never came).
            // Any FIFO, pipe or device (`/dev/stdin`, `<(...)`) goes through the relay too: its
            // copy of a compressed stream is what names a broken one (exit 13), as for a file.
            if path == "-" && closedStandardDescriptors.contains(0) {
                throw Fatal(.failure, "standard input: \(String(cString: strerror(EBADF))) (it is closed)")
            }
            let fifoFD = path != "-" && Self.isReadOnce(path) ? open(path, O_RDONLY) : -1
            if path == "-" || fifoFD >= 0 {
                // Standard input through a relay (InputRelay), which counts its bytes (wiretap
                // takes an empty or very short input for a heuristic format) and, for --html,
                // keeps a copy to read evidence frames older than the packets it keeps.
                let name = path == "-" ? "standard input" : path
                let relay = InputRelay(from: path == "-" ? 0 : fifoFD, keepCopy: output.htmlFile != nil, copyIfCompressed: true)
                stdinCopy = output.htmlFile != nil ? relay : nil
                do {
                    source = try openCaptureFile(relay.readPath, name: name, relay: relay)
                    (source as? WiretapSource)?.compressedCopy = { () throws(CaptureError) in try relay.drainedCopy() }
                } catch {
                    // (A compressed stream that short is broken, exit 13: its length counts compressed bytes.)
                    if let n = relay.length, n < 24, !relay.isCompressed { throw Fatal(.notACapture, shortInputMessage(n, name: name)) }
                    if let e = relay.damagedCompression(name: name, after: error as? CaptureError) { throw e }
                    throw error
                }
                // Opening reads the first blocks; an input shorter than any capture header has ended by then.
                if let n = relay.length, n < 24 {
                    if relay.isCompressed, let e = relay.damagedCompression(name: name, after: nil) { throw e }
                    throw Fatal(.notACapture, shortInputMessage(n, name: name))
                }
                if let e = misreadCompressedStream(source, head: relay.firstBytes, name: name) { throw e }
            } else {
                source = try openCaptureFile(path)
            }
            live = nil
        } else if namespaces.count > 1 {
            var handles: [PcapSource] = []
            for e in namespaces {
                handles.append(try inNamespace(e) {
                    try PcapSource.openLive(interface ?? "any", snaplen: snaplen == 0 ? 262_144 : snaplen, promiscuous: !noPromiscuous,
                                            immediate: false)
                })
            }
            source = MultiPcapSource(sources: handles, names: namespaces.map { "\($0.label)/\(interface ?? "any")" })
            live = nil
        } else {
            let l = try inNamespace(entered) {
                try PcapSource.openLive(interface ?? "any", snaplen: snaplen == 0 ? 262_144 : snaplen, promiscuous: !noPromiscuous,
                                        immediate: false)
            }
            source = l
            live = l
        }
        let link = LinkType(rawValue: source.linkType)
        let perPacket = (source as? WiretapSource)?.perPacketLinkType ?? false
        // A file wiretap gives no pcap link type (no interface before its first packet, a format
        // without one) is read on: its packets' own link types, or wiretap's error, say what is wrong.
        let unknown = source is WiretapSource && source.linkType < 0
        guard link.isSupported || perPacket || unknown else {
            throw Fatal(.unsupportedLinkType, "\(inputName): link type \(Self.linkTypeName(source)) is not supported (knetcap reads Ethernet, Linux SLL/SLL2, RAW, IPv4/IPv6, NULL/LOOP and NFLOG)")
        }
        let filter = expression.joined(separator: " ")
        if !filter.isEmpty {
            if let l = live { try l.setFilter(filter) } else if let w = source as? WiretapSource { try w.setFilter(filter) }
            else if let m = source as? MultiPcapSource { for h in m.sources { try h.setFilter(filter) } }
            else if let p = source as? PcapSource { try p.setFilter(filter) }
        }
        let writer = try writeFile.map { p throws(CaptureError) in
            try openWriter(p, source: source, filter: filter, entered: entered, namespaces: namespaces)
        }
        if let u = user { try dropPrivileges(to: u, files: writer?.files.map(\.path) ?? []) }
        try output.checkWritable()

        // SIGINT, SIGTERM, SIGHUP (unless ignored) and SIGPIPE stop the capture, as tcpdump's.
        PcapSource.installStopHandler()
        // `-r FILE -w -`: the pcap on standard output, the diagnosis on standard error. A reader
        // of the pcap that goes away (`| head -c 100`) stops the writing, not the reading: the
        // diagnosis covers the whole file. (A live capture stops there, as tcpdump exits.)
        if writeFile == "-" && !source.isLive { PcapSource.sigpipeStopsReading(false) }
        TextOutput.givesUpOnSignal = { PcapSource.exitRequested }  // a blocked write ends at a second signal
        if source.isLive {
            // With rotation, the files actually written, as tcpdump users expect them named.
            let what = writeFile.map { w in "writing to \((writer as? RotatingWriter)?.plan ?? w)" } ?? "printing"
            let whereFrom = namespaces.count > 1 ? " in \(namespaces.count) network namespaces (\(namespaces.map(\.label).joined(separator: ", ")))" : ""
            let snap = live?.snapshotLength ?? (source as? MultiPcapSource)?.sources[0].snapshotLength ?? 0
            FileHandle.standardError.write(Data("knetcap: listening on \(interface ?? "any")\(whereFrom), link-type \(PcapSource.linkTypeName(source.linkType)), snapshot length \(snap) bytes, \(what)\n".utf8))
        }

        // `-w -` puts the pcap on standard output: the diagnosis goes to standard error.
        // Standard output carries the -w - capture or the --html /dev/stdout report: the
        // packet lines, diagnosis and JSON go to standard error instead (as tcpdump's with -w -).
        let out = TextOutput(fd: writeFile == "-" || output.htmlIsStandardOutput ? 2 : 1)
        out.flushesEachPacket = source.isLive
        let printPackets = !quiet && writer == nil
        // The outputs: one reporter each (a new output is one more line here). The statistics
        // collector comes first: the reporters after it print what it gathered.
        var reporters: [any Reporter] = []
        let collector = output.collector()
        let style = output.style(fd: out.fd)
        if let c = collector { reporters.append(c) }
        // Not while packet lines go to the same terminal: a line rewritten in place there would
        // run into them.
        if !(printPackets && isatty(out.fd) == 1), let p = OutputOptions.progress(source: source, readFile: readFile) { reporters.append(p) }
        var tracking: CaptureState.Tracking = json && printPackets ? .all : []
        // Where the diagnosis and --stats tables go: standard output, or standard error when
        // standard output carries -T fields lines.
        var diagnosisOut = out
        if outputFormat != nil {
            // -T fields: the field lines on standard output, the diagnosis on standard error.
            let fields = try FieldsReporter(names: fieldNames, options: fieldsOptions, output: out)
            tracking.formUnion(fields.tracking)
            // With -w FILE too, as tshark prints field lines while it writes (tcpdump -w prints none).
            if !quiet { reporters.append(fields) }
            diagnosisOut = TextOutput(fd: 2)
            reporters.append(TextReporter(output: diagnosisOut, printer: nil))
        } else {
            reporters.append(json
                ? JSONReporter(output: out, packets: printPackets, stats: output.stats ? collector : nil)
                : TextReporter(output: out, printer: printPackets ? PacketLinePrinter(
                    timestampStyle: timestampStyle, nanoseconds: nano, printNumber: number,
                    absoluteSequence: absoluteSeq, utcOffset: localUTCOffset, interfaceNames: live?.interfaceNames ?? [:]) : nil,
                    style: style))
        }
        if output.stats, !json, let c = collector { reporters.append(StatsReporter(output: diagnosisOut, collector: c, style: style)) }
        let html = output.htmlReporter(collector: collector, source: source, interfaceNames: live?.interfaceNames ?? [:], inputName: inputName,
                                       readFile: stdinCopy.map { r in { r.copyPath } } ?? readFile.map { f in { f } },
                                       filter: filter, namespace: entered?.summary ?? (namespaces.isEmpty ? nil : namespaces.map(\.summary).joined(separator: "; ")),
                                       generator: knetcapVersion)
        if let h = html { reporters.append(h) }
        Dissector.dnsPorts = Set(diagnosisOptions.dnsPorts)
        var diagnosis = Diagnosis(vips: diagnosisOptions.vipAddresses)
        if source.isLive && namespaces.count <= 1 {
            // Live corroboration (one namespace: its /proc files; none with several): counters before, then the listener table and deltas whenever a
            // finding is made (read at most once a second), from the capture namespace's /proc
            // files (KnetcapNetns.readFile).
            var probe = entered.map { e in
                LiveProbe(source: "/proc/net of network namespace \(e.namespace.identity) (\(e.target))", read: e.namespace.readFile)
            } ?? LiveProbe()
            // An address the capture namespace does not own: which other namespace has it.
            let own = entered.map { ($0.namespace.device, $0.namespace.inode) } ?? ownNetworkNamespace()
            probe.owners = LiveProbe.AddressOwners {
                hostNamespaces().filter { ns in own.map { ($0.0, $0.1) != (ns.device, ns.inode) } ?? true }.map { ns in
                    LiveProbe.AddressOwners.Namespace(description: ns.description, netns: ns.netnsArgument, read: ns.readFile)
                }
            }
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
                                     displayFilter: displayFilter, tracking: tracking, count: count)
        let read = session.read()
        let (end, n) = (read.end, read.packets)
        // The counts first: a second Ctrl-C during the diagnosis ends knetcap at once.
        if let s = source.statistics() {
            // tcpdump's words and plurals (PLURAL_SUFFIX: "1 packet captured").
            let msg = "\(packetCount(n)) captured\n\(packetCount(Int(s.received))) received by filter\n\(packetCount(Int(s.dropped))) dropped by kernel\n"
                + (s.interfaceDropped > 0 ? "\(packetCount(Int(s.interfaceDropped))) dropped by interface\n" : "")
            FileHandle.standardError.write(Data(msg.utf8))
        }
        if let r = writer as? RotatingWriter, source.isLive || Self.ringWrapped(r) {
            // The files written, named with their packets (the first ten, then how many more);
            // after -r only when a -C -W ring wrapped (packets written were overwritten).
            FileHandle.standardError.write(Data("knetcap: \(Self.filesWritten(r))\n".utf8))
        }
        if let r = writer as? RotatingWriter, let again = r.firstOverwritten {
            FileHandle.standardError.write(Data("knetcap: warning: -G \(rotateSeconds ?? 0): \(r.overwritten) rotation\(r.overwritten == 1 ? "" : "s") reused a file name already written this run (the first: \(again)) and overwrote that file: the strftime fields of \(writeFile ?? "") repeat within the capture (add finer ones, such as %H%M%S)\n".utf8))
        }
        if let r = writer as? RotatingWriter, r.isFull {  // tcpdump: "Maximum file limit reached: N"
            // Frame n would have begun the next file: read (and diagnosed), not written. The
            // count is what was read before it, what the files hold (tcpdump's "packets
            // captured" counts it too; knetcap's counts line, as tcpdump's, does).
            let held = r.files.reduce(0) { $0 + $1.count }, before = n - 1
            let files = r.files.count == 1 ? "that file" : "those \(r.files.count) files"
            let whereHeld = held == before ? "all in \(files)" : "\(files) holding the \(held) -Y matched"
            FileHandle.standardError.write(Data("knetcap: maximum file limit reached: \(fileCount ?? 0) file\(fileCount == 1 ? "" : "s") (-W with -G); the capture stopped after \(packetCount(before)), \(whereHeld); frame \(n), the first after the last file's interval, was read and diagnosed but not written\n".utf8))
        }
        if end == .interrupted, !source.isLive, PcapSource.stopSignal != SIGPIPE, !PcapSource.exitRequested {
            // -r stopped by a signal: the counts, and that the diagnosis covers only what was read
            // (not for SIGPIPE: standard output is gone, `| head` had what it wanted).
            let sig = Self.signalName(PcapSource.stopSignal)
            FileHandle.standardError.write(Data("\(packetCount(n)) read\nknetcap: reading \(inputName) was interrupted by \(sig): the diagnosis covers the \(packetCount(n)) read before it\n".utf8))
        }
        if end == .interrupted, !source.isLive, PcapSource.stopSignal == SIGPIPE, outputFormat != nil, !quiet {
            // -T fields | head: standard output's reader went away, reading stopped there (as
            // tshark's); the diagnosis still comes, on standard error: say it covers only that.
            FileHandle.standardError.write(Data("\(packetCount(n)) read\nknetcap: reading \(inputName) stopped at frame \(n) when the reader of the field lines on standard output went away (SIGPIPE): the diagnosis covers frames 1 to \(n) only, not the whole file\n".utf8))
        }
        if let hits = displayFilter?.regexLimitHits, hits > 0 {  // -Y matches: PCRE2 gave up (tshark: silently no match)
            FileHandle.standardError.write(Data("knetcap: -Y: the regular expression hit PCRE2's match or depth limit on \(hits) packet\(hits == 1 ? "" : "s") (counted as no match, as tshark does)\n".utf8))
        }
        if PcapSource.exitRequested {  // a second signal came while the -w file was still open
            let sig = PcapSource.stopSignal
            let file = writeFile.map { $0 == "-" ? "; the pcap on standard output is complete" : "; \($0) is complete" } ?? ""
            FileHandle.standardError.write(Data("knetcap: stopped by a second signal before the diagnosis (\(packetCount(n)) read\(file))\n".utf8))
            Foundation.exit(128 + (sig == 0 ? SIGINT : sig))
        }
        let outcome = session.finish(read)
        // Interfaces knetcap does not dissect (exit 9): when reading or writing also failed,
        // that failure's status wins (it is checked first) and this line comes before its line.
        let unsupportedLine = Self.unsupportedMessage(session.unsupported, interfaces: (source as? WiretapSource)?.interfaces ?? [], input: inputName)
        func sayUnsupportedFirst() {
            if let line = unsupportedLine { FileHandle.standardError.write(Data("\(errorPrefix): \(line)\n".utf8)) }
        }
        // pcapng -w: each finding as a packet comment on its evidence frames (a second pass
        // over the written files, which are complete before it; PcapngWriter.addComments).
        if let w = writer, w.failure == nil {
            do {
                try CaptureSession.commentFindings(outcome.report.findings, in: w.files)
            } catch {
                // Only the comment pass failed (a full disk, a directory -Z USER cannot write)
                // or was stopped by a second signal: the capture itself was written whole and
                // is left as it was.
                let total = w.files.reduce(0) { $0 + $1.count }
                if PcapSource.exitRequested {
                    let sig = PcapSource.stopSignal == 0 ? SIGINT : PcapSource.stopSignal
                    let files = w.files.count == 1 ? "\(w.files[0].path) is" : "the \(w.files.count) -w files are"
                    FileHandle.standardError.write(Data("knetcap: stopped by a second signal (\(Self.signalName(sig))) while adding the finding comments: \(files) complete with all \(packetCount(total)), without the comments\n".utf8))
                    Foundation.exit(128 + sig)
                }
                let who = user.map { " (as -Z \($0): the directory must be writable by \($0))" } ?? ""
                let complete = w.files.count == 1
                    ? "\(w.files[0].path) itself is complete with all \(packetCount(total)); only the finding comments could not be added to it"
                    : "the \(w.files.count) -w files are complete with all \(packetCount(total)); only the finding comments could not be added"
                sayUnsupportedFirst()
                throw Fatal(Exit(error), "\(error.message)\(who); \(complete)")
            }
        }
        if case .badInput(let e) = end {
            sayUnsupportedFirst()
            throw Fatal(Exit(e), n == 0 ? "\(e.message), before any packet" : "\(e.message), after \(packetCount(n)) (every packet before it was read and diagnosed)")
        }
        if let w = writer, let e = w.failure {
            sayUnsupportedFirst()
            if let r = w as? RotatingWriter, let next = r.failedToCreate {
                let earlier = r.files.isEmpty ? "" : "; the \(r.files.count) file\(r.files.count == 1 ? "" : "s") before it \(r.files.count == 1 ? "is" : "are") complete (\(packetCount(r.files.reduce(0) { $0 + $1.count })))"
                let who = user.map { " (as -Z \($0): the directory must be writable by \($0))" } ?? ""
                let why = e.hasPrefix("cannot write \(next): ") ? String(e.dropFirst("cannot write \(next): ".count)) : e
                throw Fatal(.cannotWrite, "cannot create the next rotated file \(next): \(why)\(who)\(earlier)")
            }
            // Before an undissected interface or a read error: packets not written are lost
            // data, the worse news (a pcap -w of a pcapng whose interfaces differ in link type).
            // Where it stopped: the packets handed to the file (its last, buffered ones may be
            // what failed), the bytes that reached it, and that no later packet was written.
            let handed = w.files.last?.count ?? 0
            // A regular file cut back to its last complete record: what it holds, exactly.
            if w.endsOnARecord, let last = w.files.last {
                let holds = last.frames.last.map { "\(packetCount(last.count)), each complete, the last of them frame \($0.upperBound)" } ?? "its header and no packet"
                let before = w.files.dropLast()
                let earlier = before.isEmpty ? "" : "; the \(before.count) file\(before.count == 1 ? "" : "s") before it \(before.count == 1 ? "is" : "are") complete (\(packetCount(before.reduce(0) { $0 + $1.count })))"
                // pcapng: the comment pass runs only over files written whole; say what it left out.
                let pending = CaptureSession.pendingComments(outcome.report.findings, in: w.files)
                let comments = pending == 0 ? "" : "; the \(pending) finding comment\(pending == 1 ? "" : "s") on frames \(w.files.count == 1 ? "it holds" : "these files hold") \(pending == 1 ? "was" : "were") not added (they are added only when every -w file was written whole)"
                throw Fatal(.cannotWrite, "\(e): it holds \(holds) (cut back to the end of the last whole record; nothing after it was written)\(earlier); the diagnosis covers all \(packetCount(n)) read\(comments)")
            }
            // `-r FILE -w -` whose reader went away: writing stopped, reading did not.
            let gone = writeFile == "-" && !source.isLive && e.hasSuffix(String(cString: strerror(EPIPE)))
                ? "; its reader went away, and the diagnosis covers all \(packetCount(n)) read" : ""
            throw Fatal(.cannotWrite, "\(e): \(handed) of the \(packetCount(n)) read had been handed to it (the file is incomplete; nothing after them was written)\(gone)")
        }
        if let line = unsupportedLine { throw Fatal(.unsupportedLinkType, line) }
        if case .failed(let msg) = end {
            if msg.contains("different from the type of the first interface") || msg.contains("snapshot length") {
                throw Fatal(.unsupportedLinkType, "\(inputName): stopped after \(packetCount(n)): \(msg) (libpcap \(PcapSource.libraryVersion.split(separator: " ").dropFirst(2).first ?? "") cannot read pcapng files whose interfaces differ in link type or snapshot length; tshark can)")
            }
            throw Fatal(.readFailed, "\(inputName): read failed after \(packetCount(n)): \(msg)")
        }
        if let e = out.error { throw Fatal(.cannotWrite, "cannot write standard output: \(e)") }
        if let h = html, let e = h.error { throw Fatal(.cannotWrite, "--html: cannot write \(h.path): \(e)") }
        if diagnosisOptions.shouldFail(outcome.report.findings) { throw ExitCode(Exit.findingReported.rawValue) }
    }
}

extension Knetcap {
    /// The `-w` writer: pcapng (`--pcapng` or a `.pcapng` name) through libwiretap, otherwise
    /// classic pcap through libpcap; rotating with `-C`/`-G`/`-W`.
    func openWriter(_ path: String, source: any PacketSource, filter: String, entered: EnteredNamespace?,
                    namespaces: [EnteredNamespace] = []) throws(CaptureError) -> any PacketWriter {
        let pcapng = writePcapng || path.hasSuffix(".pcapng")
        let snap = (source as? PcapSource)?.snapshotLength ?? (source as? WiretapSource)?.snapshotLength ?? 262_144
        let idb = InterfaceDescription(name: readFile == nil ? (interface ?? "any") : "", filter: filter,
                                       description: entered?.summary ?? "", comments: entered.map { [Self.podComment($0)] } ?? [])
        // Several namespaces: one interface each, named after its pod, container or namespace.
        let idbs = namespaces.count > 1 ? namespaces.map { e in
            InterfaceDescription(name: "\(e.label)/\(interface ?? "any")", filter: filter, description: e.summary, comments: [Self.podComment(e)])
        } : []
        // A rotated name (-C's NAME1, -G's strftime name) may turn out to be the -r input only
        // when it is made: never opened over it.
        let input = readFile.flatMap { FileIdentity($0, standardFD: 0) }
        // An interface of another link type declared later (after other blocks, in a later
        // section): a second pass over the -r file, once, finds its first packet before any
        // file is opened (from standard input or a FIFO, which cannot be read twice, writing
        // stops at that packet).
        // (Only a format that can declare interfaces as it goes: pcapng, or per-packet link types.)
        let laterLinkType = !pcapng && (source as? WiretapSource).map({ $0.isPcapng || $0.perPacketLinkType }) == true
            ? readFile.flatMap { r in r == "-" || Self.isReadOnce(r) ? nil : WiretapSource.packetOfAnotherLinkType(in: r) } : nil
        // A refusal before `p` is opened: an existing file is left as it was.
        func untouched(_ p: String) -> String { FileManager.default.fileExists(atPath: p) ? "; \(p) was not touched" : "" }
        let open = { (p: String) throws(CaptureError) -> any PacketWriter in
            if let i = input, p != path, FileIdentity(p, standardFD: -1) == i {
                throw CaptureError(.cannotWrite, "cannot write \(p): it is the file -r reads (not overwritten; writing stopped there)")
            }
            // An interface whose link type libwiretap has no encapsulation for (LINKTYPE_ 65520):
            // neither format can hold its packets; said in the words reading it uses.
            if let w = source as? WiretapSource, let i = w.interfaces.firstIndex(where: \.isUnknownToWiretap) {
                throw CaptureError(.cannotWrite, "cannot write \(p): interface \(i) has a link type unknown to libwiretap (a LINKTYPE_ value it has no encapsulation for), "
                    + "so its packets cannot be copied (editcap refuses them too)\(untouched(p))")
            }
            if pcapng { return try PcapngWriter(path: p, source: source, snaplen: snap, interface: idb, interfaces: idbs) }
            if let l = source as? PcapSource { return try PcapWriter(source: l, path: p) }
            if let w = source as? WiretapSource, w.interfaces.isEmpty { throw PcapngWriter.noInterface(path: p, input: w) }
            // Interfaces of several link types declared before the first packet: refused before
            // the file is opened (an existing file was replaced, then left with part of the capture).
            if let w = source as? WiretapSource, let first = w.interfaces.first,
               let i = w.interfaces.firstIndex(where: { $0.linkType != first.linkType }) {
                throw CaptureError(.cannotWrite, "cannot write \(p): \(PcapWriter.oneLinkType(w.interfaces[i].linkType, "interface \(i)", file: first.linkType))\(untouched(p))")
            }
            if let other = laterLinkType {
                throw CaptureError(.cannotWrite, "cannot write \(p): \(PcapWriter.oneLinkType(other.linkType, "a packet of interface \(other.interface)", file: other.first))\(untouched(p))")
            }
            // Microseconds when no interface's timestamps are finer (a microsecond pcap or pcapng,
            // as tcpdump and editcap write them); nanoseconds otherwise.
            let micro = (source as? WiretapSource).map { w in w.interfaces.allSatisfy { $0.unitsPerSecond <= 1_000_000 } } ?? false
            return try PcapWriter(linkType: source.linkType, snaplen: snap, path: p, microseconds: micro)
        }
        let rotation = RotatingWriter.Rotation(megabytes: fileSize, seconds: rotateSeconds, files: fileCount)
        guard rotation.isRotating else { return try open(path) }
        let r = RotatingWriter(name: path, rotation: rotation, open: open)
        if source.isLive || rotation.seconds == nil { try r.start(at: Int64(Date().timeIntervalSince1970)) }
        return r
    }

    /// The pod metadata as ptcpdump writes it: `Key: value` lines in one comment.
    static func podComment(_ e: EnteredNamespace) -> String {
        var lines: [String] = []
        if let pod = e.resolution?.pod {
            lines += ["PodName: \(pod.name)", "PodNamespace: \(pod.namespace)", "NodeName: \(pod.node)"]
        } else if let pod = e.resolution?.container.pod {  // the runtime's kubelet labels
            lines += ["PodName: \(pod.name)", "PodNamespace: \(pod.namespace)"]
        }
        if let c = e.resolution?.container {
            lines.append("ContainerId: \(c.id)")
            if let n = c.name { lines.append("ContainerName: \(n)") }
        }
        lines.append("NetNsInode: \(e.namespace.inode)")
        return lines.joined(separator: "\n")
    }

    /// `SIGINT`, `SIGTERM`, ... for the messages (`signal N` for another).
    static func signalName(_ sig: Int32) -> String {
        switch sig {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(sig)"
        }
    }

    static func linkTypeName(_ source: any PacketSource) -> String {
        if source.linkType < 0, let w = source as? WiretapSource {
            // An interface's encapsulation, else the file's (a format with no interface blocks, nettl).
            return w.interfaces.first?.encapsulation ?? w.encapsulation
        }
        return PcapSource.linkTypeName(source.linkType)
    }
}

/// Prints `knetcap: MESSAGE` on stderr and exits with `code`.
/// The program's name at the start of an error line: `kubectl-knetcap` when run as the plugin.
nonisolated(unsafe) var errorPrefix = "knetcap"

func fail(_ code: Exit, _ message: String) -> Never {
    FileHandle.standardError.write(Data("\(errorPrefix): \(message)\n".utf8))
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
