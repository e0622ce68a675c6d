internal import CWiretap
#if canImport(Glibc)
import Glibc
#endif

/// One input of `knetcap merge`: a capture file and the name of its vantage point (the node
/// or the file's stem), which names its interfaces in the merged file.
public struct MergeInput: Sendable, Equatable {
    public var path: String
    public var label: String
    public init(path: String, label: String) { self.path = path; self.label = label }

    /// The vantage point a file's name gives: its last component without the capture and
    /// compression extensions (`/tmp/node-a.pcapng.gz` → `node-a`).
    public static func label(of path: String) -> String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        for ext in [".gz", ".zst", ".lz4"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        for ext in [".pcapng", ".pcap", ".cap", ".ntar"] where name.hasSuffix(ext) { name.removeLast(ext.count); break }
        return name.isEmpty ? path : name
    }
}

/// What `merge` wrote.
public struct MergeResult: Sendable, Equatable {
    /// Packets written.
    public var packets: Int
    /// The merged file's interfaces, in order: their `if_name`s (`LABEL/NAME`, or `LABEL` for
    /// an interface without a name).
    public var interfaces: [String]
    /// How reading ended: `.endOfFile` (every input read whole) or `.interrupted` (a stop
    /// signal: the file is complete up to there).
    public var end: EndReason
    /// What went wrong: the first input that could not be read past a byte offset (its
    /// packets before it and the other inputs whole are in the file), or the output that
    /// could not be written (the file holds every packet before it).
    public var failure: CaptureError?
}

