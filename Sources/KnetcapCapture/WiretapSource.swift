import CPcap
import Foundation
internal import CWiretap

/// libwiretap is not thread-safe (wsutil's buffers come from a process-wide free list; Wireshark
/// reads files on one thread). knetcap reads on one thread, but a process may hold several
/// files on several threads (the test suite does): every call into wiretap that opens, reads,
/// writes or closes holds this lock. Recursive: a writer opened while reading nests.
let wiretapLock = NSRecursiveLock()

/// `body` with `wiretapLock` held.
@inline(__always) func wiretap<T>(_ body: () -> T) -> T {
    wiretapLock.lock(); defer { wiretapLock.unlock() }
    return body()
}
#if canImport(Glibc)
import Glibc
#endif

/// A capture file read through Wireshark's file library, libwiretap 4.0 (`wtap_open_offline`,
/// `wtap_read`): every format tshark 4.0 reads — pcap and pcapng of either byte order, several
/// sections, interfaces with different link types, snapshot lengths and `if_tsresol`, packet
/// comments, unknown blocks skipped — and their gzip, zstd and lz4 forms, recognised by magic
/// bytes, from a file or standard input (`-`).
///
/// Each packet carries its own interface's link type (`RawPacket.linkType`, a DLT_ value
/// mapped from wiretap's `WTAP_ENCAP_`), its interface index and wiretap's record (for
/// `PcapngWriter`). Timestamps are nanoseconds whatever the interface's resolution.
public final class WiretapSource: PacketSource {
    /// The file's link type when every interface has the same one; otherwise the first
    /// interface's (each packet says its own).
    public let linkType: Int32
    public var isLive: Bool { false }
    /// True when the file's interfaces differ in link type (wiretap's `WTAP_ENCAP_PER_PACKET`).
    public let perPacketLinkType: Bool
    /// The name messages use: the path, or `standard input`.
    public let name: String
    /// wiretap's name for the format (`pcap`, `pcapng`, `nsecpcap`) and its compression
    /// (`uncompressed`, `gzip compressed`, `zstd compressed`, `lz4 compressed`).
    public let fileType: String
    public let compression: String
    /// wiretap's encapsulation of the file (`WTAP_ENCAP_`; `WTAP_ENCAP_PER_PACKET` when its
    /// interfaces differ), for the formats whose encapsulation has no pcap link type (nettl:
    /// `linkType` -1).
    let fileEncapsulation: Int32
    /// The file's snapshot length in bytes (0 when wiretap does not know one).
    public let snapshotLength: Int32
    /// The byte offset of the last packet's record in the (uncompressed) file.
    public private(set) var lastOffset: Int64 = 0
    let reader: UnsafeMutablePointer<knetcap_wtap_reader>
    var filter: BPFFilters?
    /// The file and its compression by magic bytes (nil for standard input or none): a short
    /// read in a compressed file is checked against the compressed stream itself.
    let path: String
    let compressed: Compression?

    /// Opens `path` (`-` for standard input); `name` is what messages call it (default: the
    /// path, or `standard input`); `relay`, the `InputRelay` whose pipe `path` is (standard
    /// input, a FIFO): its length says where an input cut in its header blocks ends, as a
    /// file's size does.
    /// - Throws: `CaptureError` `.noSuchFile`, `.permissionDenied`, `.notACapture` (a directory,
    ///   an unknown format: wiretap's message), `.decompressFailed`, `.readFailed`.
    public init(path: String, name: String? = nil, relay: InputRelay? = nil) throws(CaptureError) {
        self.name = name ?? (path == "-" ? "standard input" : path)
        self.path = path
        if path != "-" { try checkReadable(path) }
        compressed = path == "-" ? nil : Compression(path: path)
        var err: Int32 = 0
        var info: UnsafeMutablePointer<gchar>? = nil
        guard let r = wiretap({ knetcap_wtap_open(path, &err, &info) }) else {
            let detail = info.map { String(cString: $0) }
            g_free(info)
            // A pcapng whose header blocks wiretap found corrupt: which block, located by wiretap.
            let corruptAt = err == WTAP_ERR_BAD_FILE ? Self.corruptHeaderBlock(relay.map(\.prefix) ?? fileStart(path, Self.headerProbeLimit)) : nil
            throw Self.error(name: self.name, err: err, detail: detail, offset: corruptAt.map(Int64.init), opening: true,
                             inputLength: relay.map { $0.length.map(Int64.init) } ?? regularFileSize(path), stream: relay != nil)
        }
        reader = r
        let encap = knetcap_wtap_file_encap(r)
        fileEncapsulation = encap
        perPacketLinkType = encap == WTAP_ENCAP_PER_PACKET
        var first = encap
        if perPacketLinkType {
            var ifs = [knetcap_wtap_interface_info](repeating: knetcap_wtap_interface_info(), count: 1)
            if wiretap({ knetcap_wtap_interfaces(r, &ifs, 1) }) > 0 { first = ifs[0].encap }
        }
        linkType = Self.dlt(first)
        fileType = knetcap_wtap_file_type(r).map { String(cString: $0) } ?? "unknown"
        compression = knetcap_wtap_compression(r).map { String(cString: $0) } ?? "uncompressed"
        snapshotLength = Int32(clamping: knetcap_wtap_snaplen(r))
    }

