import Foundation
import Testing

/// `-T fields` and `-Y` against the real tshark 4.0 on real and crafted captures
/// (`Tests/Captures/crafted/`, made by its `make-crafted.py`): VLAN tags, values with control
/// characters, `-E` options, IPv4/IPv6 fragment fields and `dns.time` of retransmitted queries.
/// A missing capture fails the test.
@Suite("knetcap -T fields and -Y as tshark (field export defects)")
struct TsharkFieldsTests {
    /// The capture at `path` (from the repository root); fails the test when it is missing.
    static func capture(_ path: String) throws -> String {
        let url = repoRoot.appendingPathComponent(path)
        try #require(FileManager.default.fileExists(atPath: url.path), "missing capture \(path)")
        return url.path
    }

    /// knetcap's and tshark's standard output for the same arguments, compared byte for byte.
    static func expectSame(_ path: String, _ args: [String], mayBeEmpty: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = try capture(path)
        let ours = try run(["-r", file] + args), theirs = try tool("tshark", ["-r", file] + args)
        #expect(ours.status == 0 && theirs.status == 0, "\(ours.stderr)\(theirs.stderr)", sourceLocation: sourceLocation)
        #expect(mayBeEmpty || !theirs.stdout.isEmpty, "tshark printed nothing for \(args)", sourceLocation: sourceLocation)
        #expect(ours.stdout == theirs.stdout, "\(path) \(args)\nknetcap\n\(ours.stdout)\ntshark\n\(theirs.stdout)",
                sourceLocation: sourceLocation)
    }

    static func fields(_ names: [String]) -> [String] { ["-T", "fields"] + names.flatMap { ["-e", $0] } }

    static let vlanCaptures = ["Tests/Captures/tcpdump-tests/802.1ad_QinQ.pcap", "Tests/Captures/tcpdump-tests/ipv4_tcp_http_xml.pcap",
                               "Tests/Captures/public/zeek-ldap-gap-data-missing.pcapng", "Tests/Captures/crafted/vlan-stacks.pcap"]

    /// `eth.type` is the header's own type (0x8100, 0x88a8, 0x9100); 0x8100 and 0x9100 tags are
    /// `vlan`, a 0x88a8 tag `ieee8021ad` (`id`, or `svid`/`cvid` for two in a row).
    @Test(arguments: vlanCaptures)
    func vlanTagsAsTshark(_ path: String) throws {
        try Self.expectSame(path, Self.fields(["frame.number", "eth.type", "vlan.id", "ieee8021ad.id", "ieee8021ad.svid",
                                               "ieee8021ad.cvid", "ip.src", "ipv6.src"]))
        for filter in ["eth.type == 0x8100", "eth.type == 0x88a8", "vlan", "ieee8021ad", "vlan.id == 2001", "ieee8021ad.id == 200",
                       "ieee8021ad.cvid == 60"] {
            let ours = try run(["-r", try Self.capture(path), "-Y", filter] + Self.fields(["frame.number"]))
            let theirs = try tool("tshark", ["-r", try Self.capture(path), "-Y", filter] + Self.fields(["frame.number"]))
            #expect(ours.stdout == theirs.stdout, "\(path) -Y '\(filter)': knetcap \(ours.stdout) tshark \(theirs.stdout)")
        }
    }

    /// TAB, LF and CR in a value are written `\t`, `\n`, `\r` (one line per packet); DNS names
    /// are Wireshark's `format_text` spelling, which `-Y` compares too.
    @Test func controlCharactersAsTshark() throws {
        try Self.expectSame("Tests/Captures/crafted/comments.pcapng", Self.fields(["frame.number", "frame.comment", "dns.qry.name"]))
        try Self.expectSame("Tests/Captures/crafted/comments.pcapng",
                            Self.fields(["frame.comment", "dns.id"]) + ["-E", "quote=d", "-E", "separator=;"])
        try Self.expectSame("Tests/Captures/crafted/dns-name-bytes.pcap", Self.fields(["frame.number", "dns.qry.name"]))
        for filter in [#"dns.qry.name == "has\\ttab.example.com""#, #"dns.qry.name contains "\\001""#,
                       #"dns.qry.name contains "\xef\xbf\xbd""#, #"dns.qry.name contains "\\u""#, #"frame.comment contains "\t""#] {
            try Self.expectSame("Tests/Captures/crafted/comments.pcapng", ["-Y", filter] + Self.fields(["frame.number"]))
        }
        let lines = try run(["-r", try Self.capture("Tests/Captures/crafted/comments.pcapng")] + Self.fields(["frame.comment"])).stdout
        #expect(lines.split(separator: "\n", omittingEmptySubsequences: false).count == 26, "one line per packet: \(lines)")
    }

    /// `-E bom=y` writes EF BB BF first; every option reads its value's first character
    /// (`header=yes`, `quote=dd`), as tshark 4.0.
    @Test func bomAndFirstCharacterOptionsAsTshark() throws {
        try Self.expectSame("Tests/Captures/crafted/vlan-stacks.pcap",
                            Self.fields(["frame.number", "vlan.id"]) + ["-E", "bom=y", "-E", "header=yes", "-E", "quote=dd", "-E", "occurrence=ff"])
        try Self.expectSame("Tests/Captures/crafted/vlan-stacks.pcap", Self.fields(["frame.number"]) + ["-E", "bom=n"])
    }

    /// tshark 4.0 refuses an empty value, and a first character an option does not take
    /// (`"separator" is not a valid field output option=value pair.`, exit 1); knetcap says the
    /// same in one line, exit 2.
    @Test(arguments: ["separator=", "aggregator=", "quote=", "occurrence=", "header=", "bom=", "bom=x", "header=Y", "quote=D"])
    func refusedOptionsAsTshark(_ option: String) throws {
        let file = try Self.capture("Tests/Captures/crafted/vlan-stacks.pcap")
        let args = Self.fields(["frame.number"]) + ["-E", option]
        let theirs = try tool("tshark", ["-r", file] + args)
        let key = String(option.prefix { $0 != "=" })
        #expect(theirs.status == 1 && theirs.stderr.contains("\"\(key)\" is not a valid field output option=value pair."), "\(theirs.stderr)")
        expectError(try run(["-r", file] + args), Status.usage,
                    mentions: ["-E \(option): \"\(key)\" is not a valid field output option=value pair"])
    }

    /// `ip.frag_offset` in 8-byte units (frame 54 of zeek-dns-edns-ecs.pcap: 185, byte 1480) and
    /// `ipv6.fraghdr.ident` in hex, eight digits, in `-T fields` and `-Y`.
    @Test(arguments: ["Tests/Captures/public/zeek-dns-edns-ecs.pcap", "Tests/Captures/public/zeek-ipv6-fragmented-dns.pcap",
                      "Captures/dns-fragment-lost.pcap"])
    func fragmentFieldsAsTshark(_ path: String) throws {
        try Self.expectSame(path, Self.fields(["frame.number", "ip.frag_offset", "ip.flags.mf", "ipv6.fraghdr.ident",
                                               "ipv6.fraghdr.offset", "ipv6.fraghdr.more"]))
        try Self.expectSame(path, ["-Y", "ip.frag_offset == 185 || ipv6.fraghdr.ident == 0x00000001 || ip.frag_offset > 0"]
                            + Self.fields(["frame.number", "ip.frag_offset"]), mayBeEmpty: true)
    }

    /// The captures with ICMP and ICMPv6 errors: a Service's reject (svc-no-endpoints.pcap:
    /// quoted SYNs and UDP to 10.96.88.10, a quoted SYN to fd88:96::10), packet too big and
    /// fragmentation needed quoting TCP data (tcp-mtu-*), DNS queries to 10.96.0.10 and
    /// fd88:96::a rejected, a closed port, time exceeded (crafted/icmp-quotes.pcap, recorded),
    /// quotes of cut TCP headers and of echo requests (crafted/icmp-short-quotes.pcap), and
    /// tcpdump's fuzzed ICMP quoting UDP (icmp-cksum-oobr-1.pcap).
    static let icmpErrorCaptures = ["Captures/svc-no-endpoints.pcap", "Captures/tcp-mtu-blackhole-v6.pcap", "Captures/tcp-mtu-controls.pcap",
                                    "Tests/Captures/crafted/icmp-quotes.pcap", "Tests/Captures/crafted/icmp-short-quotes.pcap",
                                    "Tests/Captures/tcpdump-tests/icmp-cksum-oobr-1.pcap"]

    static let quotedHeaderFields = [
        "frame.number", "ip", "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.len", "ip.id", "ip.flags", "ip.flags.df", "ip.flags.mf", "ip.frag_offset",
        "ipv6", "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim", "ipv6.plen", "tcp", "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.seq",
        "tcp.seq_raw", "tcp.ack", "tcp.ack_raw", "tcp.flags", "tcp.flags.syn", "tcp.flags.ack", "tcp.window_size_value", "tcp.window_size",
        "tcp.hdr_len", "tcp.len", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval",
        "tcp.options.timestamp.tsecr", "udp", "udp.srcport", "udp.dstport", "udp.length", "icmp.type", "icmp.code", "icmpv6.type",
        "icmpv6.code", "icmp", "icmpv6", "dns", "dns.id", "dns.qry.name", "dns.qry.type", "dns.flags.response", "dns.count.queries",
    ]

    /// The IP, TCP, UDP and DNS headers an ICMP error quotes are further occurrences of their
    /// fields, after the packet's own, as tshark 4.0 dissects them (`in_error_pkt`: no sequence
    /// analysis, no segment length, the quoted window unscaled, the quoted TCP header in its
    /// conversation's `tcp.stream`); joined by the aggregator, the first or the last, and in
    /// `-Y` (`ip.dst == 10.96.0.10 && icmp`: which Service VIP an unreachable was about).
    @Test(arguments: icmpErrorCaptures)
    func icmpQuotedHeadersAsTshark(_ path: String) throws {
        let errors = try tool("tshark", ["-r", try Self.capture(path), "-Y", "icmp.type == 3 || icmp.type == 11 || icmpv6.type < 5"]
                              + Self.fields(["frame.number"])).stdout
        #expect(!errors.isEmpty, "\(path) has no ICMP error")
        let fields = Self.fields(Self.quotedHeaderFields)
        try Self.expectSame(path, fields)
        try Self.expectSame(path, fields + ["-E", "occurrence=f"])
        try Self.expectSame(path, fields + ["-E", "occurrence=l", "-E", "quote=d"])
        try Self.expectSame(path, fields + ["-E", "aggregator=;", "-E", "header=y"])
        for filter in ["ip.dst == 10.96.0.10 && icmp", "ip.dst == 10.96.88.10 && icmp.type == 3", "ipv6.dst == fd88:96::a || ipv6.dst == fd88:96::10",
                       "udp.dstport == 53 && icmp", "tcp.dstport == 53 && icmp", "tcp.port == 80 && icmpv6", "udp.port == 8125",
                       "dns.qry.name == \"kubernetes.default.svc.cluster.local\" && icmp", "dns && icmpv6", "tcp.stream == 1",
                       "tcp.seq == 2095881987", "tcp.flags.syn == 1 && icmp", "tcp.window_size == 64", "ip.addr == 10.88.2.2 && icmp.type == 11",
                       "ipv6.hlim == 1", "ip.ttl == 1 && icmp", "tcp.len == 0", "!tcp.len && tcp", "tcp.seq == 287454020",
                       "tcp.stream == 0 && icmp", "tcp.flags.ack == 1 && icmpv6", "icmp.type == 8", "icmpv6.type == 128"] {
            try Self.expectSame(path, ["-Y", filter] + Self.fields(["frame.number", "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport"]),
                                mayBeEmpty: true)
        }
    }

    /// An IPv6 header under EtherType IPv4 (kday3.pcap frame 2, fuzzed: version 6 where the
    /// link layer said IPv4): tshark's IPv4 dissector hands it to IPv6, so `ipv6.*` is there
    /// and `ip` matches, with `-e ip` printing `ip`; no `ip.*` value.
    @Test func ipv6UnderEtherTypeIPv4AsTshark() throws {
        let path = "Tests/Captures/tcpdump-tests/kday3.pcap"
        try Self.expectSame(path, Self.fields(["frame.number", "eth.type", "ip", "ip.src", "ip.proto", "ipv6", "ipv6.src", "ipv6.dst", "ipv6.nxt",
                                               "ipv6.hlim", "ipv6.plen", "tcp.srcport"]))
        for filter in ["ip", "ipv6", "ip && ipv6", "ipv6.src == 3e06:3da6:cc09:3384:cc09:3650:c39f:16", "ipv6.addr == 49d1:c854:6c6f:12ae:8010:ffe:8611:0",
                       "!tcp"] {
            try Self.expectSame(path, ["-Y", filter] + Self.fields(["frame.number", "ipv6.dst"]))
        }
    }

    /// `dns.time` from the query that opened the transaction: a repeat within 5 s of it,
    /// unanswered, is a retransmission (dns-port-1053.pcap frame 3: 2.012625072, from frame 1);
    /// one 5 s or more after it, or after an answer, opens a new one; a repeated answer has none.
    @Test(arguments: ["Captures/dns-port-1053.pcap", "Tests/Captures/crafted/dns-retransmissions.pcap",
                      "Captures/dns-timeout-glibc.pcap", "Captures/dns-timeout-single.pcap"])
    func dnsTimeOfRetransmissionsAsTshark(_ path: String) throws {
        try Self.expectSame(path, Self.fields(["frame.number", "dns.id", "dns.flags.response", "dns.time"]))
        try Self.expectSame(path, ["-Y", "dns.time > 1"] + Self.fields(["frame.number", "dns.time"]), mayBeEmpty: true)
    }
}
