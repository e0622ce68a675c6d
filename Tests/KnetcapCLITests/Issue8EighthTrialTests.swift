// Issue 8, the eighth new-user trial: standard input closed, -T fields with -w, a second
// signal during the finding-comment pass, and frame.interface_name. Each against the real
// tshark and tcpdump where they have an answer.

import Foundation
import Testing

@Suite("issue 8: eighth trial")
struct Issue8EighthTrialTests {
    /// `knetcap -q -r - <&-`: standard input closed. An internal pipe took descriptor 0 and was
    /// read as the capture (knetcap hung). Now one line, at once, as tcpdump says it
    /// (`Bad file descriptor`, exit 1).
    @Test func closedStandardInputIsOneLine() throws {
        let closed = ["/bin/sh", "-c", "exec \"$0\" \"$@\" <&-"]
        let r = try run(["-q", "-r", "-"], as: closed, timeout: 20)
        expectError(r, Status.failure, mentions: ["standard input: Bad file descriptor"])
        // (`sh -c SCRIPT KNETCAP`: the script does not use its $0, knetcap's path.)
        let t = try run([], as: ["/bin/sh", "-c", "exec tcpdump -nn -r - <&-"], timeout: 20)
        #expect(t.status == 1 && t.stderr.contains("Bad file descriptor"), "tcpdump: \(t.status) \(t.stderr)")
        // A capture file read with standard input closed is not disturbed.
        let ok = try run(["-q", "-r", dnsTimeout.path], as: closed, timeout: 20)
        #expect(ok.status == 0 && ok.stdout.contains("dns.conntrack-race"), "\(ok.stderr)")
    }

