#if canImport(Glibc)
import Glibc
#endif

/// `-w NAME` with tcpdump's rotation (`-C`, `-G`, `-W`), over any `PacketWriter` that
/// `open` makes for a file name:
///
/// - `-C MB`: before a packet is written, if the current file holds more than MB × 1 000 000
///   bytes, it is closed and the next opened: `NAME`, `NAME1`, `NAME2`, ... (a packet is never
///   split; a file may pass the limit by one packet).
/// - `-G SECONDS`: a new file when SECONDS have passed since the current one began, named by
///   strftime(3) of NAME at that time (local time). knetcap takes the time from the packets
///   (tcpdump from the clock), so `-r` rewrites rotate as the capture did.
/// - `-W N`: with `-C`, a ring of N files (`NAME0` ... `NAME<N-1>`, zero-padded to the digits
///   of N-1), the oldest overwritten; with `-G` alone, N files named by strftime alone and then
///   no more (`isFull`; tcpdump: "Maximum file limit reached").
///
/// Every file is closed before the next is opened, so each is complete on its own.
public final class RotatingWriter: PacketWriter {
    /// `-C` in bytes, `-G` in seconds, `-W`.
    public struct Rotation: Sendable, Equatable {
        public var fileBytes: Int64?
        public var seconds: Int64?
        public var files: Int?
        public init(megabytes: Int? = nil, seconds: Int? = nil, files: Int? = nil) {
            fileBytes = megabytes.map { Int64($0) * 1_000_000 }
            self.seconds = seconds.map(Int64.init)
            self.files = files
        }
        public var isRotating: Bool { fileBytes != nil || seconds != nil }
    }

    public let name: String
    public let rotation: Rotation
    private let open: (String) throws(CaptureError) -> any PacketWriter
    private var current: (any PacketWriter)?
    private var closed: [WrittenFile] = []
    private var count = 0          // tcpdump's Cflag_count
    private var intervals = 0      // tcpdump's Gflag_count
    private var started: Int64 = 0 // start of the current -G interval, seconds
    private let digits: Int
    public private(set) var failure: String?
    /// The rotated file that could not be created (the files before it are complete), when
    /// that is the failure.
    public private(set) var failedToCreate: String?
    public private(set) var isFull = false
    /// The file that failed was cut back to its last complete record (`PacketWriter`).
    public private(set) var endsOnARecord = false

    /// - Parameter open: makes the writer for one file name.
    public init(name: String, rotation: Rotation, open: @escaping (String) throws(CaptureError) -> any PacketWriter) {
        self.name = name
        self.rotation = rotation
        self.open = open
        var d = 0, x = (rotation.files ?? 0) - 1
        while x > 0 { d += 1; x /= 10 }
        // tcpdump numbers files only for -C (MakeFilename with WflagChars); -G names by time.
        digits = rotation.files == nil || rotation.fileBytes == nil ? 0 : d
    }

    /// Opens the first file now (a live capture has one from the start, as tcpdump), named
    /// for the time `seconds` when `-G` is given.
    public func start(at seconds: Int64) throws(CaptureError) {
        started = seconds
        current = try create(fileName(at: seconds))
    }

    /// `open(name)`, remembering the name when it fails.
    private func create(_ name: String) throws(CaptureError) -> any PacketWriter {
        do throws(CaptureError) { return try open(name) } catch { failedToCreate = name; throw error }
    }

    /// tcpdump's MakeFilename: strftime with -G, then the count, zero-padded with -W.
    func fileName(at seconds: Int64) -> String { numbered(base(at: seconds), count) }

