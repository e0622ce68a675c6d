import CPcap
internal import CWiretap
#if canImport(Glibc)
import Glibc
#endif

/// Where `-w` packets go: a classic pcap file (`PcapWriter`, libpcap), a pcapng file
/// (`PcapngWriter`, libwiretap), or a rotation of either (`RotatingWriter`).
public protocol PacketWriter: AnyObject {
    /// Writes `p`, frame number `frame` (1-based, Wireshark's `frame.number`) of the capture.
    func write(_ p: RawPacket, frame: Int)
    /// Flushes and closes every file; afterwards `error` says whether all was written.
    func close()
    /// Why writing failed (one line naming the file), or `nil`.
    var failure: String? { get }
    /// The files written, each with the frame numbers it holds (in order), once closed.
    var files: [WrittenFile] { get }
    /// Bytes written to the current file so far (buffered included), for `-C`.
    var bytesWritten: Int64 { get }
    /// True when no more packets will be written (`-G` with `-W`: the last file is done).
    var isFull: Bool { get }
    /// After a failed write, true when the file was cut back to its last complete record:
    /// `files` then counts exactly the packets it holds (false: standard output, a device,
    /// a FIFO, which cannot be cut; `files` counts the packets handed to it).
    var endsOnARecord: Bool { get }
}

extension PacketWriter {
    public var isFull: Bool { false }
    public var endsOnARecord: Bool { false }
}

/// One output file and the capture's frame numbers it holds, as runs of consecutive
/// numbers (a display filter leaves gaps): record k of the file is the k-th number.
public struct WrittenFile: Sendable, Equatable {
    public var path: String
    public var isPcapng: Bool
    public var frames: [ClosedRange<Int>]
    public init(path: String, isPcapng: Bool, frames: [ClosedRange<Int>] = []) {
        self.path = path; self.isPcapng = isPcapng; self.frames = frames
    }
    /// Appends `frame` (greater than every frame so far).
    mutating func add(_ frame: Int) {
        if let last = frames.last, last.upperBound == frame - 1 {
            frames[frames.count - 1] = last.lowerBound...frame
        } else {
            frames.append(frame...frame)
        }
    }
    /// The number of packets in the file.
    public var count: Int { frames.reduce(0) { $0 + $1.count } }
}

/// What a pcapng file says about the interface knetcap captured on (when the packets come
/// from libpcap: a live capture or a classic pcap file): one interface description block.
public struct InterfaceDescription: Sendable, Equatable {
    /// `if_name` (the `-i` device; empty for a file).
    public var name: String
    /// `if_filter`: the BPF capture filter, libpcap syntax (empty: none).
    public var filter: String
    /// `if_description` (empty: none).
    public var description: String
    /// The block's `opt_comment`s: ptcpdump's `Key: value` lines (`PodName: web-0`).
    public var comments: [String]
    public init(name: String = "", filter: String = "", description: String = "", comments: [String] = []) {
        self.name = name; self.filter = filter; self.description = description; self.comments = comments
    }
}

/// Writes pcapng through Wireshark's libwiretap (`wtap_dump_open`, `wtap_dump`): when the
/// packets come from a `WiretapSource`, with that file's section header and interfaces (each
/// packet on its own interface, its comments kept); otherwise with one interface description
/// block (`InterfaceDescription`, nanosecond `if_tsresol`). Packet comments
/// (`opt_comment`) may be added per packet. A write error (a full disk) stops writing and is
/// reported by `failure`, naming the file; a regular file is cut back to its last complete
/// block (`RecordBoundaries`), so it holds whole blocks only and `files` counts them.
public final class PcapngWriter: PacketWriter {
    private var writer: UnsafeMutablePointer<knetcap_wtap_writer>?
    private var boundaries = RecordBoundaries(headerEnd: 0, fd: -1)
    public private(set) var endsOnARecord = false
    private let reader: UnsafeMutablePointer<knetcap_wtap_reader>?
    private let keepAlive: WiretapSource?
    private let linkType: Int32
    public let path: String
    public private(set) var failure: String?
    private var file: WrittenFile
    /// Interfaces of a file opened with `interfaces:` (packets of another interface go to the last).
    private let interfaceCount: Int

