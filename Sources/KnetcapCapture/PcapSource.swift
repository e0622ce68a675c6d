import CPcap
import CSignals
#if canImport(Glibc)
import Glibc
#endif

/// One packet as libpcap delivered it. `bytes` is valid only until the next read.
public struct RawPacket {
    /// Capture time: seconds since the epoch and nanoseconds.
    public var seconds: Int64
    public var nanoseconds: Int32
    /// Bytes captured and bytes on the wire.
    public var capturedLength: Int
    public var originalLength: Int
    public var bytes: UnsafeRawBufferPointer
    /// libpcap's header for this packet, for `PcapWriter` (nanoseconds in `ts.tv_usec` when
    /// the source reads with nanosecond precision, as files always are).
    public var header: UnsafePointer<pcap_pkthdr>
    /// This packet's link type (a DLT_/LINKTYPE_ value): the source's, or in a pcapng file
    /// with several interfaces, its own interface's.
    public var linkType: Int32
    /// The interface the packet came from: its index among the file's interface description
    /// blocks (0 for pcap files and live captures).
    public var interface: UInt32 = 0
    /// wiretap's record for this packet (`WiretapSource`): lets `PcapngWriter` copy it with its
    /// interface and comments. `nil` for libpcap and memory sources.
    public var record: OpaquePointer? = nil
    /// Records before this packet that are not packets but that Wireshark numbers as frames
    /// (pcapng custom blocks): frame numbers skip them, so evidence frames match Wireshark's.
    public var framesBefore: Int = 0
    /// False for a record without a timestamp (a pcapng simple packet block): its time is 0.
    public var hasTimestamp = true
}

/// Why `PcapSource.forEach` returned.
public enum EndReason: Sendable, Equatable {
    /// End of file.
    case endOfFile
    /// The body asked to stop (e.g. `-c` reached).
    case stoppedByCaller
    /// SIGINT or SIGTERM arrived.
    case interrupted
    /// libpcap reported an error part-way; packets before it were delivered.
    case failed(String)
    /// The file is bad part-way (a truncated or corrupt record, a decompression error):
    /// the error names the file, the byte offset and what is wrong; packets before it were
    /// delivered.
    case badInput(CaptureError)
}

/// Where packets come from: a live device or classic pcap file through libpcap (`PcapSource`),
/// any capture file Wireshark reads through libwiretap (`WiretapSource`), or packets held in
/// memory (`MemorySource`, for tests). `forEach` delivers them in capture order.
public protocol PacketSource: AnyObject {
    /// The data link type (a DLT_ value).
    var linkType: Int32 { get }
    var isLive: Bool { get }
    /// Calls `body` for each packet until the end, an error, a signal, or `body` returns false.
    func forEach(_ body: (RawPacket) -> Bool) -> EndReason
    /// Live statistics (received by the filter, dropped by the kernel and the interface), `nil` for files.
    func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)?
}

/// A libpcap handle: an offline file (pcap or pcapng, through libpcap) or a live device.
/// Closes the handle (and the file) on deinit.
public final class PcapSource: PacketSource {
    public let handle: OpaquePointer
    /// The data link type (`pcap_datalink`, a DLT_ value).
    public let linkType: Int32
    /// The snapshot length the handle uses.
    public let snapshotLength: Int32
    public let isLive: Bool
    /// For a live capture: interface index → name in the capture's network namespace when it
    /// was opened (SLL2 packets of `-i any` carry the index). Empty for files.
    public private(set) var interfaceNames: [UInt32: String] = [:]
    private let nanoPrecision: Bool
    private var fileBuffer: UnsafeMutableRawPointer?

    private init(handle: OpaquePointer, isLive: Bool, nano: Bool, fileBuffer: UnsafeMutableRawPointer? = nil) {
        self.handle = handle
        self.isLive = isLive
        self.nanoPrecision = nano
        self.fileBuffer = fileBuffer
        linkType = pcap_datalink(handle)
        snapshotLength = pcap_snapshot(handle)
    }