    /// Standard output closed (`>&-`): the report cannot be written; exit 8 naming standard
    /// output, and a `-w` file opened then does not take descriptor 1 (its bytes are the pcap,
    /// not packet lines).
    @Test func closedStandardOutputIsNotAFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let closed = ["/bin/sh", "-c", "exec \"$0\" \"$@\" >&-"]
        let r = try run(["-r", dnsTimeout.path], as: closed, timeout: 20)
        #expect(r.status == Status.cannotWrite && r.stderr.contains("cannot write standard output: Bad file descriptor"), "\(r.status) \(r.stderr)")
        let out = dir.appendingPathComponent("o.pcap")
        let w = try run(["-r", dnsTimeout.path, "-w", out.path], as: closed, timeout: 20)
        #expect(w.status == Status.cannotWrite, "\(w.stderr)")
        let c = try tool("capinfos", ["-c", "-M", out.path])
        #expect(c.status == 0 && c.stdout.contains("Number of packets:   7"), "\(c.stdout) \(c.stderr)")
    }

    /// `-T fields -e ... -w FILE`: the field lines are printed while the file is written, as
    /// tshark prints them (tcpdump's -w prints nothing, but -T fields is tshark's); `-w -` is
    /// refused, as tshark refuses it, since both would go to standard output.
    @Test func fieldsAreStillPrintedWithW() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ours = dir.appendingPathComponent("ours.pcap"), theirs = dir.appendingPathComponent("theirs.pcap")
        let fields = ["-T", "fields", "-e", "frame.number", "-e", "dns.qry.name", "-e", "dns.flags.response"]
        let r = try run(["-r", dnsTimeout.path, "-w", ours.path] + fields)
        #expect(r.status == 0, "\(r.stderr)")
        let t = try tool("tshark", ["-r", dnsTimeout.path, "-w", theirs.path] + fields)
        try #require(t.status == 0, "\(t.stderr)")
        #expect(r.stdout == t.stdout && r.stdout.split(separator: "\n").count == 7, "knetcap:\n\(r.stdout)\ntshark:\n\(t.stdout)")
        #expect(r.stderr.contains("dns.conntrack-race"), "the diagnosis goes to standard error: \(r.stderr)")
        let count = try tool("capinfos", ["-c", "-M", ours.path])
        #expect(count.stdout.contains("Number of packets:   7"), "\(count.stdout)")
        // -Y: only what it matches, in the lines and in the file.
        let y = try run(["-r", dnsTimeout.path, "-w", ours.path, "-Y", "dns.flags.response == 1"] + fields)
        let ty = try tool("tshark", ["-r", dnsTimeout.path, "-w", theirs.path, "-Y", "dns.flags.response == 1"] + fields)
        #expect(y.stdout == ty.stdout && !y.stdout.isEmpty, "\(y.stdout) / \(ty.stdout)")
        #expect(try tool("capinfos", ["-c", "-M", ours.path]).stdout.contains("Number of packets:   \(y.stdout.split(separator: "\n").count)"))
        // -q: no lines (tshark -q -T fields prints none either).
        let q = try run(["-q", "-r", dnsTimeout.path, "-w", ours.path] + fields)
        #expect(q.status == 0 && !q.stdout.contains("api.knetcap.test"), "\(q.stdout)")
        let refused = try run(["-r", dnsTimeout.path, "-w", "-"] + fields)
        expectError(refused, Status.usage, mentions: ["-T fields with -w -", "standard output"])
        let tr = try tool("tshark", ["-r", dnsTimeout.path, "-w", "-"] + fields)
        #expect(tr.status != 0 && tr.stderr.contains("standard output"), "tshark: \(tr.stderr)")
    }

    /// A second SIGTERM while the finding comments are added to a pcapng `-w` file (the pass
    /// after the diagnosis, detected by its temporary file): exit 143 with one line saying the
    /// file is complete without the comments (before, nothing was said). The file holds every
    /// packet, and no temporary file is left.
    @Test func aSecondSignalDuringTheCommentPassIsSaid() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 200 k packets with the generator's injected faults: findings to comment, and a pass
        // long enough (about a second) to be caught in.
        let big = try generated(packets: 200_000, seed: 1, in: dir)
        let out = dir.appendingPathComponent("out.pcapng"), tmp = out.path + ".knetcap-tmp"
        var signalled = false
        let r = try run(["-q", "-r", big.path, "-w", out.path], timeout: 120) { p in
            let seen = waitFor(60) { FileManager.default.fileExists(atPath: tmp) || !p.isRunning }
            guard seen, p.isRunning else { return }
            kill(p.processIdentifier, SIGTERM)
            Thread.sleep(forTimeInterval: 0.05)
            kill(p.processIdentifier, SIGTERM)
            signalled = true
        }
        try #require(signalled, "the comment pass ended before it was seen (exit \(r.status)): \(r.stderr)")
        #expect(r.status == 128 + SIGTERM, "\(r.stderr)")
        let last = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last == "knetcap: stopped by a second signal (SIGTERM) while adding the finding comments: \(out.path) is complete with all 200000 packets, without the comments",
                "\(r.stderr)")
        #expect(r.stdout.contains("knetcap diagnosis"), "the diagnosis came before the pass: \(r.stdout.prefix(300))")
        #expect(!FileManager.default.fileExists(atPath: tmp))
        let c = try tool("capinfos", ["-c", "-M", out.path])
        #expect(c.status == 0 && c.stdout.contains("Number of packets:   200000"), "\(c.stdout) \(c.stderr)")
        let comments = try tool("tshark", ["-r", out.path, "-Y", "frame.comment contains \"knetcap\"", "-T", "fields", "-e", "frame.number"])
        #expect(comments.status == 0 && comments.stdout.isEmpty, "comments were added: \(comments.stdout.prefix(200))")
    }

    /// `frame.interface_name` and `frame.interface_description`, as tshark 4.0 gives them, on
    /// every pcapng of the repository but the four multi-section files of the pcapng test
    /// generator, where tshark 4.0 names the first section's interface of that number (epan's
    /// interface lookup ignores the section): knetcap names the frame's own section's.
    @Test func interfaceNameAndDescriptionAsTshark() throws {
        let fields = TsharkFieldsTests.fields(["frame.number", "frame.interface_id", "frame.interface_name", "frame.interface_description"])
        let multiSection = ["be-difficult-test201", "be-difficult-test202", "le-difficult-test201", "le-difficult-test202"]
        var compared = 0
        for folder in ["Captures", "Tests/Captures/public", "Tests/Captures/pcapng-testgen"] {
            for path in try TsharkRecordFieldsTests.files(in: folder) where path.hasSuffix(".pcapng") {
                if multiSection.contains(where: { path.hasSuffix("/\($0).pcapng") }) { continue }
                try TsharkRecordFieldsTests.expectSameBytes(path, fields, mayBeEmpty: true)
                compared += 1
            }
        }
        #expect(compared >= 40, "only \(compared) pcapng files compared")
        // The node's interface (knetcap's own pcapng): name and description, and -Y on them.
        let node = try run(["-r", repoRoot.appendingPathComponent("Captures/net-cross-node-loss.pcapng").path, "-c", "1"] + fields)
        #expect(node.stdout.hasPrefix("1\t0\tnode-a/xa\tnetwork namespace net:[4026532178] of /var/run/netns/kx-a\n"), "\(node.stdout)")
        let y = try run(["-r", repoRoot.appendingPathComponent("Captures/net-cross-node-loss.pcapng").path, "-Y", "frame.interface_name == \"node-b/xb\"", "-T", "fields", "-e", "frame.interface_id"])
        let ty = try tool("tshark", ["-r", repoRoot.appendingPathComponent("Captures/net-cross-node-loss.pcapng").path,
                                     "-Y", "frame.interface_name == \"node-b/xb\"", "-T", "fields", "-e", "frame.interface_id"])
        #expect(y.stdout == ty.stdout && y.stdout.hasPrefix("1\n"), "\(y.stdout) / \(ty.stdout)")
        // A second section's interface 0 is named by that section's block.
        let second = try run(["-r", repoRoot.appendingPathComponent("Tests/Captures/pcapng-testgen/le-difficult-test201.pcapng").path] + fields)
        #expect(second.stdout.split(separator: "\n").dropFirst().first == "2\t0\tsilly ethernet interface 2\t", "\(second.stdout)")
        // A pcap has no interfaces: the fields are empty, as tshark's.
        try TsharkRecordFieldsTests.expectSameBytes("Captures/dns-timeout-glibc.pcap", fields)
    }

    /// `-w x.pcapng.gz`, `.pcap.zst`, `.lz4`: refused before anything is written (the file
    /// was a plain classic pcap under a compressed name, which -r then refused as a broken
    /// gzip stream).
    @Test(arguments: ["x.pcapng.gz", "x.pcap.zst", "x.pcap.LZ4"])
    func compressedNamesAreRefused(_ name: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(name)
        let r = try run(["-r", dnsTimeout.path, "-w", out.path])
        expectError(r, Status.usage, mentions: ["-w \(out.path): knetcap writes captures uncompressed", "compress it afterwards"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// A pcapng interface whose LINKTYPE_ value libwiretap has no encapsulation for (65520):
    /// named as that, not as "Unknown (wiretap encapsulation unknown)"; tshark shows
    /// `WTAP_ENCAP = 0` for it. Exit 9 after the whole file was read.
    @Test func aLinkTypeWiretapDoesNotKnowIsNamedSo() throws {
        let file = repoRoot.appendingPathComponent("Tests/Captures/crafted/linktype-65520.pcapng")
        let t = try tool("tshark", ["-r", file.path])
        #expect(t.stdout.contains("WTAP_ENCAP = 0"), "tshark: \(t.stdout)")
        let r = try run(["-q", "-r", file.path])
        expectError(r, Status.unsupportedLinkType, mentions: ["interface 0 has link type unknown to libwiretap (a LINKTYPE_ value it has no encapsulation for",
                                                              "its 1 packet from frame 1 was read but not diagnosed"], stdoutMayHaveText: true)
        // One packet is "1 packet", as tcpdump's PLURAL_SUFFIX says it.
        #expect(r.stdout.contains("knetcap: no faults found in 1 packet (0.000 s of capture)"), "\(r.stdout)")
    }

    /// An Observer file libwiretap 4.0 refuses on opening (the file its own writer makes:
    /// "time information TLV length 12 != 8", as tshark and capinfos say): not a "corrupt
    /// record" without an offset, but its file header, before the first record; exit 4.
    @Test func aCorruptFileHeaderIsNotARecord() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("o.bfr")
        let e = try tool("editcap", ["-F", "niobserver", dnsTimeout.path, file.path])
        try #require(e.status == 0, "\(e.stderr)")
        let t = try tool("tshark", ["-r", file.path])
        try #require(t.status != 0 && t.stderr.contains("TLV length 12 != 8"), "tshark reads it now: \(t.stderr)")
        let r = try run(["-q", "-r", file.path])
        expectError(r, Status.notACapture, mentions: ["\(file.path): corrupt file header, before the first record",
                                                      "Observer: bad record (time information TLV length 12 != 8)"])
    }

    /// `tcp.flags` is the 12 bits after the data offset, the three reserved bits included
    /// (tshark's mask 0x0FFF: kday4.pcap's fuzzed segments show 0x0d30 where knetcap gave
    /// 0x0130), with `tcp.flags.res` and `tcp.flags.urg`; `tcp.len` is bounded by the frame's
    /// length on the wire (kday4 and kday7 frame 10, a 66-byte frame whose IPv4 header claims
    /// 820 bytes: 0, not 768). Byte for byte as tshark on tcpdump's fuzzed and flag-test
    /// captures and an Accurate ECN handshake.
    @Test(arguments: ["kday2", "kday3", "kday4", "kday5", "kday7", "kday8", "print-flags", "tcp_eight_lowest_weight_flags_set",
                      "accecn_handshake", "tcp_header_heapoverflow", "tcp-auth-heapoverflow"])
    func tcpFlagsWithTheReservedBits(_ name: String) throws {
        let path = "Tests/Captures/tcpdump-tests/\(name).pcap"
        try TsharkRecordFieldsTests.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "tcp.flags", "tcp.flags.res", "tcp.flags.urg", "tcp.flags.syn", "tcp.len", "tcp.seq"]))
        try TsharkRecordFieldsTests.expectSameBytes(path, ["-Y", "tcp.flags.res"] + TsharkFieldsTests.fields(["frame.number"]), mayBeEmpty: true)
    }

    /// `ipv6.plen` is the header's Payload Length field, 0 in a jumbogram or a BIG TCP segment,
    /// as tshark shows it (knetcap gave the length it reads by: 65536, 80000); what knetcap
    /// reads by is unchanged (`tcp.len` of the BIG TCP segment, the diagnosis).
    @Test(arguments: ["ipv6_jumbogram_1", "ipv6_missing_jumbo_payload_option", "ipv6_frag6_negative_len", "ipv6-too-long-jumbo",
                      "bigtcp-ipv6-hbh", "ipv6_jumbogram_invalid_length"])
    func ipv6PayloadLengthIsTheField(_ name: String) throws {
        try TsharkRecordFieldsTests.expectSameBytes("Tests/Captures/tcpdump-tests/\(name).pcap",
                                                    TsharkFieldsTests.fields(["frame.number", "ipv6.plen", "ipv6.nxt", "ipv6.src", "ipv6.hlim"]))
    }
}