    deinit { wiretap { knetcap_wtap_close(reader) } }

    /// The DLT_/LINKTYPE_ value of a wiretap encapsulation (-1 when pcap has none).
    public static func dlt(_ encap: Int32) -> Int32 { knetcap_wtap_encap_to_dlt(encap) }

    /// wiretap's words for encapsulation `encap`: its description and short name
    /// (`Ethernet with nettl headers (wiretap encapsulation nettl-ethernet)`), what messages
    /// name a link type by when it has no pcap link type (DLT -1).
    /// WTAP_ENCAP_UNKNOWN (0): a pcapng interface whose LINKTYPE_ value libwiretap has no
    /// encapsulation for (a reserved or private value such as 65520); the value itself is not
    /// kept, so it is named as that (tshark shows `WTAP_ENCAP = 0`).
    public static func encapsulationName(_ encap: Int32) -> String {
        if encap == 0 { return "unknown to libwiretap (a LINKTYPE_ value it has no encapsulation for; tshark shows WTAP_ENCAP = 0)" }
        let description = knetcap_wtap_encap_description(encap).map { String(cString: $0) } ?? "encapsulation \(encap)"
        let name = knetcap_wtap_encap_name(encap).map { String(cString: $0) }
        return name.map { "\(description) (wiretap encapsulation \($0))" } ?? description
    }

    /// The file is classic pcap (any variant) or pcapng: a format tcpdump reads, whose packet
    /// lines follow tcpdump's to the letter.
    public var isTcpdumpFormat: Bool { libpcapReads.contains(fileType) || isPcapng }

    /// The file is pcapng (wiretap's `pcapng` or a variant of it): interfaces may be declared
    /// after its first packet.
    public var isPcapng: Bool { Self.isPcapng(fileType) }
    static func isPcapng(_ fileType: String) -> Bool { fileType.hasPrefix("pcapng") }

    /// The file's encapsulation in those words (`WTAP_ENCAP_PER_PACKET`: "Per packet").
    public var encapsulation: String { Self.encapsulationName(fileEncapsulation) }

    /// The link type of packet `p` named for a message: its DLT_ name, or, when it has none
    /// (a nettl record), wiretap's name for its encapsulation.
    public static func linkTypeName(_ p: RawPacket) -> String {
        if p.linkType < 0, let r = p.record {
            return encapsulationName(knetcap_wtap_encap(knetcap_wtap_record(UnsafeMutablePointer<knetcap_wtap_reader>(r))!))
        }
        return PcapSource.linkTypeName(p.linkType)
    }

    /// An interface description block as wiretap read it.
    public struct Interface: Sendable, Equatable {
        /// Its DLT_/LINKTYPE_ value (-1: none), and wiretap's description of the encapsulation.
        public var linkType: Int32
        public var encapsulation: String
        /// Snapshot length in bytes (0: none given); `if_tsresol` as time units per second.
        public var snapshotLength: UInt32
        public var unitsPerSecond: UInt64
        /// `if_name` and `if_description` (empty when absent).
        public var name: String
        public var description: String
        /// Its LINKTYPE_ value is one libwiretap has no encapsulation for (WTAP_ENCAP_UNKNOWN,
        /// `encapsulationName`): no format can hold its packets.
        public var isUnknownToWiretap = false
    }

