// The capture-file path: the input is a whole capture file (pcap, pcapng, or a gzip/zstd/lz4
// form of one, or anything else) written to a file in /dev/shm (or $TMPDIR) and opened by
// libwiretap, as `knetcap -r` opens a file. Every record read is dissected with its own link type (CaptureSession's loop),
// its comments read, and written again as pcapng through libwiretap (to /dev/null): nothing
// may trap, hang or crash, whatever the bytes.
import Glibc
import KnetcapCapture
import KnetcapSession

/// mkstemp's template: in /dev/shm when it exists (no disk writes per input).
let scratch: String = {
    var st = stat()
    let dir = stat("/dev/shm", &st) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
    return dir + "/knetcap-fuzz-XXXXXX"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var template = Array(scratch.utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { return 0 }
    let path = String(cString: template)
    defer { close(fd); unlink(path) }
    if let data, size > 0, write(fd, data, size) != size { return 0 }
    guard let src = try? WiretapSource(path: path) else { return 0 }
    let out = try? PcapngWriter(path: "/dev/null", source: src, snaplen: src.snapshotLength, interface: InterfaceDescription())
    _ = src.interfaces
    var n = 0
    _ = CaptureSession.forEachPacket(of: src) { p, raw in
        n += 1
        _ = p.isTruncated
        _ = WiretapSource.comments(raw)
        out?.write(raw, frame: n, comments: n % 7 == 0 ? ["knetcap: fuzz"] : [])
        return n < 10_000
    }
    out?.close()
    return 0
}
