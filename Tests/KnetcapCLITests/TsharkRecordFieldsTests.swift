import Foundation
import Testing

/// `-T fields` for the frames that are not packets (pcapng custom blocks, systemd journal
/// export blocks: records libwiretap 4.0 returns with another type than REC_TYPE_PACKET) and
/// for comments that are not valid UTF-8, against the real tshark 4.0, byte for byte.
/// `Tests/Captures/crafted/records.pcapng` (made by `make-crafted.py`) holds both.
@Suite("knetcap -T fields for records that are not packets and raw comments, as tshark")
struct TsharkRecordFieldsTests {
    static let frameFields = ["frame.number", "frame.len", "frame.cap_len", "frame.time_epoch", "frame.time_relative",
                              "frame.time_delta", "frame.interface_id", "frame.comment"]

    /// Standard output of `exe args` as bytes (not decoded: a value that is not UTF-8 stays as
    /// it is), and the exit status.
    static func bytes(_ exe: URL, _ args: [String]) throws -> (status: Int32, out: Data) {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        let out = Pipe()
        defer { out.closeBothEnds() }
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.runSerialized()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, o)
    }

    /// knetcap's and tshark's standard output for `-r path args`, compared byte for byte.
    /// Returns the number of bytes tshark printed.
    @discardableResult
    static func expectSameBytes(_ path: String, _ args: [String], mayBeEmpty: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let file = try TsharkFieldsTests.capture(path)
        let tshark = try #require(["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "tshark is not installed (make deps-test)")
        let ours = try bytes(knetcap, ["-r", file] + args), theirs = try bytes(URL(fileURLWithPath: tshark), ["-r", file] + args)
        // A damaged file: both stop at the same frame with an error (tshark 2, knetcap its own status).
        #expect((ours.status == 0) == (theirs.status == 0), "\(path) \(args): exit \(ours.status), tshark \(theirs.status)",
                sourceLocation: sourceLocation)
        #expect(mayBeEmpty || !theirs.out.isEmpty || damaged.contains(path), "tshark printed nothing for \(path) \(args)", sourceLocation: sourceLocation)
        #expect(ours.out == theirs.out, "\(path) \(args)\nknetcap\n\(String(decoding: ours.out, as: UTF8.self))\ntshark\n\(String(decoding: theirs.out, as: UTF8.self))",
                sourceLocation: sourceLocation)
        return theirs.out.count
    }

    /// Public captures tshark stops reading with an error (after some frames, or before any).
    static let damaged: Set<String> = ["Tests/Captures/public/dpkt-truncated_dns_2.pcap", "Tests/Captures/public/libpcap-pcap-invalid-version-1.pcap",
                                       "Tests/Captures/public/libpcap-pcapng-packet-before-idb.pcapng"]

    /// Every capture of a folder; fails when the folder is missing or empty.
    static func files(in folder: String) throws -> [String] {
        let url = repoRoot.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        try #require(!names.isEmpty, "no captures in \(folder)")
        return names.sorted().map { folder + "/" + $0 }
    }

    /// Custom blocks, systemd journal entries: a line each, numbered as tshark numbers frames,
    /// with their lengths (frame_data_init's), their time when they have one (a journal entry),
    /// and the time fields of the packets after them counted from them as tshark counts (a
    /// custom block without a time keeps the time of the record before it, or 0 first).
    @Test func recordsThatAreNotPacketsAsTshark() throws {
        for path in ["Tests/Captures/crafted/records.pcapng", "Tests/Captures/pcapng-testgen/le-basic-test018.pcapng",
                     "Tests/Captures/pcapng-testgen/be-difficult-test202.pcapng"] {
            try Self.expectSameBytes(path, TsharkFieldsTests.fields(Self.frameFields + ["eth.type", "ip.src", "udp.srcport", "dns.qry.name"]))
            for filter in ["frame", "frame.number > 2", "eth", "!eth", "frame.len < 40", "frame.time_delta > 0.7", "frame.interface_id == 1",
                           "!frame.interface_id"] {
                try Self.expectSameBytes(path, ["-Y", filter] + TsharkFieldsTests.fields(["frame.number", "frame.len", "frame.time_epoch"]), mayBeEmpty: true)
            }
            try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.len", "eth.src"]) + ["-E", "header=y", "-E", "quote=d"])
        }
        // The records are frames of -T fields only: the diagnosis and the packet lines are as before.
        let file = try TsharkFieldsTests.capture("Tests/Captures/crafted/records.pcapng")
        let out = try run(["-r", file]).stdout
        #expect(out.split(separator: "\n").filter { $0.contains(" IP 10.0.0.1.40000 > 10.0.0.2.53: ") }.count == 6, "\(out)")
        #expect(out.contains("in 13 packets") && !out.contains("journal") && !out.contains("custom"), "\(out)")
    }

    /// The frame fields of every frame of every pcapng test file and public capture, as tshark
    /// prints them: the same frames, numbers, lengths, times and interfaces.
    @Test func frameFieldsOfEveryTestCaptureAsTshark() throws {
        let all = try Self.files(in: "Tests/Captures/pcapng-testgen") + Self.files(in: "Tests/Captures/public")
        var printed = 0
        for path in all {  // (some test files hold no frame)
            printed += try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.len", "frame.time_epoch", "frame.interface_id",
                                                                                "frame.time_relative", "frame.time_delta", "frame.comment"]),
                                                mayBeEmpty: true)
        }
        #expect(all.count > 60 && printed > 50_000, "\(all.count) captures, tshark printed \(printed) bytes")
    }

    /// A packet comment that is not valid UTF-8 (a lone continuation byte, 0xff, an overlong
    /// "/", a cut sequence, a surrogate): tshark 4.0 prints its bytes as they are, and -Y
    /// matches them so.
    @Test func commentsThatAreNotUTF8AsTshark() throws {
        let path = "Tests/Captures/crafted/records.pcapng"
        try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.number", "frame.comment"]))
        try Self.expectSameBytes(path, TsharkFieldsTests.fields(["frame.comment"]) + ["-E", "occurrence=l", "-E", "aggregator=;"])
        for filter in [#"frame.comment contains "\xff""#, #"frame.comment contains "\x80""#, #"frame.comment contains "\xc0\xaf""#,
                       #"frame.comment contains "\xed\xa0\x80""#, #"frame.comment contains "é""#] {
            try Self.expectSameBytes(path, ["-Y", filter] + TsharkFieldsTests.fields(["frame.number", "frame.comment"]))
        }
        let ours = try Self.bytes(knetcap, ["-r", try TsharkFieldsTests.capture(path)] + TsharkFieldsTests.fields(["frame.comment"]))
        #expect(ours.out.contains(0xff) && ours.out.contains(0x80), "the comment bytes as they are")
    }
}