    /// The interfaces read so far (all of them once `forEach` has ended): pcapng IDBs in the
    /// order wiretap numbers them across sections; one for a pcap file.
    public var interfaces: [Interface] {
        // The count first (at most 256, as before): an interface record is about 400 bytes, and
        // a table of 256 of them on every call was a 100 KB zeroed mapping.
        let n = min(Int(wiretap { knetcap_wtap_interfaces(reader, nil, 0) }), 256)
        guard n > 0 else { return [] }
        var ifs = [knetcap_wtap_interface_info](repeating: knetcap_wtap_interface_info(), count: n)
        let got = Int(wiretap { knetcap_wtap_interfaces(reader, &ifs, guint(n)) })
        return ifs.prefix(min(got, n)).map { i in
            var i = i
            let name = withUnsafeBytes(of: &i.name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let desc = withUnsafeBytes(of: &i.description) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            return Interface(linkType: Self.dlt(i.encap), encapsulation: knetcap_wtap_encap_description(i.encap).map { String(cString: $0) } ?? "encapsulation \(i.encap)",
                             snapshotLength: i.snaplen, unitsPerSecond: UInt64(i.units_per_second), name: name, description: desc,
                             isUnknownToWiretap: i.encap == 0)
        }
    }

    /// Where a compressed stream read from a pipe was copied (`InputRelay`, copying only a
    /// compressed input): probed, as a compressed file is, when reading it fails; nil when
    /// there is none; throws `.temporaryCopyFailed` when the copy could not be written.
    public var compressedCopy: (() throws(CaptureError) -> String?)?

    /// Read to the end even after a stop signal: a second pass over a file once the capture
    /// is over (the finding comments, `--html`'s evidence), which a stop must not cut short.
    public var readsThroughStop = false

    /// Records after the last packet that are not packets (pcapng custom blocks, events):
    /// tshark numbers them as frames, so the capture's frame count includes them.
    public private(set) var trailingRecords = 0

    /// Called, in file order, with each record that is not a packet (pcapng custom blocks,
    /// systemd journal entries, events), which tshark numbers and prints as frames; set before
    /// `forEach`. The record's `framesBefore` is its place among the records since the last
    /// packet (1 for the first: its frame number is the last packet's plus 1), its lengths are
    /// tshark's `frame.len` and `frame.cap_len` for it (epan/frame_data.c), its `bytes` the
    /// record's data, `linkType` -1; valid only during the call, like a packet's. Without it
    /// such records are only counted (`framesBefore`, `trailingRecords`).
    public var onOtherRecord: ((RawPacket) -> Void)?

    /// The first packet of `path` whose link type differs from its first packet's: its
    /// interface (within its section), that link type and the first one; nil when every packet
    /// has one link type (or the file cannot be read: reading it proper says why). A second
    /// pass over a file, for `-w NAME.pcap`: an interface block can come after other blocks
    /// before the first packet, or in a later section, where opening the file does not see it;
    /// a classic pcap holds one link type, and an existing `-w` file must be left alone
    /// rather than replaced by part of the capture.
    public static func packetOfAnotherLinkType(in path: String) -> (interface: UInt32, linkType: Int32, first: Int32)? {
        guard let src = try? WiretapSource(path: path) else { return nil }
        var first: Int32?, found: (interface: UInt32, linkType: Int32, first: Int32)?
        _ = src.forEach { raw in
            guard let f = first else { first = raw.linkType; return true }
            if raw.linkType != f { found = (raw.interface, raw.linkType, f); return false }
            return true
        }
        return found
    }

    /// Calls `body` for each packet record until end of file, an error (`.badInput`: the file,
    /// the byte offset and wiretap's words), a stop signal, or `body` returns false.
    public func forEach(_ body: (RawPacket) -> Bool) -> EndReason {
        var h = pcap_pkthdr()
        reader.pointee.report_others = onOtherRecord == nil ? 0 : 1
        var others = 0  // records reported since the last packet
        while true {
            // The flag lives in PcapSource.swift's copy of the shim.
            if PcapSource.stopRequested && !readsThroughStop { return .interrupted }
            let rc = wiretap { knetcap_wtap_next(reader) }
            if rc == 0 { trailingRecords = others + Int(reader.pointee.skipped); return .endOfFile }
            if rc < 0 {
                // A stop signal interrupts a blocked read (a pipe, a FIFO; no SA_RESTART): wiretap
                // reports EINTR as a read error, but the reading was interrupted, not bad.
                if PcapSource.stopRequested && !readsThroughStop { return .interrupted }
                return .badInput(readError())
            }
            let rec = knetcap_wtap_record(reader)!
            if rc == 2, let report = onOtherRecord {
                others += 1
                lastOffset = Int64(reader.pointee.offset)
                let caplen = Int(knetcap_wtap_other_caplen(rec))
                let data = UnsafeRawBufferPointer(start: knetcap_wtap_data(reader), count: min(caplen, Int(knetcap_wtap_buffer_length(reader))))
                withUnsafePointer(to: &h) { hp in
                    var raw = RawPacket(seconds: Int64(knetcap_wtap_secs(rec)), nanoseconds: knetcap_wtap_nsecs(rec), capturedLength: caplen,
                                        originalLength: Int(knetcap_wtap_other_len(rec)), bytes: data, header: hp, linkType: -1,
                                        interface: knetcap_wtap_interface(rec), record: OpaquePointer(reader))
                    raw.framesBefore = others
                    raw.hasTimestamp = knetcap_wtap_has_ts(rec) != 0
                    report(raw)
                }
                continue
            }
            let caplen = Int(knetcap_wtap_caplen(rec))
            let sec = Int64(knetcap_wtap_secs(rec))
            let ns = knetcap_wtap_nsecs(rec)
            h.ts.tv_sec = Int(truncatingIfNeeded: sec)
            h.ts.tv_usec = Int(ns)
            h.caplen = UInt32(truncatingIfNeeded: caplen)
            h.len = knetcap_wtap_len(rec)
            lastOffset = Int64(reader.pointee.offset)
            let skipped = others + Int(reader.pointee.skipped)
            others = 0
            let more = withUnsafePointer(to: &h) { hp in
                var raw = RawPacket(seconds: sec, nanoseconds: ns, capturedLength: caplen, originalLength: Int(hp.pointee.len),
                               bytes: UnsafeRawBufferPointer(start: knetcap_wtap_data(reader), count: caplen), header: hp,
                               linkType: Self.dlt(knetcap_wtap_encap(rec)), interface: knetcap_wtap_interface(rec),
                               record: OpaquePointer(reader))
                raw.framesBefore = skipped
                raw.hasTimestamp = knetcap_wtap_has_ts(rec) != 0
                if let f = filter, !f.accepts(raw) { return true }
                return body(raw)
            }
            if !more { return .stoppedByCaller }
        }
    }

    /// What is wrong after `knetcap_wtap_next` failed: the file, the byte offset and wiretap's
    /// words; when the compressed stream itself is broken (a truncated or damaged
    /// .gz/.zst/.lz4), that is the fault named. (Read from a pipe, the stream is probed in the
    /// copy InputRelay kept of it.)
    func readError() -> CaptureError {
        let detail = reader.pointee.err_info.map { String(cString: $0) }
        let err = reader.pointee.err, offset = Int64(reader.pointee.offset)
        // Offsets in a compressed file are in the decompressed stream, and say so.
        let packed = compression != "uncompressed" || compressed != nil
        // A later section's header block (its block type at the offset, read from the
        // uncompressed file; not from a pipe, whose bytes are gone).
        let section = err == WTAP_ERR_BAD_FILE && !packed && regularFileSize(path) != nil && firstWord(path, at: offset) == 0x0A0D_0D0A
        let plain = Self.error(name: name, err: err, detail: detail, offset: offset, opening: false, decompressed: packed, sectionHeader: section)
        guard [WTAP_ERR_SHORT_READ, WTAP_ERR_BAD_FILE, WTAP_ERR_DECOMPRESS].contains(err) else { return plain }
        // The compressed file itself, or the copy of a compressed pipe, asked what is wrong.
        let probe: (Compression, String)?
        if let c = compressed {
            probe = (c, path)
        } else {
            do throws(CaptureError) {
                probe = try compressedCopy?().flatMap { p in Compression(path: p).map { ($0, p) } }
            } catch {
                // No copy to ask: whether the stream or the capture in it is broken cannot be
                // told (wiretap's decompression error says it is the stream).
                if err == WTAP_ERR_DECOMPRESS { return plain }
                return Self.copyFailed(error, name: name, compression: compression, met: plain, reading: true)
            }
        }
        guard let (c, p) = probe, let why = c.damage(path: p, enough: .max) else { return plain }
        return CaptureError(.decompressFailed, "\(name): decompression failed at decompressed byte offset \(offset): \(why)")
    }

    /// The line for a compressed pipe that broke (`met`, wiretap's words for it, or nil) whose
    /// temporary copy could not be written (`failure`, from `InputRelay.copyFailure`), exit 14:
    /// the copy's failure first, then what reading (or opening) the input met.
    /// `compression`: wiretap's name (`gzip compressed`) or the magic's (`gzip`).
    static func copyFailed(_ failure: CaptureError, name: String, compression: String, met: CaptureError?, reading: Bool) -> CaptureError {
        let kind = compression.split(separator: " ").first.map(String.init) ?? compression
        let words = met.map { m in m.message.hasPrefix("\(name): ") ? String(m.message.dropFirst(name.count + 2)) : m.message }
        let then = words.map { "; \(reading ? "reading it stopped with" : "opening it failed with"): \($0)" } ?? ""
        return CaptureError(.temporaryCopyFailed, "\(name): \(failure.message), so whether the \(kind) stream itself is cut short or damaged cannot be told "
                            + "(set TMPDIR to a writable directory with room for the compressed input)\(then)")
    }

    /// The record's interface within its section (tshark's `frame.interface_id`), or nil when
    /// the record has none (a pcap file, a libpcap or memory source).
    public static func interfaceID(_ p: RawPacket) -> UInt32? {
        guard let r = p.record else { return nil }
        let rec = knetcap_wtap_record(UnsafeMutablePointer<knetcap_wtap_reader>(r))!
        return knetcap_wtap_has_interface(rec) != 0 ? knetcap_wtap_interface(rec) : nil
    }

    /// The record's interface as an index into `interfaces` (across sections), or nil for a
    /// packet of another source. Costs a lookup in sections after the first.
    public static func globalInterfaceID(_ p: RawPacket) -> UInt32? {
        guard let r = p.record else { return nil }
        return UInt32(knetcap_wtap_record_global_interface(UnsafeMutablePointer<knetcap_wtap_reader>(r)))
    }

    /// The record's libwiretap REC_TYPE_ (0 a packet, 4 a systemd journal entry, 5 a pcapng
    /// custom block); 0 for a packet of another source.
    public static func recordType(_ p: RawPacket) -> Int32 {
        guard let r = p.record else { return 0 }
        return Int32(knetcap_wtap_record(UnsafeMutablePointer<knetcap_wtap_reader>(r))!.pointee.rec_type)
    }

    /// The current record's comments (pcapng `opt_comment`), for a `RawPacket` this source
    /// delivered and only during `body`: each comment's bytes as the file has them (not
    /// repaired when they are not valid UTF-8).
    public static func commentBytes(_ p: RawPacket) -> [[UInt8]] {
        guard let r = p.record else { return [] }
        let rec = knetcap_wtap_record(UnsafeMutablePointer<knetcap_wtap_reader>(r))!
        return (0..<knetcap_wtap_comment_count(rec)).compactMap { i in
            knetcap_wtap_comment(rec, i).map { c in Array(UnsafeRawBufferPointer(start: c, count: strlen(c))) }
        }
    }

    /// The same as text (a comment that is not valid UTF-8 repaired with U+FFFD).
    public static func comments(_ p: RawPacket) -> [String] {
        guard let r = p.record else { return [] }
        let reader = UnsafeMutablePointer<knetcap_wtap_reader>(r)
        let rec = knetcap_wtap_record(reader)!
        return (0..<knetcap_wtap_comment_count(rec)).compactMap { knetcap_wtap_comment(rec, $0).map { String(cString: $0) } }
    }

    public func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? { nil }

    /// wiretap's error as one line: the file, where, and what is wrong.
    /// How much of a file's start `corruptHeaderBlock` probes (as standard input's relay keeps).
    static let headerProbeLimit = InputRelay.prefixLength

    /// Where the block starts that libwiretap found corrupt while opening `bytes`, the start of
    /// an uncompressed pcapng (its section header and interface description blocks, which
    /// wiretap reads when it opens a file, giving no offset for a bad one), found with
    /// libwiretap alone, by opening prefixes of `bytes` (no pcapng parsing here): a prefix
    /// that ends at or after the point where wiretap detects the damage is refused as corrupt
    /// (found by bisection), and the longest shorter prefix that wiretap opens cleanly as
    /// pcapng ends where that block begins (a prefix ending inside a block is a short read).
    /// 0 when it is the first block, the section header block; nil when it is not found (the
    /// damage past `bytes`).
    static func corruptHeaderBlock(_ bytes: [UInt8]) -> Int? {
        guard bytes.count > 28, bytes.prefix(4).elementsEqual([0x0A, 0x0D, 0x0D, 0x0A]) else { return nil }
        let dir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((dir + "/knetcap-probe-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { return nil }
        let probe = String(cString: template)
        defer { close(fd); unlink(probe) }
        // 1 opened cleanly as pcapng, 0 refused as corrupt, -1 anything else (a short read).
        func open(_ n: Int) -> Int {
            guard ftruncate(fd, 0) == 0, pwrite(fd, bytes, n, 0) == n else { return -1 }
            var err: Int32 = 0
            var info: UnsafeMutablePointer<gchar>? = nil
            guard let r = wiretap({ knetcap_wtap_open(probe, &err, &info) }) else {
                g_free(info)
                return err == WTAP_ERR_BAD_FILE ? 0 : -1
            }
            let pcapng = knetcap_wtap_file_type(r).map { Self.isPcapng(String(cString: $0)) } ?? false
            wiretap { knetcap_wtap_close(r) }
            return pcapng ? 1 : -1
        }
        guard open(bytes.count) == 0 else { return nil }
        var lo = 28, hi = bytes.count  // open(hi) is corrupt; the first corrupt prefix is in lo...hi
        while lo < hi {
            let mid = (lo + hi) / 2
            if open(mid) == 0 { hi = mid } else { lo = mid + 1 }
        }
        // Blocks are whole multiples of 4 bytes from the file's start (pcapng: Block Total
        // Length is a multiple of 4), so only 4-aligned prefixes can end before a block.
        var start = (hi - 1) & ~3
        while start >= 28 && open(start) != 1 { start -= 4 }
        // No prefix opens cleanly: not even the section header alone, so the bad block is the
        // first, the section header block at 0 (its trailing length wrong, say).
        return start >= 28 ? start : 0
    }

    /// `inputLength`: the input's length in bytes when known (a regular file's size, a relayed
    /// stream's once read to its end); `stream`: the input is a pipe (standard input, a FIFO).
    /// `decompressed`: the input is compressed, so `offset` counts decompressed bytes.
    /// `sectionHeader`: the block at `offset` is a pcapng section header block (a later
    /// section's, met while reading).
    static func error(name: String, err: Int32, detail: String?, offset: Int64?, opening: Bool,
                      inputLength: Int64? = nil, stream: Bool = false, decompressed: Bool = false, sectionHeader: Bool = false) -> CaptureError {
        let what = knetcap_wtap_strerror(err).map { String(cString: $0) } ?? "error \(err)"
        let more = detail.map { ": \($0)" } ?? ""
        let at = offset.map { $0 >= 0 ? " at \(decompressed ? "decompressed " : "")byte offset \($0)" : "" } ?? ""
        switch err {
        case WTAP_ERR_FILE_UNKNOWN_FORMAT, WTAP_ERR_UNSUPPORTED, WTAP_ERR_NOT_REGULAR_FILE:
            return CaptureError(.notACapture, "\(name): not a pcap or pcapng capture, nor another format Wireshark's libwiretap reads (\(what)\(more))")
        case WTAP_ERR_DECOMPRESS, WTAP_ERR_DECOMPRESSION_NOT_SUPPORTED:
            return CaptureError(.decompressFailed, "\(name): decompression failed\(at) (\(what)\(more))")
        case WTAP_ERR_SHORT_READ:
            // Cut before the first packet, inside the blocks wiretap reads on opening (a pcapng's
            // section header and interface descriptions): wiretap gives no offset; the file's
            // size says where it ends.
            if opening, let size = inputLength {
                return CaptureError(.readFailed, "\(name): truncated record in the header blocks before the first packet (the section header, an interface description block, or the start of the first packet block; the \(stream ? "input" : "file") ends at byte offset \(size)) (\(what)\(more))")
            }
            return CaptureError(opening ? .notACapture : .readFailed, "\(name): truncated record\(at) (\(what)\(more))")
        case WTAP_ERR_BAD_FILE where opening && offset == 0:
            // The first block, the section header (corruptHeaderBlock): as one cut inside it,
            // not a capture yet (exit 4), but named by its offset.
            return CaptureError(.notACapture, "\(name): not a capture: corrupt pcapng section header block at byte offset 0, its first block (\(what)\(more))")
        case WTAP_ERR_BAD_FILE where opening && offset != nil:
            // An interface description block of a pcapng's header blocks (corruptHeaderBlock):
            // a capture, corrupt before its first packet; exit 10 as one cut there.
            return CaptureError(.readFailed, "\(name): corrupt interface description block at byte offset \(offset ?? 0), in the header blocks before the first packet (\(what)\(more))")
        case WTAP_ERR_BAD_FILE where sectionHeader:
            return CaptureError(.readFailed, "\(name): corrupt section header block\(at), the start of a later section (\(what)\(more))")
        case WTAP_ERR_BAD_FILE where opening && offset == nil:
            // A format's own file header, which libwiretap reads on opening (an Observer
            // file's TLVs): no record has been read, and wiretap gives no offset.
            return CaptureError(.notACapture, "\(name): corrupt file header, before the first record (libwiretap stopped while opening it and gives no byte offset: \(what)\(more))")
        case WTAP_ERR_BAD_FILE, WTAP_ERR_PACKET_TOO_LARGE, WTAP_ERR_UNC_OVERFLOW:
            return CaptureError(opening ? .notACapture : .readFailed, "\(name): corrupt record\(at) (\(what)\(more))")
        case EACCES:
            return CaptureError(.permissionDenied, "\(name): Permission denied")
        case ENOENT:
            return CaptureError(.noSuchFile, "\(name): No such file or directory")
        default:
            return CaptureError(opening ? .notACapture : .readFailed, "\(name): read failed\(at) (\(what)\(more))")
        }
    }
}

/// `path` exists, is not a directory and may be read.
/// - Throws: `CaptureError` `.noSuchFile`, `.permissionDenied`, `.notACapture` (a directory).
public func checkReadable(_ path: String) throws(CaptureError) {
    var st = stat()
    if stat(path, &st) != 0 {
        let e = errno
        if e == ENOENT || e == ENOTDIR { throw CaptureError(.noSuchFile, "\(path): No such file or directory") }
        if e == EACCES { throw CaptureError(.permissionDenied, "\(path): Permission denied") }
        throw CaptureError(.other, "\(path): \(String(cString: strerror(e)))")
    }
    if st.st_mode & S_IFMT == S_IFDIR { throw CaptureError(.notACapture, "\(path): is a directory, not a capture file") }
    if access(path, R_OK) != 0, errno == EACCES { throw CaptureError(.permissionDenied, "\(path): Permission denied") }
}

extension WiretapSource {
    /// Installs a BPF capture filter (tcpdump's language, compiled by libpcap for each link
    /// type the file's interfaces have, run on each packet with `pcap_offline_filter`): packets
    /// it rejects are not delivered, as with a libpcap file.
    /// - Throws: `CaptureError.badFilter` with libpcap's message.
    public func setFilter(_ expression: String) throws(CaptureError) {
        filter = try BPFFilters(expression, snaplen: snapshotLength == 0 ? 262_144 : snapshotLength, first: linkType)
    }
}

/// Compiles a BPF capture filter for a link type without a capture (`pcap_open_dead` +
/// `pcap_compile`), as a capture elsewhere will: a bad filter is named before anything starts.
/// `linkType` defaults to Linux cooked v2 (`DLT_LINUX_SLL2`, what `-i any` gives).
/// - Throws: `CaptureError.badFilter` with libpcap's message.
public func checkCaptureFilter(_ expression: String, linkType: Int32 = 276) throws(CaptureError) {
    _ = try BPFFilters(expression, snaplen: 262_144, first: linkType)
}

/// One compiled BPF program per link type (`pcap_open_dead` + `pcap_compile`), for sources
/// libpcap does not read.
final class BPFFilters {
    let expression: String
    let snaplen: Int32
    private var programs: [Int32: UnsafeMutablePointer<bpf_program>] = [:]

    init(_ expression: String, snaplen: Int32, first: Int32) throws(CaptureError) {
        self.expression = expression
        self.snaplen = snaplen
        _ = try program(first)
    }

    deinit {
        for p in programs.values { pcap_freecode(p); p.deallocate() }
    }

    func program(_ dlt: Int32) throws(CaptureError) -> UnsafeMutablePointer<bpf_program> {
        if let p = programs[dlt] { return p }
        guard let dead = pcap_open_dead(dlt, snaplen) else { throw CaptureError(.badFilter, "capture filter \"\(expression)\": cannot compile for link type \(dlt)") }
        defer { pcap_close(dead) }
        let prog = UnsafeMutablePointer<bpf_program>.allocate(capacity: 1)
        prog.initialize(to: bpf_program())
        if pcap_compile(dead, prog, expression, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            prog.deallocate()
            throw CaptureError(.badFilter, "capture filter \"\(expression)\": \(String(cString: pcap_geterr(dead)))")
        }
        programs[dlt] = prog
        return prog
    }

    /// Whether the filter accepts `p` (a link type it cannot compile for rejects every packet).
    func accepts(_ p: RawPacket) -> Bool {
        guard let prog = try? program(p.linkType) else { return false }
        return pcap_offline_filter(prog, p.header, p.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)) != 0
    }
}

/// Opens a capture file for `-r`: an uncompressed classic pcap file (its first four bytes
/// one of pcap's magic numbers) through libpcap, whose `pcap_next_ex` loop is the fastest
/// reader; everything else (pcapng, compressed files, other formats Wireshark reads) and
/// standard input through libwiretap (`WiretapSource`). `-` is standard input; `name`, what
/// messages from a file read through libwiretap call it (default: the path).
/// - Throws: `CaptureError` as `PcapSource.openFile` and `WiretapSource.init`.
public func openCaptureFile(_ path: String, name: String? = nil, relay: InputRelay? = nil) throws(CaptureError) -> any PacketSource {
    if path != "-" {
        try checkRegularFileHeader(path)
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, classicPcapMagic(path) {
            // The Red Hat 6.1, Nokia and SuSE variants share the magic number but have longer
            // record headers, which libpcap reads as a bad length at the second record;
            // libwiretap tells them apart by reading the first records.
            if let w = try? WiretapSource(path: path, name: name), !libpcapReads.contains(w.fileType) { return w }
            return try PcapSource.openFile(path)
        }
    }
    return try openWiretapFile(path, name: name, relay: relay)
}

/// `path` readable and, when it is a regular file (only a regular file is sniffed: reading a
/// FIFO's first bytes would consume them), no shorter than any capture file's header (pcap
/// 24 bytes, pcapng's section header 28): wiretap would fall back to a format that takes
/// anything.
func checkRegularFileHeader(_ path: String) throws(CaptureError) {
    try checkReadable(path)
    var st = stat()
    if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size < 24 {
        // A compressed file cut that short is a broken stream (exit 13), not a short header:
        // its size counts compressed bytes.
        if let e = damagedCompression(path) { throw e }
        throw CaptureError(.notACapture, "\(path): not a pcap or pcapng capture: truncated file header (\(st.st_size) bytes; a pcap header is 24, a pcapng section header 28)")
    }
}

/// Opens any capture file through libwiretap (`-` is standard input), with `-r`'s checks and
/// messages: what `openCaptureFile` does for every file but uncompressed classic pcap, and
/// what `knetcap merge` does for every input (it needs wiretap's records and interfaces).
/// - Throws: `CaptureError` as `WiretapSource.init`; `.decompressFailed` for a broken
///   compressed stream; `.notACapture` for a pcapng cut inside its section header or bytes
///   no capture format claims.
public func openWiretapFile(_ path: String, name: String? = nil, relay: InputRelay? = nil) throws(CaptureError) -> WiretapSource {
    if path != "-" { try checkRegularFileHeader(path) }
    let w: WiretapSource
    do { w = try WiretapSource(path: path, name: name, relay: relay) } catch {
        throw damagedCompression(path, name: name) ?? error
    }
    // A compressed file that wiretap takes for a format recognised by heuristics alone (ERF
    // when a zstd or lz4 frame is cut before its first block ends): the broken stream is
    // what to report, when it is broken.
    if !w.fileType.lowercased().contains("pcap"), let e = damagedCompression(path, name: name) { throw e }
    // wiretap's last resort for bytes no capture format claims (a pcapng cut inside its
    // section header, text): not a capture to knetcap.
    if w.fileType.lowercased().contains("mime") {
        // Starting with the pcapng block type of a section header (0x0A0D0D0A, the same in
        // both byte orders), the file is a pcapng cut inside that first block.
        // Read from a pipe (standard input, a FIFO), the relay has its first bytes and length.
        let magic = relay.map { $0.firstBytes == [0x0A, 0x0D, 0x0D, 0x0A] } ?? pcapngMagic(path)
        if magic, let size = relay.map({ $0.length.map(Int64.init) }) ?? regularFileSize(path) {
            // Exit 4 as a classic pcap shorter than its file header: no capture is there yet.
            throw CaptureError(.notACapture, "\(w.name): not a capture: truncated pcapng section header block (the \(relay == nil ? "file" : "input") ends at byte offset \(size), inside its first block)")
        }
        throw CaptureError(.notACapture, "\(w.name): not a capture file knetcap can read (wiretap: \(w.fileType))")
    }
    return w
}

/// Up to `limit` bytes from the start of `path` when it is a regular file ([] otherwise).
func fileStart(_ path: String, _ limit: Int) -> [UInt8] {
    guard regularFileSize(path) != nil, let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var buf = [UInt8](repeating: 0, count: limit)
    let n = fread(&buf, 1, limit, f)
    return Array(buf.prefix(n))
}

/// The size of `path` when it is a regular file (nil for a FIFO, a device, standard input).
func regularFileSize(_ path: String) -> Int64? {
    var st = stat()
    guard path != "-", stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
    return Int64(st.st_size)
}

/// Whether `path` (a regular file) starts with pcapng's section header block type.
func pcapngMagic(_ path: String) -> Bool { firstWord(path) == 0x0A0D_0D0A }

/// `.decompressFailed` naming what is wrong with `path`'s compressed stream, when it starts
/// with a gzip/zstd/lz4 magic and does not decompress; nil otherwise (or for standard input).
func damagedCompression(_ path: String, name: String? = nil) -> CaptureError? {
    guard path != "-", let c = Compression(path: path), let why = c.damage(path: path) else { return nil }
    return CaptureError(.decompressFailed, "\(name ?? path): decompression failed: \(why)")
}

/// A compressed stream read from a pipe (no probe can read it again) that libwiretap took for
/// a format found by heuristics (Endace ERF, when a zstd or lz4 frame is cut before its first
/// block ends): named by its first bytes `head` as a broken stream, exit 13, as a file is.
public func misreadCompressedStream(_ source: any PacketSource, head: [UInt8], name: String) -> CaptureError? {
    guard let w = source as? WiretapSource, !w.fileType.lowercased().contains("pcap"), let c = Compression(magic: head) else { return nil }
    return CaptureError(.decompressFailed, "\(name): decompression failed: \(c.withArticle) stream that libwiretap reads as \(w.fileType), not as a capture: cut short or damaged")
}

/// The classic pcap forms libpcap reads as written (libwiretap's names): standard, nanosecond,
/// and Kuznetsov's modified format (its own magic number).
let libpcapReads: Set<String> = ["pcap", "nsecpcap", "modpcap"]

/// Whether `path` starts with the microsecond classic pcap magic number (either byte order,
/// Kuznetsov's modified format too).
func classicPcapMicrosecondMagic(_ path: String) -> Bool {
    firstWord(path).map { [0xa1b2_c3d4, 0xd4c3_b2a1, 0xa1b2_cd34, 0x34cd_b2a1].contains($0) } ?? false
}

/// Whether `path` starts with a classic pcap magic number (µs or ns, either byte order).
func classicPcapMagic(_ path: String) -> Bool {
    firstWord(path).map { [0xa1b2_c3d4, 0xd4c3_b2a1, 0xa1b2_3c4d, 0x4d3c_b2a1].contains($0) } ?? false
}

/// The four bytes of `path` at byte `offset` (default: its first) as a host-order word (a
/// magic number, a pcapng block type), or nil.
func firstWord(_ path: String, at offset: Int64 = 0) -> UInt32? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var m: UInt32 = 0
    guard offset == 0 || fseeko(f, off_t(offset), SEEK_SET) == 0 else { return nil }
    return fread(&m, 4, 1, f) == 1 ? m : nil
}
