#if canImport(Glibc)
import Glibc
#endif
import KnetcapCapture

/// `-Z USER`, as tcpdump: once the capture handle and the `-w` files are open (and any
/// network namespace entered), the files are given to USER and the process becomes USER
/// (its primary group and supplementary groups: initgroups, setgid, setuid). A rotation's
/// later files are created as USER.
/// - Throws: `Fatal(.usage)` for an unknown user, `Fatal(.permissionDenied)` when the calls fail.
func dropPrivileges(to user: String, files: [String]) throws {
    guard let pw = getpwnam(user) else { throw Fatal(.usage, "-Z \(user): no such user") }
    let uid = pw.pointee.pw_uid, gid = pw.pointee.pw_gid
    for f in files where f != "-" { _ = chown(f, uid, gid) }
    guard initgroups(user, gid) == 0, setgid(gid) == 0, setuid(uid) == 0 else {
        throw Fatal(.permissionDenied, "-Z \(user): cannot change to user \(user): \(String(cString: strerror(errno)))")
    }
}
