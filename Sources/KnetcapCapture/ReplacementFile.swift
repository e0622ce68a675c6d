#if canImport(Glibc)
import Glibc
#endif

/// A `-w` file (or `knetcap merge -w`) written so that a failed write never destroys a file
/// already there: the writer opens a temporary file in the same directory, writes and flushes
/// its header (pcap file header; pcapng section header and interface blocks), and only then
/// is it renamed over the name (`commit`). A write that fails before (a full disk, a quota)
/// removes the temporary file (`discard`) and leaves the existing file byte for byte as it
/// was; a name that did not exist is never left behind empty.
///
/// Only a regular file, or a name not yet taken, is replaced this way. Standard output (`-`),
/// a device (`/dev/null`, `/dev/full`), a FIFO, a directory or a symbolic link to nothing are
/// opened in place, as before (renaming over them would replace them with a file). A symbolic
/// link to a regular file replaces the file it points to (the link stays). The replacement
/// gets the old file's permissions (and, as root, its owner); a new one `0666 & ~umask`, as
/// `open(2)` would. When the directory is not writable but the file is (a rotation's ring
/// file given to `-Z USER` in a directory USER cannot write), the file is written in place.
struct ReplacementFile {
    /// The name given, for messages and `WrittenFile.path`.
    let path: String
    /// What the writer opens: the temporary file, or `path` itself (in place).
    let openPath: String
    /// The file `openPath` is renamed over by `commit` (nil: opened in place).
    private let target: String?
    /// The name held a file before.
    private let existed: Bool

    /// Creates the temporary file beside `path` (nothing is opened for a name written in place).
    /// - Throws: `CaptureError.cannotWrite` when the directory refuses it (its reason: no such
    ///   directory, permission denied).
    init(_ path: String) throws(CaptureError) {
        self.path = path
        var target: String? = nil
        var old = stat()
        var st = stat()
        let exists = stat(path, &old) == 0
        existed = exists
        if path == "-" {
            target = nil
        } else if !exists {
            // A dangling symbolic link is opened in place (open(2) creates what it points to).
            target = lstat(path, &st) == 0 ? nil : path
        } else if old.st_mode & S_IFMT == S_IFREG {
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let real = realpath(path, nil) {
                target = String(cString: real)
                free(real)
            } else {
                target = path
            }
        }
        guard let t = target else { openPath = path; self.target = nil; return }
        let slash = t.lastIndex(of: "/")
        let dir = slash.map { String(t[...$0]) } ?? ""
        let base = slash.map { String(t[t.index(after: $0)...]) } ?? t
        var made: String? = nil
        var reason: Int32 = 0
        for _ in 0..<100 {
            let name = "\(dir).\(base).knetcap-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 {
                if exists {
                    _ = fchmod(fd, old.st_mode & 0o7777)
                    if geteuid() == 0 { _ = fchown(fd, old.st_uid, old.st_gid) }
                }
                close(fd)
                made = name
                break
            }
            reason = errno
            if reason != EEXIST { break }
        }
        guard let tmp = made else {
            // The directory refuses a new name, the file itself may still be writable.
            if exists && (reason == EACCES || reason == EPERM) && access(path, W_OK) == 0 {
                openPath = path; self.target = nil; return
            }
            throw CaptureError(.cannotWrite, "cannot write \(path): \(String(cString: strerror(reason)))")
        }
        openPath = tmp
        self.target = t
    }

    /// True when the writer writes a temporary file that `commit` renames.
    var isTemporary: Bool { target != nil }

    /// What a failure before `commit` leaves, for its message: "; PATH was not touched" when
    /// it replaces a file there, "" otherwise.
    var untouched: String { target != nil && existed ? "; \(path) was not touched" : "" }

    /// Renames the temporary file over the name, once the header is written and flushed.
    /// - Throws: `CaptureError.cannotWrite` (the temporary file removed, the old file kept).
    func commit() throws(CaptureError) {
        guard let t = target else { return }
        if rename(openPath, t) != 0 {
            let e = String(cString: strerror(errno))
            unlink(openPath)
            throw CaptureError(.cannotWrite, "cannot write \(path): \(e)")
        }
    }

    /// Removes the temporary file (a failed open): the old file stays as it was.
    func discard() {
        if target != nil { unlink(openPath) }
    }

    /// `message` with the temporary file's name (libpcap names the file it opened) put back
    /// to the name given.
    func naming(_ message: String) -> String {
        target == nil ? message : message.replacing(openPath, with: path)
    }
}