    /// NAME, strftime(3) of NAME at `seconds` with -G.
    private func base(at seconds: Int64) -> String {
        guard rotation.seconds != nil else { return name }
        var t = time_t(seconds)
        var tm = tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 4097)
        let n = strftime(&buf, buf.count - 1, name, &tm)
        return n > 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : name
    }

    /// `base` with count `c` (none for the first file without -W; zero-padded with -W).
    private func numbered(_ base: String, _ c: Int) -> String {
        if c == 0 && digits == 0 { return base }
        let s = String(c)
        return base + String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    /// How the files are named and when the next one starts, as a live capture says when it
    /// starts (`writing to ...`): the first name and the ones after it, as tcpdump makes them
    /// (NAME, NAME1, NAME2, ... for -C; NAME0 ... a ring with -W; strftime(3) names for -G).
    public var plan: String {
        let first = current?.files.first?.path ?? fileName(at: started)
        let flags = [rotation.seconds.map { "-G \($0)" }, rotation.fileBytes.map { "-C \($0 / 1_000_000)" }, rotation.files.map { "-W \($0)" }]
            .compactMap { $0 }.joined(separator: " ")
        let size = rotation.fileBytes.map { "once one passes \($0) bytes" } ?? ""
        guard let g = rotation.seconds else {
            guard let w = rotation.files else {
                return "\(first), then \(numbered(name, 1)), \(numbered(name, 2)), ... (a new file \(size): \(flags))"
            }
            let ring = (0..<min(w, 3)).map { numbered(name, $0) }.joined(separator: ", ") + (w > 4 ? " ..." : "") + (w > 3 ? ", \(numbered(name, w - 1))" : "")
            return "\(ring), then \(first) again (a ring of \(w) file\(w == 1 ? "" : "s"), the next \(size): \(flags))"
        }
        var how = "strftime(3) of \(name), a new file every \(g) s of capture time"
        if rotation.fileBytes != nil {
            let b = base(at: started)
            how += ", and within one interval \(numbered(b, 1)), \(numbered(b, 2)), ... \(size)"
            if let w = rotation.files { how += ", a ring of \(w)" }
        } else if let w = rotation.files {
            how += "; \(w) file\(w == 1 ? "" : "s"), then the capture stops"
        }
        return "\(first) (named by \(how): \(flags))"
    }


    public func write(_ p: RawPacket, frame: Int) {
        guard failure == nil, !isFull else { return }
        do throws(CaptureError) {
            if current == nil { try start(at: p.seconds) }
            if let g = rotation.seconds, p.seconds &- started >= g {
                intervals += 1
                if let w = rotation.files, rotation.fileBytes == nil, intervals >= w { finish(); isFull = true; return }
                finish()
                if failure != nil { return }  // closing it failed (its last buffer): no next file
                count = 0
                started = p.seconds
                let next = fileName(at: p.seconds)
                // NAME's strftime fields repeat within the run (no %S with -G 1): tcpdump
                // overwrites the earlier file silently; knetcap does too, and says so.
                if closed.contains(where: { $0.path == next }) {
                    overwritten += 1
                    if firstOverwritten == nil { firstOverwritten = next }
                }
                current = try create(next)
            }
            if let c = rotation.fileBytes, let cur = current, cur.bytesWritten > c {
                finish()
                if failure != nil { return }
                count += 1
                if let w = rotation.files, count >= w { count = 0 }
                current = try create(fileName(at: started))
            }
        } catch {
            failure = error.message
            return
        }
        current?.write(p, frame: frame)
        if let f = current?.failure { failure = f; finish() }
    }

    /// Closes the current file and keeps its record (a ring's reused name replaces the old).
    private func finish() {
        guard let cur = current else { return }
        cur.close()
        if failure == nil, let f = cur.failure { failure = f }
        if cur.failure != nil { endsOnARecord = cur.endsOnARecord }
        for f in cur.files {
            if let old = closed.firstIndex(where: { $0.path == f.path }) {
                // Its name written again (a -W ring wrapped, a -G name repeated): the file's
                // earlier packets are gone.
                reusedFiles += 1
                overwrittenPackets += closed[old].count
                closed.remove(at: old)
            }
            closed.append(f)
        }
        current = nil
    }

    /// Files closed whose name was written again later in the run (a `-C -W` ring that wrapped:
    /// each reuse of a ring file; a repeated `-G` name), and the packets they held, overwritten
    /// since: `files` holds the others, the last ones written.
    public private(set) var reusedFiles = 0
    public private(set) var overwrittenPackets = 0

    /// -G rotations whose strftime name was one already written this run (that file was
    /// overwritten), and the first such name.
    public private(set) var overwritten = 0
    public private(set) var firstOverwritten: String?

    public var bytesWritten: Int64 { current?.bytesWritten ?? 0 }

    public func close() {
        if current == nil && closed.isEmpty && failure == nil {
            // Nothing was written: still leave one (empty) file, as tcpdump does.
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            do throws(CaptureError) { try start(at: Int64(now.tv_sec)) } catch { failure = error.message }
        }
        finish()
    }

    public var files: [WrittenFile] { closed + (current?.files ?? []) }

    deinit { close() }
}
