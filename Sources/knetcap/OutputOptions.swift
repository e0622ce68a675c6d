import ArgumentParser
import Foundation
import KnetcapDissect
import KnetcapCapture
import KnetcapReport
import KnetcapSession

/// `--html FILE`, `--stats` and `--color WHEN`: the outputs besides the packet lines, the
/// diagnosis and JSON, and the reporters they add to a session.
struct OutputOptions: ParsableArguments {
    @Option(name: .customLong("html"), help: ArgumentHelp("Write a self-contained HTML report to FILE at the end: the capture, each finding with a sequence diagram of its evidence, DNS response times per server, conversations, TCP handshakes.", valueName: "FILE"))
    var htmlFile: String?

    @Flag(name: .customLong("stats"), help: "After the diagnosis, print DNS response time per server and query type (from the first transmission), the largest conversations and TCP handshake outcomes; with --json, in the summary.")
    var stats = false

    @Option(name: .customLong("color"), help: ArgumentHelp("Colour the diagnosis: auto (on a terminal, unless NO_COLOR is set), always or never.", valueName: "WHEN"))
    var color: String = "auto"

    func validate() throws {
        guard ["auto", "always", "never"].contains(color) else {
            throw ValidationError("--color takes auto, always or never, not '\(color)'")
        }
        if htmlFile == "" || htmlFile == "-" { throw ValidationError("--html takes a file name to write the report to") }
    }

    /// The --html file is standard output (`/dev/stdout`, `/proc/self/fd/1`, or the file
    /// standard output is redirected to): same device and inode as descriptor 1.
    var htmlIsStandardOutput: Bool {
        guard let path = htmlFile else { return false }
        var a = stat(), b = stat()
        guard stat(path, &a) == 0, fstat(1, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev
    }

    /// The terminal style for output on `fd`.
    func style(fd: Int32) -> TextStyle {
        TextStyle(when: color, isTerminal: isatty(fd) == 1, noColor: ProcessInfo.processInfo.environment["NO_COLOR"])
    }

    /// Checks the --html file can be written before any packet is read (created empty now).
    /// - Throws: `Fatal(.cannotWrite)`.
    func checkWritable() throws {
        guard let path = htmlFile else { return }
        // An existing FIFO, device or socket is not opened now: opening a FIFO blocks until a
        // reader comes, and closing it again would end that reader's input before the report.
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG, st.st_mode & S_IFMT != S_IFDIR { return }
        // open(2) in place (FileManager.createFile writes a temporary file and renames it over
        // the path, which replaced /dev/full with a regular file once).
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        if fd < 0 {
            let why = errno == EACCES ? "permission denied" : String(cString: strerror(errno))
            throw Fatal(.cannotWrite, "--html: cannot write \(path): \(why)")
        }
        close(fd)
    }

    /// The collector --stats and --html share, or nil when neither is asked for (the default
    /// path then gathers nothing).
    func collector() -> StatsCollector? { stats || htmlFile != nil ? StatsCollector() : nil }

    /// The HTML reporter for `source` (read from a file with BPF `filter`, or live).
    /// `readFile` gives, when the report is written, the file to read again for evidence frames
    /// older than the ones kept (`nil` when there is none: live, or standard input whose copy
    /// could not be kept). `namespace`: what --netns/--container/--pod entered, in words.
    func htmlReporter(collector: StatsCollector?, source: any PacketSource, interfaceNames: [UInt32: String], inputName: String,
                      readFile: (() -> String?)?, filter: String, namespace: String?, generator: String) -> HTMLReporter? {
        guard let path = htmlFile, let collector else { return nil }
        var reread: (((FrameRecord) -> Bool) -> Void)?
        if let readFile {
            reread = { body in
                guard let file = readFile(), let again = try? openCaptureFile(file) else { return }
                // After a stop signal too (the report of an interrupted run still draws its evidence).
                (again as? WiretapSource)?.readsThroughStop = true
                (again as? PcapSource)?.readsThroughStop = true
                if !filter.isEmpty {  // frame numbers count packets the BPF filter passed
                    if let w = again as? WiretapSource { try? w.setFilter(filter) } else if let p = again as? PcapSource { try? p.setFilter(filter) }
                }
                _ = CaptureSession.forEachPacket(of: again) { p, _ in
                    guard let r = FrameRecord(p) else { return true }
                    return body(r)
                }
            }
        }
        let capture = HTMLReporter.Capture(name: inputName, linkType: Knetcap.linkTypeName(source),
                                           interfaces: interfaceNames.sorted { $0.key < $1.key }.map(\.value),
                                           namespace: namespace, filter: filter.isEmpty ? nil : filter, generator: generator)
        return HTMLReporter(path: path, capture: capture, collector: collector, reread: reread)
    }

    /// The progress line for `-r FILE` when standard error is a terminal and the file is large.
    static func progress(source: any PacketSource, readFile: String?) -> ProgressReporter? {
        guard let file = readFile, isatty(2) == 1 else { return nil }
        // `-r - < FILE`: standard input is a regular file of known size (a pipe has none).
        var st = stat()
        guard file == "-" ? fstat(0, &st) == 0 && st.st_mode & S_IFMT == S_IFREG : stat(file, &st) == 0,
              Int(st.st_size) >= ProgressReporter.minimumFileSize else { return nil }
        let size = Int(st.st_size)
        // libpcap's position in the file; wiretap's in the uncompressed stream (clamped for a
        // compressed file, whose percentage then says how far the file's size has been read).
        if let p = source as? PcapSource { return ProgressReporter(fileSize: size, position: { p.fileOffset }) }
        if let w = source as? WiretapSource { return ProgressReporter(fileSize: size, position: { min(Int(w.lastOffset), size) }) }
        return nil
    }
}
