// Issue 8, the ninth new-user trial: an existing -w file replaced by part of a capture whose
// interface of another link type came after other blocks, a gzip file cut under 24 bytes
// called "not a capture", and libraries' raw words for a link type neither format holds.

import Foundation
import Testing

@Suite("issue 8: ninth trial")
struct Issue8NinthTrialTests {
    /// be-difficult-test202.pcapng (the pcapng test generator) declares an Ethernet and a NULL
    /// interface with a name-resolution block between them: opening the file sees only the
    /// first, and `-w keep.pcap` replaced the existing 7-packet keep.pcap with 2 packets before
    /// the NULL packet stopped it. Now a second pass over the file finds that packet before
    /// anything is opened: exit 8, keep.pcap byte for byte as it was, a new name not created.
    @Test func aLaterLinkTypeLeavesTheExistingFileAlone() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = repoRoot.appendingPathComponent("Tests/Captures/pcapng-testgen/be-difficult-test202.pcapng").path
        let keep = dir.appendingPathComponent("keep.pcap")
        let original = try Data(contentsOf: dnsTimeout)
        try original.write(to: keep)
        for extra in [[String](), ["-C", "1"]] {
            let r = try run(["-q", "-r", input, "-w", keep.path] + extra)
            expectError(r, Status.cannotWrite, mentions: ["cannot write \(keep.path): a packet of interface 1 has link type NULL (BSD loopback), "
                                                          + "but a pcap file holds one link type (EN10MB (Ethernet))", "\(keep.path) was not touched"])
            #expect(try Data(contentsOf: keep) == original, "\(extra): keep.pcap changed")
        }
        let fresh = dir.appendingPathComponent("new.pcap")
        expectError(try run(["-q", "-r", input, "-w", fresh.path]), Status.cannotWrite, mentions: ["a pcap file holds one link type"])
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        // As pcapng, every interface is kept: all 8 packets written.
        let ng = dir.appendingPathComponent("all.pcapng")
        #expect(try run(["-q", "-r", input, "-w", ng.path]).status == 0)
        let c = try tool("capinfos", ["-c", "-M", ng.path])
        #expect(c.stdout.contains("Number of packets:   8"), "\(c.stdout)")
    }

    /// A gzip or zstd file cut to fewer bytes than a pcap header (24) is a broken compressed
    /// stream, exit 13, from a file and from a pipe; its size counts compressed bytes (it was
    /// exit 4, "truncated file header (10 bytes)"). Plain short files stay exit 4.
    @Test(arguments: [("gzip", 10), ("gzip", 23), ("zstd", 12)])
    func aCompressedFileCutShortIsABrokenStream(_ compressor: String, _ keep: Int) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let packed = dir.appendingPathComponent("whole.\(compressor)")
        #expect(try tool(compressor, ["-c", dnsTimeout.path], stdoutFile: packed).status == 0)
        let cut = dir.appendingPathComponent("cut.pcap.\(compressor == "gzip" ? "gz" : "zst")")
        try Data(contentsOf: packed).prefix(keep).write(to: cut)
        let unit = compressor == "gzip" ? "member" : "frame"
        expectError(try run(["-q", "-r", cut.path]), Status.decompressFailed,
                    mentions: ["\(cut.path): decompression failed: the \(compressor) stream ends inside a \(unit): its \(keep) compressed bytes"])
        expectError(try run(["-q", "-r", "-"], stdinBytes: try Data(contentsOf: cut)), Status.decompressFailed,
                    mentions: ["standard input: decompression failed: the \(compressor) stream ends inside a \(unit)"])
        let plain = dir.appendingPathComponent("short.pcap")
        try Data(contentsOf: dnsTimeout).prefix(keep).write(to: plain)
        expectError(try run(["-q", "-r", plain.path]), Status.notACapture, mentions: ["truncated file header (\(keep) bytes"])
    }

    /// An interface of a link type libwiretap has no encapsulation for: `-w` as pcap or
    /// pcapng says so in the words reading it uses (it gave libpcap's "link-layer type -1
    /// isn't supported in savefiles" and libwiretap's "Packets with that network type can't be
    /// saved in that format"); nothing is created.
    @Test(arguments: ["o.pcap", "o.pcapng"])
    func aLinkTypeNoFormatHoldsIsNamed(_ name: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(name)
        let r = try run(["-q", "-r", repoRoot.appendingPathComponent("Tests/Captures/crafted/linktype-65520.pcapng").path, "-w", out.path])
        expectError(r, Status.cannotWrite, mentions: ["cannot write \(out.path): interface 0 has a link type unknown to libwiretap",
                                                      "so its packets cannot be copied (editcap refuses them too)"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