/// `-T fields -e PROTOCOL`: each protocol's tree line as tshark 4.0 prints it (the texts are
/// spelled next to each protocol's fields, `Sources/KnetcapDissect/Fields/`), on every shipped,
/// public and crafted capture, column by column. The differences left are listed with their
/// reason (`known`); any other fails the test.
@Suite("knetcap -T fields -e PROTOCOL as tshark")
struct TsharkProtocolTextTests {
    static let protocols = ["frame", "eth", "sll", "vlan", "ieee8021ad", "arp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6",
                            "dns", "mdns", "llmnr", "http", "vxlan", "geneve", "gre"]

    /// tshark's Ethernet line with each vendor name (Wireshark's manuf database: `Cisco_77:df:ac
    /// (10:f3:11:77:df:ac)`, `00:00:00_00:00:00 (00:00:00:00:00:00)`) written as the address
    /// itself, as knetcap, which has no such database, writes it.
    static func withoutVendorNames(_ s: Substring) -> String {
        String(s.replacing(/(Src|Dst): ([^ ,()]+) \(([0-9a-f:]{17})\)/) { m in
            m.output.2 == "Broadcast" ? String(m.output.0) : "\(m.output.1): \(m.output.3) (\(m.output.3))"
        })
    }

    /// Why a column may differ from tshark's, or nil when it must not.
    static func known(_ path: String, _ proto: String, ours: Substring, theirs: Substring, icmp: Bool = false) -> String? {
        switch proto {
        case "http" where icmp && ours.isEmpty && theirs == "http":
            return "tshark dissects the TCP data an ICMP error quotes as HTTP by port (8080); knetcap recognises HTTP heads by content in the packet's own segments, and a quote holds no head"
        case "http" where ours.isEmpty && theirs == "http":
            return "tshark marks the segments of an HTTP body (Content-Length, continuation) http; knetcap dissects heads only (README)"
        case "http" where ours == "http" && theirs.isEmpty:
            return "knetcap recognises HTTP/1.x by content on any TCP port; tshark only on its HTTP ports (README, display filters)"

        case "eth" where withoutVendorNames(theirs) == String(ours):
            return "tshark names the vendor of an address from Wireshark's manuf database, which knetcap does not have"
        case "frame" where ours.isEmpty && theirs.hasPrefix("PCAPNG Custom Block "):
            return "tshark names a custom block's enterprise (PEN) from Wireshark's enterprises database, which knetcap does not have"
        case "frame" where path.hasSuffix("zeek-trunc-trunc-hdr.pcap"):
            return "a record longer (8 bytes) than the file's snapshot length (1): knetcap captures 1 byte of it (frame.cap_len too)"
        case "ipv6" where path.hasSuffix("vlan-stacks.pcap") && ours.isEmpty && theirs == "ipv6":
            return "a header of zeros (version 0): tshark adds the protocol and stops, printing its name; knetcap has no IPv6 layer"
        default: return nil
        }
    }

