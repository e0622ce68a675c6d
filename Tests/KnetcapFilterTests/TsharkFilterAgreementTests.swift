import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapCapture
import KnetcapTestSupport
@testable import KnetcapFilter

/// Display filters against the real tshark 4.0 (run here: `tshark -n -r FILE -Y EXPR -T fields
/// -e frame.number`, installed by `.ci/run`): for each expression, the frames knetcap selects
/// must be exactly the frames tshark selects. Every difference is listed in `knownDifferences`
/// with the frames and the reason, and the test checks the difference is exactly that.
@Suite struct TsharkFilterAgreementTests {
    struct Case: CustomStringConvertible, Sendable {
        /// `public/NAME`, `tcpdump-tests/NAME` (under Tests/Captures) or `Captures/NAME`.
        let file: String
        let expression: String
        /// tshark's spelling when knetcap accepts more (tshark 4.0 wants commas in sets).
        let tshark: String?
        /// The expression selects no frame on purpose.
        let empty: Bool
        init(_ file: String, _ expression: String, tshark: String? = nil, empty: Bool = false) {
            self.file = file; self.expression = expression; self.tshark = tshark; self.empty = empty
        }
        var description: String { "\(file): \(expression)" }
        var url: URL {
            if file.hasPrefix("Captures/") { return Fixtures.repo.appendingPathComponent(file) }
            return Fixtures.testCaptures.appendingPathComponent(file)
        }
    }

    static let wiki = "public/zeek-wikipedia.pcap"
    static let glibc = "Captures/dns-timeout-glibc.pcap"