    /// Opens `path` (`-`: standard output) for packets of `source` (a `WiretapSource` is
    /// copied interface for interface, each given `interface.filter` as if_filter when there
    /// is one; a `MultiPcapSource` gets one interface per handle, `interfaces[k]` for handle k;
    /// any other source gets `interface`).
    /// - Throws: `CaptureError.cannotWrite` naming the file and wiretap's reason.
    public convenience init(path: String, source: any PacketSource, snaplen: Int32, interface: InterfaceDescription,
                            interfaces: [InterfaceDescription] = []) throws(CaptureError) {
        if let w = source as? WiretapSource {
            try self.init(path: path, like: w, filter: interface.filter)
        } else if let m = source as? MultiPcapSource {
            try self.init(path: path, interfaces: m.sources.enumerated().map { k, s in
                (s.linkType, s.snapshotLength, k < interfaces.count ? interfaces[k] : interface)
            })
        } else {
            try self.init(path: path, interfaces: [(source.linkType, snaplen, interface)])
        }
    }

    /// Opens `path` like the file `w` reads: its section header and interfaces.
    init(path: String, like w: WiretapSource, filter: String) throws(CaptureError) {
        self.path = path
        linkType = w.linkType
        file = WrittenFile(path: path, isPcapng: true)
        interfaceCount = Int.max
        reader = w.reader
        keepAlive = w
        // A pcapng section gives each packet's interface in an IDB before the packet
        // (pcapng spec, section 4.2); an input with none read at open has no packets or
        // breaks that rule, and wiretap cannot copy it (editcap refuses it too). Refused
        // before `path` is opened, so an existing file is left as it was.
        var first = [knetcap_wtap_interface_info](repeating: knetcap_wtap_interface_info(), count: 1)
        if wiretap({ knetcap_wtap_interfaces(w.reader, &first, 1) }) == 0 {
            writer = nil
            throw Self.noInterface(path: path, input: w)
        }
        var err: Int32 = 0
        var info: UnsafeMutablePointer<gchar>? = nil
        let out = try ReplacementFile(path)
        writer = wiretap { knetcap_wtap_dump_open_like(out.openPath, w.reader, filter, &err, &info) }
        try headerWritten(out, err, info)
    }

    /// Opens `path` with one interface description block per element (link type, snapshot
    /// length, description); a packet goes to the interface `RawPacket.interface` names.
    public init(path: String, interfaces: [(linkType: Int32, snaplen: Int32, description: InterfaceDescription)]) throws(CaptureError) {
        self.path = path
        linkType = interfaces.first?.linkType ?? -1
        file = WrittenFile(path: path, isPcapng: true)
        interfaceCount = interfaces.count
        reader = nil
        keepAlive = nil
        var err: Int32 = 0
        var info: UnsafeMutablePointer<gchar>? = nil
        let dlts = interfaces.map(\.linkType), snaps = interfaces.map { UInt32(clamping: $0.snaplen) }
        let counts = interfaces.map { Int32($0.description.comments.count) }
        let filter = interfaces.first?.description.filter ?? ""
        let out = try ReplacementFile(path)
        writer = withCStrings(interfaces.map(\.description.name)) { names, _ in
            withCStrings(interfaces.map(\.description.description)) { descriptions, _ in
                withCStrings(interfaces.flatMap(\.description.comments)) { comments, _ in wiretap {
                    knetcap_wtap_dump_open_many(out.openPath, Int32(interfaces.count), dlts, snaps, names, filter, descriptions, comments, counts,
                                                "knetcap", &err, &info)
                } }
            }
        }
        try headerWritten(out, err, info)
    }

    /// After the open: the section header and interface blocks flushed to the file, then the
    /// new file renamed over `path` (ReplacementFile); a failure (a full disk) removes the new
    /// file and leaves an existing `path` as it was.
    private func headerWritten(_ out: ReplacementFile, _ err: Int32, _ info: UnsafeMutablePointer<gchar>?) throws(CaptureError) {
        do throws(CaptureError) { try Self.opened(writer, path, err, info) } catch {
            out.discard()
            throw CaptureError(.cannotWrite, error.message + out.untouched)
        }
        if let w = writer { boundaries = RecordBoundaries(headerEnd: Int64(knetcap_wtap_bytes_dumped(w)), fd: knetcap_wtap_dump_fd(w)) }
        // Written in place (standard output, a device, a FIFO): nothing to replace, and the
        // header goes with the first packets, as before.
        guard let w = writer, out.isTemporary else { return }
        if wiretap({ knetcap_wtap_dump_flush(w) }) == 0 {
            let why = Self.describe(w.pointee.err, nil)
            Self.closeQuietly(w)
            writer = nil
            out.discard()
            throw CaptureError(.cannotWrite, "cannot write \(path): \(why) (writing its section header)\(out.untouched)")
        }
        do throws(CaptureError) { try out.commit() } catch {
            Self.closeQuietly(w)
            writer = nil
            throw error
        }
    }