    static var captures: [String] {
        get throws {
            try TsharkRecordFieldsTests.files(in: "Captures") + TsharkRecordFieldsTests.files(in: "Tests/Captures/public")
                + TsharkRecordFieldsTests.files(in: "Tests/Captures/crafted")
        }
    }

    @Test func protocolTextsAsTshark() throws {
        let args = TsharkFieldsTests.fields(["frame.number"] + Self.protocols)
        var compared = Set<String>(), differences: [String: Int] = [:]
        for path in try Self.captures {
            let file = try TsharkFieldsTests.capture(path)
            let ours = try run(["-r", file] + args).stdout, theirs = try tool("tshark", ["-r", file] + args).stdout
            let a = ours.split(separator: "\n", omittingEmptySubsequences: false), b = theirs.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(a.count == b.count, "\(path): \(a.count) lines, tshark \(b.count)")
            for (x, y) in zip(a, b) where !(x.isEmpty && y.isEmpty) {  // (after the last newline)
                let xs = x.split(separator: "\t", omittingEmptySubsequences: false), ys = y.split(separator: "\t", omittingEmptySubsequences: false)
                guard xs.count == ys.count, xs.count == Self.protocols.count + 1 else {
                    Issue.record("\(path): \(x) / tshark \(y)"); continue
                }
                for (i, proto) in Self.protocols.enumerated() where xs[i + 1] != ys[i + 1] || !ys[i + 1].isEmpty {
                    if !ys[i + 1].isEmpty { compared.insert(proto) }
                    guard xs[i + 1] != ys[i + 1] else { continue }
                    let icmp = ["icmp", "icmpv6"].contains { p in Self.protocols.firstIndex(of: p).map { !ys[$0 + 1].isEmpty } ?? false }
                    if let why = Self.known(path, proto, ours: xs[i + 1], theirs: ys[i + 1], icmp: icmp) {
                        differences[why, default: 0] += 1
                    } else {
                        Issue.record("\(path) frame \(xs[0]) -e \(proto): knetcap \"\(xs[i + 1])\", tshark \"\(ys[i + 1])\"")
                    }
                }
            }
        }
        // Every protocol was met and compared.
        #expect(compared.isSuperset(of: ["frame", "eth", "sll", "vlan", "ieee8021ad", "arp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6", "dns",
                                         "mdns", "llmnr", "http", "vxlan", "geneve", "gre"]), "compared \(compared.sorted())")
        #expect(differences.count <= 7, "\(differences)")
    }

    /// Tunnels: one occurrence per layer, joined by the aggregator, or the first or last.
    @Test(arguments: ["Captures/overlay-tunnels.pcap", "Captures/overlay-vxlan.pcap"])
    func tunnelLayersAsTshark(_ path: String) throws {
        let fields = TsharkFieldsTests.fields(["frame.number", "ip", "ipv6", "udp", "tcp", "vxlan", "geneve", "gre", "dns"])
        try TsharkFieldsTests.expectSame(path, fields)
        try TsharkFieldsTests.expectSame(path, fields + ["-E", "aggregator=;", "-E", "quote=d"])
        try TsharkFieldsTests.expectSame(path, fields + ["-E", "occurrence=l"])
        try TsharkFieldsTests.expectSame(path, fields + ["-E", "occurrence=f", "-E", "header=y"])
        try TsharkFieldsTests.expectSame(path, ["-Y", "ip.src == 10.244.0.2 || gre || udp"] + fields, mayBeEmpty: true)
    }
}
