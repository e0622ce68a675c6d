import Foundation
import Glibc

/// A pipe, standard input or another descriptor that cannot be read twice, relayed through a
/// pipe of knetcap's own by a thread, optionally keeping a copy of every byte in an unlinked
/// temporary file so the capture can be read a second time (as Wireshark keeps a capture read
/// from a pipe in a temporary file).
///
/// Used where the first bytes were already read to sniff the input (`knetcap diff -`: `head`
/// is replayed first), and where `--html` must re-read an evidence frame older than the packets
/// it keeps (`-r -`). The copy lives in `$TMPDIR` (else `/tmp`) with no name: it is gone when
/// knetcap exits, however it exits. If it cannot be written (no such directory, no space), the
/// relay goes on without it, `copyPath` is `nil`, and for a compressed input `copyFailure`
/// says why (a broken stream can then not be told from a broken capture).
public final class InputRelay: @unchecked Sendable {
    /// `/dev/fd/N`: the read end of the relay pipe, to open as a capture file.
    public let readPath: String
    private let lock = NSLock()
    private var copyFD: Int32 = -1
    private var copyFailed = false
    /// Why the copy could not be created or written (the directory and the system's words).
    private var copyProblem: String?
    private var finished = false
    private var relayed = 0
    /// The pipe's read end (what `readPath` names), -1 without a pipe.
    private var readFD: Int32 = -1
    private var head: [UInt8] = []