    /// For a file: how many bytes of it libpcap has read so far (its stdio position), for a
    /// progress line; `nil` live or when unknown.
    public var fileOffset: Int? {
        guard !isLive, let f = pcap_file(handle) else { return nil }
        let o = ftello(f)
        return o < 0 ? nil : Int(o)
    }

    deinit {
        knetcap_set_active_handle(nil)
        pcap_close(handle)  // also fcloses an offline FILE*
        free(fileBuffer)
    }

    /// Opens a pcap or pcapng file for reading with nanosecond timestamps. `"-"` reads stdin.
    /// The file gets a 1 MiB stdio buffer (libpcap reads 4 KiB at a time otherwise).
    /// - Throws: `CaptureError` `.noSuchFile`, `.permissionDenied`, `.notACapture`.
    public static func openFile(_ path: String) throws(CaptureError) -> PcapSource {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let fp: UnsafeMutablePointer<FILE>
        if path == "-" {
            guard let s = fdopen(dup(0), "rb") else { throw CaptureError(.other, "cannot read standard input") }
            fp = s
        } else {
            try checkReadable(path)
            guard let f = fopen(path, "rb") else {
                let e = errno
                if e == EACCES { throw CaptureError(.permissionDenied, "\(path): Permission denied") }
                throw CaptureError(.other, "\(path): \(String(cString: strerror(e)))")
            }
            fp = f
        }
        let size = 1 << 20
        let buf = malloc(size)
        if let buf { setvbuf(fp, buf.assumingMemoryBound(to: CChar.self), _IOFBF, size) }
        guard let h = pcap_fopen_offline_with_tstamp_precision(fp, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(fp)
            free(buf)
            let msg = cString(errbuf)
            let name = path == "-" ? "standard input" : path
            throw CaptureError(.notACapture, "\(name): not a pcap or pcapng capture libpcap can read (\(msg.isEmpty ? "unknown format" : msg))")
        }
        let s = PcapSource(handle: h, isLive: false, nano: true, fileBuffer: buf)
        s.fileMicroseconds = path != "-" && classicPcapMicrosecondMagic(path)
        return s
    }

    /// A classic pcap file with microsecond timestamps (its magic number; read as nanoseconds):
    /// `-w` writes microseconds back, as tcpdump does.
    public private(set) var fileMicroseconds = false

    /// Opens a live capture on `interface` (`any` included): snapshot length `snaplen` bytes,
    /// promiscuous unless `promiscuous` is false, read timeout `timeoutMilliseconds`, immediate
    /// delivery when `immediate`. Timestamps in nanoseconds when the device supports it.
    /// - Throws: `CaptureError` `.noSuchInterface`, `.permissionDenied`, `.other`.
    public static func openLive(_ interface: String, snaplen: Int32, promiscuous: Bool = true,
                                timeoutMilliseconds: Int32 = 50, immediate: Bool = false,
                                bufferBytes: Int32 = 32 << 20) throws(CaptureError) -> PcapSource {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(interface, &errbuf) else {
            throw CaptureError(.other, "\(interface): \(cString(errbuf))")
        }
        pcap_set_snaplen(h, snaplen)
        pcap_set_promisc(h, promiscuous ? 1 : 0)
        pcap_set_timeout(h, timeoutMilliseconds)
        pcap_set_immediate_mode(h, immediate ? 1 : 0)
        // 32 MiB ring. With the 262144-byte default snaplen a small ring holds few frames on
        // `any`, and a burst overflows it (tcpdump's -B).
        pcap_set_buffer_size(h, bufferBytes)
        let nano = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let rc = pcap_activate(h)
        if rc < 0 {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            switch rc {
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw CaptureError(.noSuchInterface, "\(interface): no such interface in this network namespace (see `ip link` or `knetcap interfaces`)")
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
                throw CaptureError(.permissionDenied, "\(interface): permission denied: live capture needs root or CAP_NET_RAW (\(detail))")
            case PCAP_ERROR_IFACE_NOT_UP:
                throw CaptureError(.other, "\(interface): interface is down")
            default:
                throw CaptureError(.other, "\(interface): \(detail.isEmpty ? "cannot open device" : detail)")
            }
        }
        // `any` as LINUX_SLL2, as tcpdump 4.99: each packet says its interface and direction.
        if interface == "any" { _ = pcap_set_datalink(h, 276) }  // DLT_LINUX_SLL2
        let source = PcapSource(handle: h, isLive: true, nano: nano)
        source.interfaceNames = Self.interfaceNames()
        return source
    }

