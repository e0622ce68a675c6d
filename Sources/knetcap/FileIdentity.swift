import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which file a path names, or will name once it is created: so that `-w` and `--html` never
/// name the `-r` input (or each other), however the path is spelled (`./x`, `d/../x`, a
/// symlink, `/dev/stdin`, or `-` for standard input/output).
enum FileIdentity: Equatable {
    /// An existing regular file: its device and inode.
    case file(dev: UInt64, inode: UInt64)
    /// A FIFO, pipe or socket: written to as the input, it would block knetcap on its own input.
    case channel(dev: UInt64, inode: UInt64)
    /// A path not yet created: the device and inode of its directory and its last component.
    case entry(dev: UInt64, inode: UInt64, name: String)

    /// The identity of `path` (`-`: the file on `standardFD`), or nil when it names nothing an
    /// output could destroy or block on: a device (writing one does not replace what a reader
    /// reads), or a path whose directory does not exist (opening it fails anyway).
    init?(_ path: String, standardFD: Int32) {
        var st = stat()
        if path == "-" {
            guard fstat(standardFD, &st) == 0 else { return nil }
            self.init(st)
            return
        }
        self.init(resolving: path, depth: 0)
    }

    private init?(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: self = .file(dev: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        case S_IFIFO, S_IFSOCK: self = .channel(dev: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        default: return nil
        }
    }

    private init?(resolving path: String, depth: Int) {
        var st = stat()
        if stat(path, &st) == 0 { self.init(st); return }
        // Not there (yet). A dangling symlink: the file it would create is its target's.
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFLNK, depth < 40 else { return nil }
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buf, buf.count - 1)
            guard n > 0 else { return nil }
            let target = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let resolved = target.hasPrefix("/") ? target : Self.directory(of: path) + "/" + target
            self.init(resolving: resolved, depth: depth + 1)
            return
        }
        let name = (path as NSString).lastPathComponent
        guard stat(Self.directory(of: path), &st) == 0, !name.isEmpty else { return nil }
        self = .entry(dev: UInt64(st.st_dev), inode: UInt64(st.st_ino), name: name)
    }

    /// The directory part of `path` (`.` for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}