    /// The error for copying `input`, a file with no interface read at open, to `path` (as
    /// pcapng or classic pcap: there is no link type for its header either), raised before
    /// `path` is opened.
    public static func noInterface(path: String, input: WiretapSource) -> CaptureError {
        // A format with no interface blocks (nettl) whose encapsulation has no pcap link type.
        if !input.fileType.hasPrefix("pcapng") && !input.perPacketLinkType {
            return CaptureError(.cannotWrite, "cannot write \(path): \(input.name) is a \(input.fileType) file of \(input.encapsulation), "
                                + "which has no pcap or pcapng link type, so libwiretap cannot copy its packets (editcap refuses it too); \(path) was not touched")
        }
        return CaptureError(.cannotWrite, "cannot write \(path): \(input.name) has no interface description block before its first packet "
                     + "(no packets, a pcapng file that breaks the format, or one whose interface blocks follow another block, such as a custom block, "
                     + "which libwiretap 4.0 does not read when it opens the file; editcap refuses it too), so there is nothing to copy; \(path) was not touched")
    }

    private static func opened(_ writer: UnsafeMutablePointer<knetcap_wtap_writer>?, _ path: String, _ err: Int32,
                               _ info: UnsafeMutablePointer<gchar>?) throws(CaptureError) {
        guard writer == nil else { return }
        let detail = info.map { String(cString: $0) }
        g_free(info)
        throw CaptureError(.cannotWrite, "cannot write \(path): \(Self.describe(err, detail))")
    }

    public func write(_ p: RawPacket, frame: Int) { write(p, frame: frame, comments: []) }