    /// Interface index → name in the calling thread's network namespace (`if_nameindex`).
    static func interfaceNames() -> [UInt32: String] {
        guard let list = if_nameindex() else { return [:] }
        defer { if_freenameindex(list) }
        var names: [UInt32: String] = [:]
        var i = 0
        while list[i].if_index != 0, let name = list[i].if_name {
            names[list[i].if_index] = String(cString: name)
            i += 1
        }
        return names
    }

    /// Compiles and installs a BPF capture filter (tcpdump's expression language, compiled by
    /// libpcap), optimised, with an unknown netmask.
    /// - Throws: `CaptureError.badFilter` with libpcap's message.
    public func setFilter(_ expression: String) throws(CaptureError) {
        var prog = bpf_program()
        if pcap_compile(handle, &prog, expression, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            throw CaptureError(.badFilter, "capture filter \"\(expression)\": \(String(cString: pcap_geterr(handle)))")
        }
        defer { pcap_freecode(&prog) }
        if pcap_setfilter(handle, &prog) != 0 {
            throw CaptureError(.badFilter, "capture filter \"\(expression)\": \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// Installs the SIGINT/SIGTERM handler that ends `forEach` cleanly (so a `-w` file is
    /// complete). Idempotent.
    public static func installStopHandler() { _ = knetcap_install_stop_handler() }

    /// Whether a broken pipe (SIGPIPE) stops reading, as tcpdump's does (the default); false:
    /// the write that met it fails with EPIPE and only that writer stops (`-r FILE -w -`).
    public static func sigpipeStopsReading(_ stops: Bool) { knetcap_set_sigpipe_stops(stops ? 1 : 0) }

    /// True once SIGINT, SIGTERM, SIGHUP or SIGPIPE has been received.
    public static var stopRequested: Bool { knetcap_stop_level() != 0 }
    /// True once a second stop signal came while a `-w` file was still open: close the files
    /// and exit without the diagnosis.
    public static var exitRequested: Bool { knetcap_stop_level() >= 2 }
    /// The signal that asked to stop (0 if none).
    public static var stopSignal: Int32 { knetcap_stop_signal_number() }
    /// Every `-w` file is complete: from now on a second stop signal ends the process at once.
    public static func markExitSafe() { knetcap_mark_exit_safe() }
    /// A temporary file a second stop signal removes before it ends the process (`nil`: none):
    /// the file being rewritten with finding comments, never renamed over its original then.
    public static func removeOnExit(_ path: String?) { knetcap_set_exit_unlink(path) }

    /// A file read to its end even after a stop signal (a second pass once the capture is
    /// over: `--html`'s evidence frames), which a stop must not cut short.
    public var readsThroughStop = false

    /// Calls `body` for each packet until end of file, error, signal, or `body` returns false.
    public func forEach(_ body: (RawPacket) -> Bool) -> EndReason {
        knetcap_set_active_handle(UnsafeMutableRawPointer(handle))
        defer { knetcap_set_active_handle(nil) }
        var hdr: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        // A file's byte offset of the next record, for the error that names a bad one: the file
        // header, then per record its header (16 bytes; 24 in the Nokia/Red Hat variants libpcap
        // also reads, so measured once at the first record) and its captured bytes.
        var offset = isLive ? nil : fileOffset
        var recordHeader: Int?
        while true {
            if knetcap_stop_level() != 0 && !readsThroughStop { drain(body); return .interrupted }
            let rc = pcap_next_ex(handle, &hdr, &data)
            if rc == 1, let h = hdr, let d = data {
                if let o = offset {
                    if recordHeader == nil, let now = fileOffset { recordHeader = now - o - Int(h.pointee.caplen) }
                    offset = o + (recordHeader ?? 16) + Int(h.pointee.caplen)
                }
                let p = raw(h, d)
                if !body(p) { return .stoppedByCaller }
            } else if rc == 0 {
                continue  // live read timeout
            } else if rc == PCAP_ERROR_BREAK {
                if knetcap_stop_level() != 0 { drain(body); return .interrupted }
                return .endOfFile
            } else {
                let why = String(cString: pcap_geterr(handle))
                return .failed(offset.map { "\(why) (the record at byte offset \($0))" } ?? why)
            }
        }
    }

    /// libpcap's header and data as a `RawPacket`: nanoseconds whatever the handle's precision,
    /// classic-pcap seconds read as unsigned (libpcap 1.10 sign-extends them, turning 2038-2106
    /// into 1901-1969), and an out-of-range sub-second field (hostile files) carried into seconds.
    func raw(_ h: UnsafeMutablePointer<pcap_pkthdr>, _ d: UnsafePointer<UInt8>) -> RawPacket {
        let caplen = Int(h.pointee.caplen)
        var sec = Int64(h.pointee.ts.tv_sec)
        if !isLive && sec < 0 && sec >= -(1 << 31) { sec += 1 << 32 }
        let sub = Int64(UInt32(truncatingIfNeeded: h.pointee.ts.tv_usec))
        var ns = nanoPrecision ? sub : sub * 1000
        if ns >= 1_000_000_000 { sec += ns / 1_000_000_000; ns %= 1_000_000_000 }
        return RawPacket(seconds: sec, nanoseconds: Int32(ns), capturedLength: caplen, originalLength: Int(h.pointee.len),
                         bytes: UnsafeRawBufferPointer(start: d, count: caplen), header: UnsafePointer(h), linkType: linkType)
    }

    /// How long after a stop request a live capture may still deliver packets (ns): the
    /// ring's current block reaches user space when the read timeout retires it.
    static let drainBudgetNanoseconds: Int64 = 90_000_000

    /// After a stop request on a live handle, delivers what the kernel already holds: the
    /// packets stamped before the request, in the ring's retired blocks and in the current
    /// block once the read timeout (`openLive`'s, 50 ms) retires it. Ends at the first packet
    /// stamped after the request (a busy link), when nothing more comes in the budget (90 ms;
    /// a quiet link), or at a second signal; so a stop takes at most ~100 ms on any link.
    func drain(_ body: (RawPacket) -> Bool) {
        guard isLive else { return }
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard pcap_setnonblock(handle, 1, &errbuf) == 0 else { return }
        let stoppedAt = Self.clock(CLOCK_REALTIME)
        let deadline = Self.clock(CLOCK_MONOTONIC) + Self.drainBudgetNanoseconds
        var hdr: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        while knetcap_stop_level() < 2 && Self.clock(CLOCK_MONOTONIC) < deadline {
            let rc = pcap_next_ex(handle, &hdr, &data)
            if rc == 0 {
                usleep(2_000)
                continue
            }
            guard rc == 1, let h = hdr, let d = data else { return }
            let p = raw(h, d)
            // Saturating: a hostile clock cannot trap here.
            let stamped = p.seconds.multipliedReportingOverflow(by: 1_000_000_000)
            if !stamped.overflow, stamped.partialValue &+ Int64(p.nanoseconds) > stoppedAt { return }
            if !body(p) { return }
        }
    }

    /// `clock_gettime` in nanoseconds.
    static func clock(_ id: clockid_t) -> Int64 {
        var t = timespec()
        clock_gettime(id, &t)
        return Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec)
    }

    /// Live statistics (`pcap_stats`): packets received by the filter, dropped by the kernel,
    /// dropped by the interface. `nil` for files.
    public func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        guard isLive else { return nil }
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return (s.ps_recv, s.ps_drop, s.ps_ifdrop)
    }

    /// libpcap's name for a DLT value (`EN10MB`, `LINUX_SLL2`, ...) and its description.
    public static func linkTypeName(_ dlt: Int32) -> String {
        let name = pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "DLT \(dlt)"
        let desc = pcap_datalink_val_to_description(dlt).map { String(cString: $0) }
        return desc.map { "\(name) (\($0))" } ?? name
    }

    /// libpcap's version string.
    public static var libraryVersion: String { String(cString: pcap_lib_version()) }
}

/// Writes packets as a classic pcap file through libpcap (`pcap_dump`), with the source's
/// link type and snapshot length. `close()` (or deinit) flushes and closes it, so the file is
/// complete after Ctrl-C or SIGTERM. Write errors (a full disk, `/dev/full`) are noticed at the
/// packet whose write meets them (and at close) and reported by `error`; writing stops there,
/// and a regular file is cut back to its last complete record (`RecordBoundaries`), so it
/// holds whole records only and `files` counts them.
public final class PcapWriter: PacketWriter {
    /// Why a pcap file cannot take `what` (a packet, an interface) of link type `other`: it
    /// holds one link type, `file`.
    public static func oneLinkType(_ other: Int32, _ what: String, file: Int32) -> String {
        "\(what) has link type \(PcapSource.linkTypeName(other)), but a pcap file holds one link type (\(PcapSource.linkTypeName(file))); write .pcapng (-w NAME.pcapng or --pcapng)"
    }

