// Issue 8, sixth new-user trial: what it found and this session fixed, each on real files.

import Foundation
import Testing

@Suite("issue 8: sixth trial")
struct Issue8SixthTrialTests {
    /// The finding-comment pass rewrites the -w file through a temporary file: the result keeps
    /// the capture's mode and owner (a 0600 file of nobody's was left 0644 root's).
    @Test func theCommentPassKeepsModeAndOwner() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("e4.pcapng")
        try Data("old\n".utf8).write(to: out)
        #expect(chmod(out.path, 0o600) == 0)
        let nobody = try #require(getpwnam("nobody"))
        #expect(chown(out.path, nobody.pointee.pw_uid, nobody.pointee.pw_gid) == 0)
        let r = try run(["-q", "-r", repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path, "-w", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        var st = stat()
        #expect(stat(out.path, &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o600)
        #expect(st.st_uid == nobody.pointee.pw_uid)
        // The comments were written (the pass did run).
        let comments = try tool("tshark", ["-r", out.path, "-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number"])
        #expect(!comments.stdout.split(separator: "\n").isEmpty, "no finding comment: \(comments.stderr)")
    }

    /// An unknown -Z user is refused before any -w file is opened: an existing file stays as it
    /// was and a new name is not created (it was truncated to a 24-byte header before).
    @Test func anUnknownUserTouchesNoFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let exist = dir.appendingPathComponent("exist.pcap"), fresh = dir.appendingPathComponent("fresh.pcap")
        try Data("old\n".utf8).write(to: exist)
        let input = repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path
        for target in [exist, fresh] {
            let r = try run(["-q", "-r", input, "-w", target.path, "-Z", "knetcap-no-such-user"])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("-Z knetcap-no-such-user: no such user"), "\(r.stderr)")
        }
        #expect(try Data(contentsOf: exist) == Data("old\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
    }
}
