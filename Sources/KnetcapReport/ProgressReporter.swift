#if canImport(Glibc)
import Glibc
#endif
import KnetcapDissect

/// The progress line of `-r` on a terminal: `knetcap: 412000 packets, 118.2 MB/s, 37%` on
/// standard error, first after 1024 packets, then rewritten in place (`\r`) at most four times
/// a second; erased when the last packet is read. The command line builds it only when standard error is a terminal and the
/// file is large (`minimumFileSize`), so piped runs never see it.
public final class ProgressReporter: Reporter {
    /// Files smaller than this (bytes) are read too fast to need a progress line.
    public static let minimumFileSize = 32 << 20
    let fileSize: Int
    let position: () -> Int?
    let fd: Int32
    private var packets = 0
    private var started = 0.0
    private var lastShown = 0.0
    private var shown = false

    /// - Parameters:
    ///   - fileSize: the capture file's size in bytes.
    ///   - position: bytes of the file read so far (`PcapSource.fileOffset`).
    public init(fileSize: Int, position: @escaping () -> Int?, fd: Int32 = 2) {
        self.fileSize = fileSize; self.position = position; self.fd = fd
        started = Self.now()
        lastShown = -.infinity
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func packet(_ p: Packet) { tick() }
    public func skipped(_ p: Packet) { tick() }

    @inline(__always) private func tick() {
        packets += 1
        guard packets & 0x3ff == 0 else { return }  // the clock once per 1024 packets
        let t = Self.now()
        guard t - lastShown >= 0.25 else { return }
        lastShown = t
        let read = position() ?? 0
        let rate = Double(read) / max(t - started, 1e-6) / 1e6
        let pct = fileSize > 0 ? min(100, 100 * read / fileSize) : 0
        write("\rknetcap: \(packets) packets, \(String(format: "%.1f", rate)) MB/s, \(pct)%\u{1B}[K")
        shown = true
    }

    public func packetsDone() {
        if shown { write("\r\u{1B}[K") }
        shown = false
    }

    private func write(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