    /// Starts the relay of `head`, then of `fd` to its end.
    /// - Parameters:
    ///   - keepCopy: also write every byte to an unlinked temporary file (`copyPath`).
    ///   - copyIfCompressed: keep that copy only when the first bytes are a gzip, zstd or lz4
    ///     magic number: a broken compressed stream can then be asked what is wrong with it.
    public init(head: [UInt8] = [], from fd: Int32, keepCopy: Bool, copyIfCompressed: Bool = false) {
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else {
            readPath = "/dev/fd/\(fd)"
            copyFailed = true
            return
        }
        let (readEnd, writeEnd) = (p[0], p[1])
        readPath = "/dev/fd/\(readEnd)"
        readFD = readEnd
        if keepCopy {
            let (c, problem) = Self.makeCopy()
            if c >= 0 { copyFD = c } else { copyFailed = true; copyProblem = problem }
        }
        let initialCopy = copyFD, decideLater = !keepCopy && copyIfCompressed
        let thread = Thread { [self] in
            var copy = initialCopy, undecided = decideLater
            // 0 when every byte was written, else the error (EIO for a write of none).
            func writeAll(_ to: Int32, _ bytes: ArraySlice<UInt8>) -> Int32 {
                var rest = bytes
                while !rest.isEmpty {
                    let n = rest.withUnsafeBytes { write(to, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return n < 0 ? errno : EIO }
                    rest = rest.dropFirst(n)
                }
                return 0
            }
            var copying = copy >= 0
            // The copy first, then the pipe: when the reader meets the end of the pipe, the copy
            // holds every byte it read.
            func relay(_ bytes: ArraySlice<UInt8>) -> Bool {
                if undecided, bytes.count >= 4 || bytes.isEmpty {
                    undecided = false
                    if Compression(magic: Array(bytes.prefix(4))) != nil {
                        let (c, problem) = Self.makeCopy()
                        copy = c
                        copying = copy >= 0
                        self.lock.withLock {
                            if copy >= 0 { self.copyFD = copy } else { self.copyFailed = true; self.copyProblem = problem }
                        }
                    }
                }
                if copying {
                    let e = writeAll(copy, bytes)
                    if e != 0 {
                        copying = false
                        let problem = "writing it: \(String(cString: strerror(e)))"
                        self.lock.withLock { self.copyFailed = true; self.copyProblem = problem }
                    }
                }
                self.lock.withLock {
                    if self.head.count < Self.prefixLength { self.head += bytes.prefix(Self.prefixLength - self.head.count) }
                    self.relayed += bytes.count
                }
                return writeAll(writeEnd, bytes) == 0
            }
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            var ok = head.isEmpty || relay(head[...])
            while ok {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                ok = relay(buf[..<n])
            }
            if !ok { self.lock.withLock { self.copyFailed = true } }  // the reader stopped first: the copy is partial
            self.lock.withLock { self.finished = true }
            // The read end stays open until knetcap exits, so this never meets a closed pipe;
            // it blocks here when reading stopped early, as knetcap ends soon after.
            close(writeEnd)
        }
        thread.start()
    }

    /// `$TMPDIR`, else /tmp: where the copy and other temporary files go.
    public static var temporaryDirectory: String {
        ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// An unlinked temporary file in `temporaryDirectory`, open for writing; -1 and why not
    /// when none.
    private static func makeCopy() -> (Int32, String?) {
        var template = Array((temporaryDirectory + "/knetcap-stdin-XXXXXX").utf8CString)
        let c = mkstemp(&template)
        if c >= 0 { unlink(template); return (c, nil) }
        return (c, "creating it: \(String(cString: strerror(errno)))")
    }

    /// Where the copy goes, for messages: `$TMPDIR (DIR)`, or `/tmp` with `$TMPDIR` unset.
    static var copyDirectoryName: String {
        let t = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return t.isEmpty ? "/tmp ($TMPDIR unset)" : "$TMPDIR (\(t))"
    }

    /// For a compressed input (gzip, zstd, lz4 magic), why its copy could not be kept
    /// (`.temporaryCopyFailed`: the directory and the system's words, `$TMPDIR (/nonexistent):
    /// creating it: No such file or directory`); nil when it was kept, the input is not
    /// compressed, or it failed only because the reader stopped first.
    public var copyFailure: CaptureError? {
        lock.withLock {
            guard let p = copyProblem, Compression(magic: Array(head.prefix(4))) != nil else { return nil }
            return CaptureError(.temporaryCopyFailed, "cannot write the temporary copy of the compressed input in \(Self.copyDirectoryName): \(p)")
        }
    }

    /// Whether the first bytes relayed are a gzip, zstd or lz4 magic number.
    public var isCompressed: Bool { Compression(magic: firstBytes) != nil }

    /// The first bytes relayed (up to 4: a magic number), as far as they have been.
    public var firstBytes: [UInt8] { lock.withLock { Array(head.prefix(4)) } }

    /// How many of the first bytes are kept (`prefix`).
    static let prefixLength = 1 << 16

    /// The first 64 KiB relayed (fewer when the input is shorter), as far as they have been:
    /// a pcapng's header blocks, to locate one libwiretap could not read.
    public var prefix: [UInt8] { lock.withLock { head } }

    /// The number of bytes the input had, once it has been relayed to its end (`nil` before).
    public var length: Int? { lock.withLock { finished ? relayed : nil } }

    /// `/proc/self/fd/N` of the copy, to open again from its start: `nil` when no copy was
    /// asked for, it could not be written, or the input has not been relayed to its end.
    public var copyPath: String? {
        lock.withLock { copyFD >= 0 && !copyFailed && finished ? "/proc/self/fd/\(copyFD)" : nil }
    }

    /// When the input was a broken compressed stream, what is wrong with it, as for a file
    /// (exit 13): its copy, once relayed to its end (`drainedCopyPath`).
    /// When the copy could not be written, that (exit 14), with `opening`, what opening the
    /// input met.
    public func damagedCompression(name: String, after opening: CaptureError?, wait: Double = 5) -> CaptureError? {
        do throws(CaptureError) {
            guard let copy = try drainedCopy(wait: wait) else { return nil }
            return KnetcapCapture.damagedCompression(copy, name: name)
        } catch {
            return WiretapSource.copyFailed(error, name: name, compression: Compression(magic: firstBytes)?.rawValue ?? "compressed", met: opening, reading: false)
        }
    }

    /// `drainedCopyPath`, or why the copy of a compressed input could not be kept
    /// (`copyFailure`).
    public func drainedCopy(wait: Double = 5) throws(CaptureError) -> String? {
        if let p = drainedCopyPath(wait: wait) { return p }
        if let f = copyFailure { throw f }
        return nil
    }

    /// The copy's path once the whole input is in it, for a reader that stopped early (a read
    /// error in the middle of a compressed stream): what is still in the pipe is read and
    /// dropped so the relay can go on copying to the end; waits up to `wait` seconds (an
    /// endless stream has no end to copy: nil).
    public func drainedCopyPath(wait: Double = 5) -> String? {
        if let p = copyPath { return p }
        let hasCopy = lock.withLock { copyFD >= 0 && !copyFailed }
        guard hasCopy, readFD >= 0 else { return nil }
        let fd = readFD
        let drain = Thread {
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
            }
        }
        drain.start()
        let deadline = Date().addingTimeInterval(wait)
        while length == nil && Date() < deadline { usleep(10_000) }
        return copyPath
    }
}