    private var dumper: OpaquePointer?
    /// The dumper's stdio stream, and where its records end.
    private var stream: UnsafeMutablePointer<FILE>?
    private var boundaries = RecordBoundaries(headerEnd: 0, fd: -1)
    public private(set) var endsOnARecord = false
    private var dead: OpaquePointer?
    private let linkType: Int32
    private var file: WrittenFile
    public let path: String
    /// Why writing failed (errno text), or `nil`.
    public private(set) var error: String?

    /// Microsecond timestamps (the packets' headers carry nanoseconds: divided on the way out).
    private var micro = false

    /// A microsecond file (`source.fileMicroseconds`) is written with microsecond timestamps,
    /// as tcpdump writes it; otherwise with the handle's (nanosecond) precision.
    /// - Throws: `CaptureError.cannotWrite` with libpcap's message.
    public convenience init(source: PcapSource, path: String) throws(CaptureError) {
        if source.fileMicroseconds {
            try self.init(linkType: source.linkType, snaplen: source.snapshotLength, path: path, microseconds: true)
        } else {
            try self.init(handle: source.handle, linkType: source.linkType, path: path)
        }
    }

    private init(handle: OpaquePointer, linkType: Int32, path: String) throws(CaptureError) {
        self.path = path
        self.linkType = linkType
        file = WrittenFile(path: path, isPcapng: false)
        let out = try ReplacementFile(path)
        guard let d = pcap_dump_open(handle, out.openPath) else {
            let msg = out.naming(String(cString: pcap_geterr(handle)))
            out.discard()
            throw CaptureError(.cannotWrite, msg.hasPrefix(path) ? "cannot write \(msg)" : "cannot write \(path): \(msg)")
        }
        dumper = d
        try headerWritten(out)
    }