    /// Writes `p` with `comments` added to its own (one `opt_comment` each).
    public func write(_ p: RawPacket, frame: Int, comments: [String]) {
        guard let w = writer else { return }
        let ok = withCStrings(comments) { ptrs, n -> Int32 in
            if let r = reader, p.record == OpaquePointer(r) {
                return wiretap { knetcap_wtap_dump_record(w, r, ptrs, n) }
            }
            return wiretap { knetcap_wtap_dump_packet(w, gint64(p.seconds), p.nanoseconds, UInt32(clamping: p.capturedLength), UInt32(clamping: p.originalLength),
                                            p.linkType, guint(min(Int(p.interface), interfaceCount - 1)), p.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), ptrs, n) }
        }
        if ok == 0 {
            let detail = w.pointee.err_info.map { String(cString: $0) }
            failed("cannot write \(path): \(Self.describe(w.pointee.err, detail))")
            return
        }
        boundaries.append(Int64(knetcap_wtap_bytes_dumped(w)))
        file.add(frame)
    }

    /// A write failed: stop, close, and cut a regular file back to its last complete block.
    private func failed(_ why: String) {
        guard let w = writer else { return }
        if failure == nil { failure = why }
        writer = nil
        if let kept = boundaries.cutBack(closing: { Self.closeQuietly(w) }) {
            file.keepFirst(kept)
            endsOnARecord = true
        }
    }

    /// Bytes written so far (the file's size once flushed), for `-C`.
    public var bytesWritten: Int64 { writer.map { Int64(knetcap_wtap_bytes_dumped($0)) } ?? 0 }

    public func close() {
        guard let w = writer else { return }
        // The buffer's last blocks: a flush that fails leaves the file cut back, as a write.
        if wiretap({ knetcap_wtap_dump_flush(w) }) == 0 {
            failed("cannot write \(path): \(Self.describe(w.pointee.err, nil))")
            return
        }
        var err: Int32 = 0
        var info: UnsafeMutablePointer<gchar>? = nil
        if wiretap({ knetcap_wtap_dump_close(w, &err, &info) }) == 0, failure == nil {
            failure = "cannot write \(path): \(Self.describe(err, info.map { String(cString: $0) }))"
        }
        g_free(info)
        writer = nil
    }

    public var files: [WrittenFile] { [file] }

    /// Closes `w` after a failure already reported (its own error ignored).
    static func closeQuietly(_ w: UnsafeMutablePointer<knetcap_wtap_writer>) {
        var e: Int32 = 0
        var i: UnsafeMutablePointer<gchar>? = nil
        _ = wiretap { knetcap_wtap_dump_close(w, &e, &i) }
        g_free(i)
    }

    deinit { close() }

    static func describe(_ err: Int32, _ detail: String?) -> String {
        let text = err > 0 ? String(cString: strerror(err)) : (knetcap_wtap_strerror(err).map { String(cString: $0) } ?? "error \(err)")
        return detail.map { "\(text) (\($0))" } ?? text
    }

    /// Rewrites the pcapng file `path` with `comments[k]` added to its record k (0-based; one
    /// the record already has is not added again),
    /// through a temporary file in the same directory renamed over it: the file is complete
    /// whenever it is interrupted. Returns the number of records read (0, untouched, when
    /// `path` is not a regular file: a device, a FIFO, /dev/null).
    /// - Throws: `CaptureError` reading or writing, or `.other` when a second stop signal
    ///   came during the pass (`PcapSource.exitRequested`); the original file is left as it was.
    @discardableResult
    public static func addComments(to given: String, _ comments: [Int: [String]]) throws(CaptureError) -> Int {
        // `-w LINK`: the file the link points to is rewritten, the link kept (as the writer
        // wrote through it).
        var path = given
        var st = stat()
        if lstat(given, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let real = realpath(given, nil) {
            path = String(cString: real)
            free(real)
        }
        // Only a regular file is rewritten: renaming over /dev/null, a FIFO or a device
        // (`-w /dev/null --pcapng`) would replace it with a file.
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return 0 }
        let src = try WiretapSource(path: path)
        // Read whole although the capture was stopped by a signal (this pass comes after it: a
        // stop made it write an empty file over the capture); a second signal ends knetcap
        // with the original left as it was and the temporary file removed.
        src.readsThroughStop = true
        let tmp = path + ".knetcap-tmp"
        PcapSource.removeOnExit(tmp)
        defer { PcapSource.removeOnExit(nil) }
        let out = try PcapngWriter(path: tmp, source: src, snaplen: src.snapshotLength, interface: InterfaceDescription())
        var k = 0
        let end = src.forEach { p in
            // A second stop signal during this pass: the original stays as it was, the
            // temporary file goes, and the caller is told (`PcapSource.exitRequested` is set).
            if PcapSource.exitRequested { return false }
            // A comment the record already has (a knetcap-written file read again) is not added twice.
            var add = comments[k] ?? []
            if !add.isEmpty {
                let have = Set(WiretapSource.comments(p))
                add.removeAll { have.contains($0) }
            }
            out.write(p, frame: k + 1, comments: add)
            k += 1
            return out.failure == nil
        }
        out.close()
        if PcapSource.exitRequested {
            unlink(tmp)
            throw CaptureError(.other, "stopped by a second signal while adding the finding comments to \(given)")
        }
        if case .badInput(let e) = end { unlink(tmp); throw e }
        if let f = out.failure { unlink(tmp); throw CaptureError(.cannotWrite, f) }
        if case .failed(let why) = end { unlink(tmp); throw CaptureError(.readFailed, "\(path): \(why)") }
        guard end == .endOfFile else { unlink(tmp); return 0 }  // never renamed over the capture unless read whole
        // The rewritten file keeps the capture's permissions (and, as root, its owner): a
        // private capture stays private.
        _ = chmod(tmp, st.st_mode & 0o7777)
        if geteuid() == 0 { _ = chown(tmp, st.st_uid, st.st_gid) }
        if rename(tmp, path) != 0 {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw CaptureError(.cannotWrite, "cannot write \(path): \(e)")
        }
        return k
    }
}

/// Calls `body` with `strings` as C strings (valid during the call) and their count.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> R) -> R {
    if strings.isEmpty { return body(nil, 0) }
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let ptrs: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress, Int32(strings.count)) }
}