/// Merges capture files into one pcapng by timestamp, as Wireshark's `mergecap` does by
/// default (`merge.c`, `merge_select_frame`): the next packet is always the earliest of the
/// inputs' next packets, a tie going to the input listed last (`is_earlier` is true for equal times); each input's packets keep
/// their order. Every interface of every input becomes one interface of the output (if_name
/// `LABEL/NAME`, its other options kept, a comment `File: PATH` added); packets keep their
/// comments and flags. Reading and writing go through libwiretap.
///
/// Records that are not packets (pcapng custom blocks, systemd journal entries) are not
/// copied. A stop signal (SIGINT/SIGTERM) ends the merge with the file complete.
/// - Throws: `CaptureError` opening an input (as `-r`) or the output (`.cannotWrite`). An
///   input that cannot be read further ends there (the others are merged whole), and a write
///   error ends the merge, the file complete up to it: `MergeResult.failure`.
public func mergeCaptures(_ inputs: [MergeInput], to path: String) throws(CaptureError) -> MergeResult {
    var sources: [WiretapSource] = []
    for i in inputs { sources.append(try openWiretapFile(i.path)) }
    let comment = "File created by merging: \n" + inputs.enumerated().map { "File\($0.offset + 1): \($0.element.path) \n" }.joined()
    // Opened at the first packet, with that packet's interface: libwiretap 4.0 cannot open a
    // pcapng dumper with no interface.
    var w: UnsafeMutablePointer<knetcap_wtap_writer>? = nil
    func open(_ r: UnsafeMutablePointer<knetcap_wtap_reader>, _ g: Int, _ name: String, _ source: String) throws(CaptureError) {
        var err: Int32 = 0
        var info: UnsafeMutablePointer<gchar>? = nil
        // An existing OUT is replaced only once the new file's header is written (ReplacementFile).
        let out = try ReplacementFile(path)
        w = wiretap { knetcap_wtap_dump_open_merged(out.openPath, "knetcap merge", comment, r, guint(g), name, "File: \(source)", &err, &info) }
        guard let d = w else {
            let detail = info.map { String(cString: $0) }
            g_free(info)
            out.discard()
            throw CaptureError(.cannotWrite, "cannot write \(path): \(PcapngWriter.describe(err, detail))\(out.untouched)")
        }
        var failed: String? = nil
        if out.isTemporary, wiretap({ knetcap_wtap_dump_flush(d) }) == 0 {
            failed = "cannot write \(path): \(PcapngWriter.describe(d.pointee.err, nil)) (writing its section header)\(out.untouched)"
        } else {
            do throws(CaptureError) { try out.commit() } catch { failed = error.message }
        }
        if let f = failed {
            PcapngWriter.closeQuietly(d)
            w = nil
            out.discard()
            throw CaptureError(.cannotWrite, f)
        }
    }
    func close() -> CaptureError? {
        guard let d = w else { return nil }
        w = nil
        var e: Int32 = 0
        var i: UnsafeMutablePointer<gchar>? = nil
        let ok = wiretap { knetcap_wtap_dump_close(d, &e, &i) }
        let detail = i.map { String(cString: $0) }
        g_free(i)
        return ok == 0 ? CaptureError(.cannotWrite, "cannot write \(path): \(PcapngWriter.describe(e, detail))") : nil
    }
    func writeFailed() -> CaptureError {
        let detail = w?.pointee.err_info.map { String(cString: $0) }
        return CaptureError(.cannotWrite, "cannot write \(path): \(PcapngWriter.describe(w?.pointee.err ?? 0, detail))")
    }
    func interfaceName(_ k: Int, _ g: Int) -> String {
        let ifs = sources[k].interfaces
        let original = g < ifs.count ? ifs[g].name : ""
        return original.isEmpty ? inputs[k].label : "\(inputs[k].label)/\(original)"
    }

    // Each input's next packet is its reader's current record (true), or it is at its end.
    var present = [Bool](repeating: false, count: sources.count)
    // Per input: the merged interface of each of its interfaces (by index across its sections).
    var mapped = [[Int32]](repeating: [], count: sources.count)
    var names: [String] = []
    var packets = 0
    var failure: CaptureError? = nil     // writing: ends the merge
    var readFailure: CaptureError? = nil // the first input that could not be read further
    var readFailedInput = 0
    func advance(_ k: Int) {
        let rc = wiretap { knetcap_wtap_next(sources[k].reader) }
        present[k] = rc == 1
        if rc < 0 && readFailure == nil && !PcapSource.stopRequested {
            readFailure = sources[k].readError()
            readFailedInput = k
        }
    }
    for k in sources.indices { advance(k) }
    // Every interface known before the packets (each input's interfaces, the inputs in the
    // order of their first packets) is declared at the start, so a reader of the merge knows
    // its vantage points before the first packet; interfaces met later are added then.
    let firsts = sources.indices.filter { present[$0] }.map { k -> (k: Int, t: (Int64, Int32)) in
        let rec = knetcap_wtap_record(sources[k].reader)!
        return (k, (Int64(knetcap_wtap_secs(rec)), knetcap_wtap_nsecs(rec)))
    }.sorted { $0.t != $1.t ? $0.t < $1.t : $0.k > $1.k }  // a tie to the later input, as below
    for (k, _) in firsts {
        for g in 0..<max(1, sources[k].interfaces.count) where failure == nil {
            let name = interfaceName(k, g)
            if w == nil {
                try open(sources[k].reader, g, name, inputs[k].path)
            } else if wiretap({ knetcap_wtap_merge_add_idb(w, sources[k].reader, guint(g), name, "File: \(inputs[k].path)") }) != 1 {
                failure = writeFailed()
            }
            if mapped[k].count <= g { mapped[k] += [Int32](repeating: -1, count: g + 1 - mapped[k].count) }
            mapped[k][g] = Int32(names.count)
            names.append(name)
        }
    }
    var written = [Int](repeating: 0, count: sources.count)
    var end = EndReason.endOfFile
    while failure == nil {
        if PcapSource.stopRequested { end = .interrupted; break }
        var pick = -1
        var best: (Int64, Int32) = (0, 0)
        for k in sources.indices where present[k] {
            let rec = knetcap_wtap_record(sources[k].reader)!
            let t = (Int64(knetcap_wtap_secs(rec)), knetcap_wtap_nsecs(rec))
            if pick < 0 || t <= best { pick = k; best = t }  // mergecap's is_earlier: a tie goes to the later input
        }
        guard pick >= 0 else { break }
        let r = sources[pick].reader
        let g = Int(wiretap { knetcap_wtap_record_global_interface(r) })
        if mapped[pick].count <= g { mapped[pick] += [Int32](repeating: -1, count: g + 1 - mapped[pick].count) }
        if mapped[pick][g] < 0 {
            let name = interfaceName(pick, g)
            if w == nil {
                try open(r, g, name, inputs[pick].path)
            } else if wiretap({ knetcap_wtap_merge_add_idb(w, r, guint(g), name, "File: \(inputs[pick].path)") }) != 1 {
                failure = writeFailed(); break
            }
            mapped[pick][g] = Int32(names.count)
            names.append(name)
        }
        guard wiretap({ knetcap_wtap_merge_write(w, r, guint(mapped[pick][g])) }) == 1 else { failure = writeFailed(); break }
        packets += 1
        written[pick] += 1
        advance(pick)
    }
    if w == nil {
        // No packet in any input: the file still gets the first input's first interface.
        try open(sources[0].reader, 0, interfaceName(0, 0), inputs[0].path)
        names.append(interfaceName(0, 0))
    }
    if let e = close(), failure == nil { failure = e }
    if failure == nil, let e = readFailure {
        failure = CaptureError(e.kind, "\(e.message) (its \(written[readFailedInput] == 1 ? "1 packet" : "\(written[readFailedInput]) packets") before it and every packet of the other inputs are in the merge)")
    }
    return MergeResult(packets: packets, interfaces: names, end: end, failure: failure)
}