    static let cases: [Case] = [
        // HTTP (zeek-wikipedia: 15 GETs and 15 "304 Not Modified" on port 80)
        Case(wiki, "http"),
        Case(wiki, "tcp contains \"GET\""),
        Case(wiki, "tcp contains \"wikimedia\""),
        Case(wiki, "tcp contains 47:45:54:20:2f"),
        Case(wiki, "http.request.uri == \"/\""),
        Case(wiki, "http.request.uri == \"/skins-1.5/monobook/main.css\""),
        Case(wiki, "http.request.uri contains \"logo\""),
        Case(wiki, "http.request.uri matches \"\\\\.PNG$\""),
        Case(wiki, "http.request.method == GET"),
        Case(wiki, "http.response.code == 304"),
        Case(wiki, "http.response.code != 304", empty: true),  // all 15 responses are 304
        Case(wiki, "http.response.phrase == \"Not Modified\" && http.response.version == \"HTTP/1.0\""),
        Case(wiki, "http.host == \"upload.wikimedia.org\" and http.user_agent contains \"Firefox\""),
        Case(wiki, "http.request && ip.dst == 208.80.152.3"),
        Case(wiki, "tcp.payload contains \"HTTP/1.0\""),
        // addresses, CIDR, repeated fields
        Case(wiki, "ip.addr == 208.80.152.0/24"),
        Case(wiki, "ip.addr == 141.142.0.0/16 && udp"),
        Case(wiki, "ip.addr != 208.80.152.2"),
        Case(wiki, "!(ip.addr == 208.80.152.2)"),
        Case(wiki, "ip.addr ~= 208.80.152.2"),
        Case("tcpdump-tests/print-flags.pcap", "ip.addr === 127.0.0.1 && tcp.len > 0"),
        // bitwise and: any bit of the mask (Wireshark's `&`, `bitwise_and`), reserved bits too
        Case("tcpdump-tests/print-flags.pcap", "tcp.flags & 0x12"),
        Case("tcpdump-tests/print-flags.pcap", "tcp.flags bitwise_and 0x01"),
        Case("tcpdump-tests/print-flags.pcap", "!(tcp.flags & 0x10)"),
        Case("tcpdump-tests/kday4.pcap", "tcp.flags & 0x0130"),
        Case("tcpdump-tests/kday4.pcap", "tcp.flags & 0x0e00", empty: true),
        Case("tcpdump-tests/tcp-auth-heapoverflow.pcap", "tcp.flags & 0x0e00"),
        Case("tcpdump-tests/tcp-auth-heapoverflow.pcap", "tcp.flags.res"),
        Case(glibc, "dns.id & 0x0001"),
        Case(glibc, "ip.ttl & 0x80", empty: true),
        Case(wiki, "ip.src == 141.142.220.118 && tcp.flags.syn == 1"),
        Case(wiki, "ip.dst in {208.80.152.1..208.80.152.3}"),
        // IP fragment reassembly: UDP and DNS on the frame that completes the datagram only
        Case("public/zeek-dns-edns-ecs.pcap", "ip.reassembled.length > 1500"),
        Case("public/zeek-dns-edns-ecs.pcap", "ip.fragment.count == 2 && dns.flags.response == 1"),
        Case("public/zeek-dns-edns-ecs.pcap", "ip.flags.mf == 1 && udp", empty: true),
        Case("public/zeek-dns-edns-ecs.pcap", "ip.fragment == 53"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "ipv6.fragment.count == 3"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "ipv6.reassembled.length == 3238 && dns.count.answers == 1"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "ipv6.fraghdr.offset == 362"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "udp"),
        // overlay tunnels: inner and outer layers are both occurrences of ip.*/udp.*
        Case("Captures/overlay-vxlan.pcap", "vxlan.vni == 1"),
        Case("Captures/overlay-vxlan.pcap", "vxlan && tcp.flags.reset == 1"),
        Case("Captures/overlay-vxlan.pcap", "ip.src == 10.77.0.2 && ip.dst == 10.244.1.3"),
        Case("Captures/overlay-vxlan.pcap", "dns.flags.response == 1 && udp.srcport == 53"),
        Case("Captures/overlay-tunnels.pcap", "geneve.vni == 9"),
        Case("Captures/overlay-tunnels.pcap", "geneve.proto_type == 0x6558 && dns"),
        Case("Captures/overlay-tunnels.pcap", "gre.key == 77"),
        Case("Captures/overlay-tunnels.pcap", "gre.proto == 0x0800 && tcp"),
        Case("Captures/overlay-tunnels.pcap", "ip.addr == 10.0.0.1"),
        Case("Captures/overlay-tunnels.pcap", "ipv6.src == fd00:244::2 && dns"),
        Case("Captures/overlay-tunnels.pcap", "tcp.flags.reset == 1 && ip.proto == 4"),
        Case("Captures/overlay-tunnels.pcap", "dns.id == 0x4b03"),
        // DNS on a port that is not 53, recognised by content (tshark's heuristic)
        // DNS over TCP reassembled: a message on the segment that completes it, two in one segment
        Case("Captures/dns-tcp-segmented.pcap", "dns"),
        Case("Captures/dns-tcp-segmented.pcap", "dns.id == 0x7004"),
        Case("Captures/dns-tcp-segmented.pcap", "dns.flags.response == 0 && dns.qry.type == 28"),
        Case("public/dnscap-dnso1tcp.pcap", "dns.flags.response == 1"),
        Case("public/dnscap-dnsotcp-manyopkts.pcap", "dns"),
        Case("Captures/dns-port-1053.pcap", "dns"),
        Case("Captures/dns-port-1053.pcap", "dns.id == 0x1053 && dns.flags.response == 0"),
        Case("Captures/dns-port-1053.pcap", "dns.qry.type == 28"),
        Case("public/zeek-nmap-vsn.pcap", "dns"),
        Case("public/zeek-tcp-ctu-64702-888.pcap", "dns", empty: true),  // UDP on odd ports that is not DNS
        // flags and scaled windows
        Case(wiki, "ip.flags.df == 1"),
        Case(wiki, "ip.flags == 0x02 && tcp"),
        Case(wiki, "tcp.window_size > 8000"),
        Case(wiki, "tcp.window_size == 6912"),
        Case(wiki, "tcp.window_size < 1000"),
        // Ordering against a network compares the masked values, as tshark.
        Case("Captures/dns-healthy.pcap", "ip.src > 10.0.0.0/8", empty: true),
        Case("Captures/nat-hairpin.pcap", "ip.dst <= 10.77.0.0/16"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "ipv6.src <= 2001:470::/32"),
        Case("Captures/dns-healthy.pcap", "dns.flags.response == TRUE"),
        Case(wiki, "ip.src eq ip.dst or ip.ttl lt 50"),
        Case(wiki, "eth.dst == ff:ff:ff:ff:ff:ff"),
        Case(wiki, "eth.addr == 00-13-7f-be-8c-ff"),
        Case(wiki, "ipv6"),
        // sets and ranges
        Case(wiki, "tcp.port in {80 443}", tshark: "tcp.port in {80, 443}"),
        Case(wiki, "frame.number in {1..5}"),
        Case(wiki, "frame.number in {1..3, 7, 100..102}"),
        Case(wiki, "udp.port not in {53 5353}", tshark: "udp.port not in {53, 5353}"),
        // TCP: streams, relative sequence numbers, flags, lengths
        Case(wiki, "tcp.stream == 3"),
        Case(wiki, "tcp.stream in {0 1} and tcp.len > 0", tshark: "tcp.stream in {0, 1} and tcp.len > 0"),
        Case(wiki, "tcp.seq == 1 and tcp.len > 0"),
        Case(wiki, "tcp.ack == 1 and tcp.flags.syn == 0"),
        Case(wiki, "tcp and not tcp.flags.syn", empty: true),  // presence: the flag field is on every TCP packet
        Case(wiki, "tcp.flags.fin == 1 || tcp.flags.reset"),
        Case(wiki, "tcp.len > 500 && tcp.srcport == 48649"),
        Case("public/zeek-tcp-ctu-64702-888.pcap", "tcp.seq == 14 || tcp.ack == 15"),
        Case("public/zeek-tcp-syn-then-rst.pcap", "tcp.flags.reset == 1"),
        Case("public/zeek-tcp-option-sack.pcap", "tcp.seq == 0 && tcp.len == 0"),
        Case("public/zeek-nmap-vsn.pcap", "tcp.stream > 3 && tcp.flags.syn"),
        Case("Captures/tcp-syn-backlog-drop.pcap", "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.seq == 0"),
        Case("Captures/nat-hairpin.pcap", "tcp.ack == 1"),
        // DNS
        Case(wiki, "dns"),
        Case(wiki, "mdns || llmnr"),
        Case(wiki, "dns.qry.name matches \"^upload\\\\.\""),
        Case(wiki, "dns.qry.name == \"meta.wikimedia.org\""),
        Case(wiki, "dns.qry.name contains \"ncsa\""),
        // An empty needle: tshark 4.0 matches no frame (and `matches ""` every one that has it).
        Case(wiki, "dns.qry.name contains \"\"", empty: true),
        Case(wiki, "tcp contains \"\"", empty: true),
        Case(wiki, "dns.qry.name matches \"\""),
        Case(wiki, "dns.qry.type == 28"),
        Case(wiki, "dns.time > 0.0004"),
        Case(wiki, "dns.flags.response == 1 && dns.count.answers > 1"),
        Case(wiki, "dns.a == 208.80.152.3"),
        Case(wiki, "dns.cname"),
        Case("public/dnscap-dns.pcap", "dns.a != 216.58.218.206"),  // answers without that address among their A records
        Case("public/dnscap-dns.pcap", "dns.a != 216.239.32.10", empty: true),  // every answer has it
        Case("public/dnscap-dns.pcap", "dns.a == 216.239.32.10"),
        Case("public/dnscap-dns.pcap", "icmp.type == 8 && ip.dst == 216.58.218.206"),
        Case("public/zeek-dns-edns-ecs.pcap", "dns.flags.rcode != 0 or dns.flags.truncated"),
        Case("public/zeek-ipv6-fragmented-dns.pcap", "ipv6.addr == 2001:470::/32 && ipv6.dst == 2607:f740:b::f93"),
        Case("public/dnscap-sll2.pcap", "sll && dns.flags.response == 0"),
        Case("tcpdump-tests/dnssec.pcap", "dns.a == 125.100.126.202 || dns.resp.type == 44"),
        Case("tcpdump-tests/dnssec.pcap", "dns.resp.name == \"<Root>\" && dns.resp.type == 41"),
        Case("tcpdump-tests/LINKTYPE_RAW_ipv6.pcap", "ipv6.dst == 2620:fe::9 or udp.srcport == 53"),
        Case(glibc, "dns.time > 0.0002"),
        Case(glibc, "dns.id == 0x4d60"),
        Case(glibc, "dns.qry.type == 28 and dns.flags.response == 0"),
        Case("Captures/dns-healthy.pcap", "dns.qry.name contains \"knetcap\" && dns.flags.response"),
        // frames, link layers, time
        Case(wiki, "frame.time_relative > 1.5"),
        Case(wiki, "frame.time_delta > 0.1"),
        Case(wiki, "frame.len >= 600 or frame.len <= 60"),
        Case(wiki, "arp"),
        Case(wiki, "not tcp and not udp"),
        Case(wiki, "udp.length > 100 && ip.proto == 17"),
        Case("tcpdump-tests/802.1ad_QinQ.pcap", "vlan.id == 2001"),
        // HTTP on other captures (ports 80 and 8080, headers and bodies in one segment or not)
        Case("tcpdump-tests/print-flags.pcap", "http.response.code == 200 || http.request.uri == \"/\""),
        Case("tcpdump-tests/ipv4_tcp_http_xml.pcap", "http.content_type contains \"xml\""),
        Case("tcpdump-tests/accecn_handshake.pcap", "http"),
        Case("Captures/healthy-topology.pcap", "http.request.uri == \"/\" or http.response.code == 200"),
        Case("Captures/tcp-paws-timewait.pcap", "http && tcp.stream == 1"),
        // matches: PCRE2 on the bytes, caseless, not UTF-8 (Wireshark's ws_regex_compile_ex flags).
        // Bytes >= 0x80 are single bytes: a string escape \xff (the byte in the pattern) and a
        // regex escape \\xff are the same byte; . and [^\x00-\x7f] are one byte each.
        Case(wiki, #"tcp matches "\xff""#),
        Case(wiki, #"tcp matches "\\xff""#),
        Case(wiki, #"tcp matches "\xff\xff""#, empty: true),
        Case(wiki, #"tcp matches "[^\x00-\x7f]{4}""#),
        Case(wiki, #"tcp matches "^.{20}""#),
        Case(wiki, #"tcp matches "\xef\xbf\xbd""#, empty: true),  // no U+FFFD for bytes that are not UTF-8
        // CR/LF: . matches CR but not LF (unless (?s)); $ is the end or before a final LF only.
        Case(wiki, #"tcp matches "HTTP/1\\.1.\n""#),
        Case(wiki, #"tcp matches "(?s)Modified.{2}Date""#),
        Case(wiki, #"tcp matches "Modified.{2}Date""#, empty: true),
        Case(wiki, #"tcp matches "\r$""#),
        Case(wiki, #"tcp matches "(?m)HTTP/1\\.1\r$""#),
        Case(wiki, #"tcp matches "(?m)HTTP/1\\.1$""#, empty: true),
        // Case: ASCII letters fold unless (?-i); nothing else does (U+212A KELVIN SIGN is not k).
        Case(wiki, #"tcp matches "get /""#),
        Case(wiki, #"tcp matches "(?-i)get /""#, empty: true),
        Case(wiki, #"http.host matches "(?-i)^UPLOAD\\.""#, empty: true),
        Case(wiki, #"http.host matches "^UPLOAD\\.""#),
        Case(wiki, #"tcp matches "\xe2\x84\xaaeep-alive""#, empty: true),
    ]

    /// "file: expression" → (frames only knetcap selects, frames only tshark selects, reason).
    static let knownDifferences: [String: (knetcap: [Int], tshark: [Int], reason: String)] = [
        "tcpdump-tests/accecn_handshake.pcap: http": ([6], [],
            "tshark reassembles the 1 MB response body (Content-Length) and shows HTTP on the frame that ends it, "
            + "never reached in this capture; knetcap shows the response on the segment that completes its head, like tcpdump"),
    ]

    /// Frame numbers tshark selects, or nil when tshark is not installed.
    static func tsharkFrames(_ c: Case) -> [Int]? { tsharkFrames(c.url, c.tshark ?? c.expression) }

    /// Frame numbers `tshark -Y expression` selects in `url`, or nil when tshark is not installed.
    static func tsharkFrames(_ url: URL, _ expression: String) -> [Int]? {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-tshark-config")
        try? FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        guard let (status, out, err) = Fixtures.run("tshark", ["-n", "-r", url.path, "-Y", expression,
                                                              "-T", "fields", "-e", "frame.number"],
                                                    environment: ["WIRESHARK_CONFIG_DIR": config.path, "TZ": "UTC"]) else { return nil }
        if status != 0 { Issue.record("tshark failed on \(url.lastPathComponent): \(expression): \(err)") }
        return out.split(separator: "\n").compactMap { Int($0) }
    }

    /// Frame numbers knetcap selects: every packet tracked in order, then filtered.
    static func knetcapFrames(_ c: Case) throws -> [Int] {
        let filter = try DisplayFilter(c.expression)
        var state = CaptureState(tracking: filter.tracking)
        var frames: [Int] = []
        try readCapture(c.url) { p, _ in
            var p = p
            state.track(&p)
            if filter.matches(p) { frames.append(p.number) }
        }
        return frames
    }

    @Test("at least 40 expressions") func enoughCases() {
        #expect(Self.cases.count >= 40)
    }

    @Test(arguments: cases)
    func agreesWithTshark(_ c: Case) throws {
        guard FileManager.default.fileExists(atPath: c.url.path) else {
            Issue.record("missing capture \(c.url.path)")
            return
        }
        guard let theirs = Self.tsharkFrames(c) else {
            Issue.record("tshark is not installed (.ci/run installs it)")
            return
        }
        let ours = try Self.knetcapFrames(c)
        let onlyOurs = Set(ours).subtracting(theirs).sorted(), onlyTheirs = Set(theirs).subtracting(ours).sorted()
        if let known = Self.knownDifferences[c.description] {
            #expect(onlyOurs == known.knetcap && onlyTheirs == known.tshark,
                    "\(c): listed difference changed: knetcap only \(onlyOurs), tshark only \(onlyTheirs)")
        } else {
            #expect(onlyOurs.isEmpty && onlyTheirs.isEmpty,
                    "\(c): knetcap only \(onlyOurs), tshark only \(onlyTheirs) (tshark \(theirs.count) frames, knetcap \(ours.count))")
        }
        #expect(theirs.isEmpty == c.empty, "\(c): tshark selects \(theirs.count) frames")
    }
}