    /// Flushes the file header and renames the new file over `path` (ReplacementFile): a
    /// header that cannot be written (a full disk) leaves an existing `path` as it was.
    private func headerWritten(_ out: ReplacementFile) throws(CaptureError) {
        // Written in place (standard output, a device, a FIFO): nothing to replace, and the
        // header goes with the first packets, as before (a reader of `-w -` that went away
        // stops the writer there, not the open).
        guard let d = dumper else { return }
        stream = pcap_dump_file(d)
        boundaries = RecordBoundaries(headerEnd: Int64(pcap_dump_ftell64(d)), fd: stream.map { fileno($0) } ?? -1)
        guard out.isTemporary else { return }
        if pcap_dump_flush(d) != 0 || (pcap_dump_file(d).map { ferror($0) != 0 } ?? false) {
            let e = String(cString: strerror(errno == 0 ? EIO : errno))
            pcap_dump_close(d)
            dumper = nil
            out.discard()
            throw CaptureError(.cannotWrite, "cannot write \(path): \(e) (writing its file header)\(out.untouched)")
        }
        do throws(CaptureError) { try out.commit() } catch {
            pcap_dump_close(d)
            dumper = nil
            throw error
        }
    }

    /// A pcap file of link type `linkType` (DLT_), snapshot length `snaplen`, nanosecond
    /// timestamps (microseconds when `microseconds`: the input's own precision was no finer),
    /// for packets of a source libpcap did not open (`WiretapSource`). A packet of another link
    /// type (a pcapng interface of another type) stops writing with an error.
    /// - Throws: `CaptureError.cannotWrite` with libpcap's message.
    public init(linkType: Int32, snaplen: Int32, path: String, microseconds: Bool = false) throws(CaptureError) {
        self.path = path
        self.linkType = linkType
        micro = microseconds
        file = WrittenFile(path: path, isPcapng: false)
        let precision = microseconds ? PCAP_TSTAMP_PRECISION_MICRO : PCAP_TSTAMP_PRECISION_NANO
        guard let h = pcap_open_dead_with_tstamp_precision(linkType, snaplen == 0 ? 262_144 : snaplen, UInt32(precision)) else {
            throw CaptureError(.cannotWrite, "cannot write \(path): libpcap has no pcap handle for link type \(linkType)")
        }
        dead = h
        let out = try ReplacementFile(path)
        guard let d = pcap_dump_open(h, out.openPath) else {
            let msg = out.naming(String(cString: pcap_geterr(h)))
            out.discard()
            pcap_close(h)
            dead = nil
            throw CaptureError(.cannotWrite, msg.hasPrefix(path) ? "cannot write \(msg)" : "cannot write \(path): \(msg)")
        }
        dumper = d
        try headerWritten(out)
    }

