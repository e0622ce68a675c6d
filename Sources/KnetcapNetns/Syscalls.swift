import CNetns
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and errno (with its strerror(3) text).
struct SysError: Error, Sendable, CustomStringConvertible {
    let call: String
    let subject: String
    let errno: Int32

    /// strerror(3) of `errno`, e.g. "Permission denied".
    var text: String { String(cString: strerror(errno)) }
    var description: String { subject.isEmpty ? "\(call): \(text)" : "\(call) \(subject): \(text)" }
}

/// Thin typed wrappers over the system calls KnetcapNetns makes (DESIGN example 8): each
/// retries EINTR and returns a `Result` carrying errno; callers turn failures into
/// `NetnsError` with the operator's words.
enum Sys {
    /// Runs `call` until it does not fail with EINTR. `call` returns -1 and sets errno on
    /// failure, anything else on success.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ name: String, _ subject: String, _ call: () -> T) -> Result<T, SysError> {
        while true {
            let r = call()
            if r != -1 { return .success(r) }
            let e = Glibc.errno
            if e != EINTR { return .failure(SysError(call: name, subject: subject, errno: e)) }
        }
    }

    /// open(2) read-only, close-on-exec. Returns the descriptor.
    static func openReadOnly(_ path: String, directory: Bool = false) -> Result<Int32, SysError> {
        retrying("open", path) { Glibc.open(path, O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0)) }
    }

    /// close(2). EINTR is not retried (Linux closes the descriptor anyway).
    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// setns(2): moves the calling thread into the namespace `fd` refers to; `nstype` 0 or a
    /// CLONE_NEW* constant the namespace must match (EINVAL otherwise).
    static func setns(_ fd: Int32, _ nstype: Int32, _ subject: String) -> Result<Void, SysError> {
        retrying("setns", subject) { knetcap_setns(fd, nstype) }.map { _ in () }
    }

    /// ioctl(fd, NS_GET_NSTYPE) (ioctl_ns(2)): the CLONE_NEW* type of a namespace file.
    static func namespaceType(_ fd: Int32, _ subject: String) -> Result<Int32, SysError> {
        retrying("ioctl NS_GET_NSTYPE", subject) { knetcap_ns_get_nstype(fd) }
    }

    /// fstatfs(2): the filesystem magic (`f_type`) of `fd`.
    static func filesystemType(_ fd: Int32, _ subject: String) -> Result<Int, SysError> {
        var type = 0
        return retrying("fstatfs", subject) { knetcap_fstatfs_type(fd, &type) }.map { _ in type }
    }

    /// fstat(2): device and inode of `fd` (a namespace's identity, as lsns(8) prints it).
    static func identity(_ fd: Int32, _ subject: String) -> Result<(device: UInt64, inode: UInt64), SysError> {
        var st = stat()
        return retrying("fstat", subject) { fstat(fd, &st) }.map { _ in (UInt64(st.st_dev), UInt64(st.st_ino)) }
    }

    /// stat(2) of a path (following links: `/proc/PID/ns/net` gives the namespace's identity).
    static func pathIdentity(_ path: String) -> Result<(device: UInt64, inode: UInt64), SysError> {
        var st = stat()
        return retrying("stat", path) { stat(path, &st) }.map { _ in (UInt64(st.st_dev), UInt64(st.st_ino)) }
    }

    /// stat(2) of a path: whether it exists (any error other than ENOENT/ENOTDIR counts as
    /// existing, so the caller reports the real error when it opens it).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return true }
        return Glibc.errno != ENOENT && Glibc.errno != ENOTDIR
    }

    /// readlink(2), e.g. `/proc/self/fd/N` of a namespace file -> `net:[4026531840]`.
    static func readlink(_ path: String) -> Result<String, SysError> {
        var buf = [CChar](repeating: 0, count: 4096)
        return retrying("readlink", path) { Glibc.readlink(path, &buf, buf.count - 1) }
            .map { n in String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// Reads `fd` to end of file (files in /proc report size 0, so read until read(2) says 0).
    /// At most `limit` bytes.
    static func readAll(_ fd: Int32, _ subject: String, limit: Int = 64 << 20) -> Result<[UInt8], SysError> {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while out.count < limit {
            let r = chunk.withUnsafeMutableBytes { raw in
                retrying("read", subject) { Glibc.read(fd, raw.baseAddress, raw.count) }
            }
            switch r {
            case .failure(let e): return .failure(e)
            case .success(0): return .success(out)
            case .success(let n): out.append(contentsOf: chunk.prefix(n))
            }
        }
        return .success(out)
    }

    /// open + readAll + close, as text (UTF-8, invalid bytes replaced).
    static func readText(_ path: String) -> Result<String, SysError> {
        openReadOnly(path).flatMap { fd in
            defer { close(fd) }
            return readAll(fd, path).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// gettid(2).
    static func threadID() -> Int32 { knetcap_gettid() }
}
