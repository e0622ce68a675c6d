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

    /// A pcapng whose interfaces (declared before the first packet) have two link types, written
    /// as classic pcap over an existing file: refused before the file is opened, the file left
    /// as it was (it was replaced, then left with the first interface's packets).
    @Test func severalLinkTypesToClassicPcapLeaveTheFileAlone() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ether = repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path
        let sll = dir.appendingPathComponent("sll.pcap").path, merged = dir.appendingPathComponent("m.pcapng").path
        #expect(try tool("editcap", ["-T", "linux-sll", ether, sll]).status == 0)
        #expect(try tool("mergecap", ["-F", "pcapng", "-w", merged, ether, sll]).status == 0)
        let keep = dir.appendingPathComponent("keep.pcap")
        try Data("keep\n".utf8).write(to: keep)
        expectError(try run(["-q", "-r", merged, "-w", keep.path]), Status.cannotWrite,
                    mentions: ["cannot write \(keep.path)", "interface 1 has link type LINUX_SLL", "a pcap file holds one link type", "not touched"])
        #expect(try Data(contentsOf: keep) == Data("keep\n".utf8))
    }

    /// `-w LINK` (a symbolic link to a capture): the finding comments are written into the file
    /// the link points to, and the link is kept (the comment pass skipped links silently).
    @Test func commentsThroughASymbolicLink() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("tgt.pcapng"), link = dir.appendingPathComponent("sl.pcapng")
        try Data("x\n".utf8).write(to: target)
        #expect(symlink(target.lastPathComponent, link.path) == 0)
        let r = try run(["-q", "-r", repoRoot.appendingPathComponent("Captures/dns-timeout-glibc.pcap").path, "-w", link.path])
        #expect(r.status == 0, "\(r.stderr)")
        var st = stat()
        #expect(lstat(link.path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK, "the link was replaced")
        let c = try tool("tshark", ["-r", target.path, "-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number"])
        #expect(!c.stdout.split(separator: "\n").isEmpty, "no finding comment in the link's target: \(c.stderr)")
    }
}