    public var failure: String? { error.map { "cannot write \(path): \($0)" } }
    public var files: [WrittenFile] { [file] }
    /// Bytes written so far (flushed or not), for `-C`.
    public var bytesWritten: Int64 { dumper.map { Int64(pcap_dump_ftell64($0)) } ?? 0 }

    @inline(__always) public func write(_ p: RawPacket, frame: Int) {
        write(p)
        if dumper != nil { file.add(frame) }
    }

    @inline(__always) public func write(_ p: RawPacket) {
        guard let d = dumper else { return }
        if p.linkType != linkType {
            error = Self.oneLinkType(p.linkType, "a packet of interface \(p.interface)", file: linkType)
            pcap_dump_close(d)
            dumper = nil
            stream = nil
            return
        }
        if micro {
            var h = p.header.pointee
            h.ts.tv_usec /= 1000
            pcap_dump(UnsafeMutableRawPointer(d).assumingMemoryBound(to: UInt8.self), &h, p.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        } else {
            pcap_dump(UnsafeMutableRawPointer(d).assumingMemoryBound(to: UInt8.self), p.header, p.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        // The write that fails is this packet's: the file holds a prefix of what came before.
        if let f = stream, ferror(f) != 0 {
            failed(String(cString: strerror(errno == 0 ? EIO : errno)))
            return
        }
        boundaries.append(Int64(pcap_dump_ftell64(d)))
    }

    /// A write failed: stop, close, and cut a regular file back to its last complete record.
    private func failed(_ why: String) {
        guard let d = dumper else { return }
        if error == nil { error = why }
        dumper = nil
        stream = nil
        if let kept = boundaries.cutBack(closing: { pcap_dump_close(d) }) {
            file.keepFirst(kept)
            endsOnARecord = true
        }
    }

    public func flush() { if let d = dumper { pcap_dump_flush(d) } }

    /// Flushes and closes the file; afterwards `error` tells whether everything was written.
    public func close() {
        guard let d = dumper else { return }
        if pcap_dump_flush(d) != 0 || (pcap_dump_file(d).map { ferror($0) != 0 } ?? false) {
            failed(String(cString: strerror(errno == 0 ? EIO : errno)))
            return
        }
        pcap_dump_close(d)
        dumper = nil
        stream = nil
    }

    deinit {
        close()
        if let h = dead { pcap_close(h) }
    }
}

/// A NUL-terminated C buffer as a String.
func cString(_ buf: [CChar]) -> String {
    String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
