// Many nodes (issue 10): `knetcap merge` against Wireshark's mergecap on the same inputs.

import Foundation
import Testing

@Suite("knetcap merge (many nodes)")
struct MergeTests {
    /// The columns that show a merge's packet order: time, length, comments, protocols.
    func order(_ file: URL) throws -> [String] {
        let r = try tool("tshark", ["-r", file.path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len",
                                    "-e", "frame.comment", "-e", "frame.protocols"])
        #expect(r.status == 0, "tshark -r \(file.lastPathComponent): \(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// Three public captures (a pcap, a multi-interface pcapng, a two-interface pcapng) and a
    /// commented copy of one with the same timestamps (every packet a tie, which mergecap gives to the later input): the order
    /// mergecap gives, the interfaces named after their files, every comment kept.
    @Test func mergeOrdersPacketsAsMergecap() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dns = publicCaptures.appendingPathComponent("dnscap-dns.pcap")
        // The same packets, same times, a comment on frame 2: ties go to the input listed last.
        let twin = dir.appendingPathComponent("twin.pcapng")
        let e = try tool("editcap", ["-F", "pcapng", "-a", "2:twin frame 2", dns.path, twin.path])
        try #require(e.status == 0, "editcap: \(e.stderr)")
        let inputs = [dns, publicCaptures.appendingPathComponent("zeek-pcapng-multi-interface.pcapng"),
                      publicCaptures.appendingPathComponent("pcapng-testgen-le-test006.pcapng"), twin]
        let ours = dir.appendingPathComponent("ours.pcapng"), theirs = dir.appendingPathComponent("mergecap.pcapng")
        let r = try run(["merge", "-w", ours.path] + inputs.map(\.path))
        #expect(r.status == 0, "knetcap merge: \(r.stderr)")
        let m = try tool("mergecap", ["-w", theirs.path] + inputs.map(\.path))
        try #require(m.status == 0, "mergecap: \(m.stderr)")
        let a = try order(ours), b = try order(theirs)
        #expect(a.count == 277, "133 + 6 + 5 + 133 packets")
        #expect(a == b, "first difference at line \(Array(zip(a, b)).firstIndex { $0.0 != $0.1 } ?? min(a.count, b.count))")
        #expect(a.contains { $0.contains("twin frame 2") })
        #expect(r.stderr.contains("merged 277 packets from 4 files"), "\(r.stderr)")

        let names = try tool("tshark", ["-r", ours.path, "-T", "fields", "-e", "frame.interface_name"])
        let counts = Dictionary(names.stdout.split(separator: "\n").map { (String($0), 1) }, uniquingKeysWith: +)
        #expect(counts == ["dnscap-dns": 133, "twin": 133, "pcapng-testgen-le-test006/eth0": 4, "pcapng-testgen-le-test006/en1": 1,
                           "zeek-pcapng-multi-interface/eth0": 2,
                           "zeek-pcapng-multi-interface/\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}": 4], "\(counts)")
        // The interface options are kept (Windows' if_description, if_os) and name the file.
        let info = try tool("capinfos", [ours.path])
        #expect(info.stdout.contains("Description = Ethernet 2"))
        #expect(info.stdout.contains("Comment = File: \(twin.path)"))
        #expect(info.stdout.contains("Number of interfaces in file: 6"), "\(info.stdout)")
    }

    /// LABEL=PATH names the vantage point; the merged file is read and diagnosed by -r, the
    /// finding the same as in the one input that holds it.
    @Test func labelsNameTheVantagePoints() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("all.pcapng")
        let r = try run(["merge", "-w", out.path, "node-a=\(goodCapture.path)", "node-b=\(publicCaptures.appendingPathComponent("dnscap-dns.pcap").path)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("(2 interfaces: node-b, node-a)"), "in the order of their first packets: \(r.stderr)")
        let names = try tool("tshark", ["-r", out.path, "-T", "fields", "-e", "frame.interface_name"])
        #expect(Set(names.stdout.split(separator: "\n")) == ["node-a", "node-b"])
        let q = try run(["-q", "-r", out.path])
        let alone = try run(["-q", "-r", goodCapture.path])
        #expect(q.stdout.contains("dns.conntrack-race") && alone.stdout.contains("dns.conntrack-race"), "\(q.stdout)")
    }

    /// Bad inputs get -r's messages and statuses; an input cut short ends there, its packets
    /// before the cut and the other inputs merged whole, the file complete.
    @Test func badInputs() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pcapng")
        expectError(try run(["merge", "-w", out.path, dir.appendingPathComponent("absent.pcap").path]), Status.noSuchFile, mentions: ["absent.pcap"])
        expectError(try run(["merge", "-w", goodCapture.path, goodCapture.path]), Status.usage, mentions: ["names the input"])
        expectError(try run(["merge", "-w", out.path]), Status.usage, mentions: ["at least one input"])
        let text = dir.appendingPathComponent("notes.txt")
        try Data(String(repeating: "not a capture\n", count: 10).utf8).write(to: text)
        expectError(try run(["merge", "-w", out.path, text.path]), Status.notACapture, mentions: ["notes.txt"])
        expectError(try run(["merge", "-w", "/nonexistent-dir/out.pcapng", goodCapture.path]), Status.cannotWrite, mentions: ["/nonexistent-dir/out.pcapng"])

        // dnscap-dns.pcap cut in half, inside a record: tshark reads N packets of it.
        let dns = try Data(contentsOf: publicCaptures.appendingPathComponent("dnscap-dns.pcap"))
        let cut = dir.appendingPathComponent("cut.pcap")
        try dns.prefix(dns.count / 2).write(to: cut)
        let t = try tool("tshark", ["-r", cut.path])
        let n = t.stdout.split(separator: "\n").count
        try #require(t.status != 0 && n > 10 && n < 133, "tshark reads part of the cut file: \(t.stderr)")
        let r = try run(["merge", "-w", out.path, goodCapture.path, cut.path])
        expectError(r, Status.readFailed, mentions: ["cut.pcap", "truncated record at byte offset", "its \(n) packets before it",
                                                     "\(n + 7) packets merged into \(out.path)"])
        #expect(try capinfosCount(out) == n + 7, "the packets before the cut and the other input whole")
    }
}
