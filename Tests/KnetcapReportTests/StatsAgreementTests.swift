import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapCapture
import KnetcapReport
import KnetcapSession
import KnetcapTestSupport

/// `--stats` against numbers computed here, independently, from tshark's decode of the same
/// captures (`tshark -T fields -e dns.id -e frame.time_epoch ...`, run by the test): per DNS
/// server and query type the queries, answers, NXDOMAIN, SERVFAIL, timeouts, retried queries
/// and the nearest-rank p50/p90/p99/max response time from the FIRST transmission;
/// conversation packet and byte totals (a fragmented datagram once, where it completes); TCP
/// handshake outcomes per server.
@Suite struct StatsAgreementTests {
    /// Every shipped capture but overlay-tunnels.pcap: its IPv6-in-IPv4 packets have an outer
    /// `ip.src` and an inner `ipv6.src`, and this test's per-family key cannot tell tshark's
    /// layers apart there (the other tunnels, and overlay-vxlan.pcap, are checked).
    static let captures: [URL] = Fixtures.captures(in: Fixtures.shipped).filter { $0.lastPathComponent != "overlay-tunnels.pcap" } + [
        "dnscap-dns.pcap", "dnscap-edns.pcap", "dnscap-sll2.pcap", "gopacket-test_dns.pcap", "zeek-dns-edns-ecs.pcap",
        "zeek-dns-long-connection.pcap", "zeek-ipv6-fragmented-dns.pcap", "zeek-tcp-syn-then-rst.pcap", "zeek-tcp-option-sack.pcap",
        "zeek-wikipedia.pcap", "zeek-nmap-vsn.pcap",
    ].map { Fixtures.publicCaptures.appendingPathComponent($0) }

    static func stats(_ capture: URL) throws -> CaptureStats {
        let c = StatsCollector()
        _ = CaptureSession(source: try PcapSource.openFile(capture.path), reporters: [c]).run()
        return try #require(c.stats)
    }

    /// tshark's fields, one row per packet, tab-separated.
    static func tshark(_ capture: URL, _ filter: String, _ fields: [String], options: [String] = [], outermost: Bool = false) throws -> [[String]] {
        guard let (status, out, err) = Fixtures.run("tshark", ["-n", "-r", capture.path] + options + ["-Y", filter, "-T", "fields", "-E", "separator=/t"]
                                                    + fields.flatMap { ["-e", $0] }) else {
            Issue.record("tshark is not installed")
            throw CancellationError()
        }
        #expect(status == 0, "tshark: \(err)")
        // A packet in an overlay tunnel has each IP/UDP field twice or more (outer first, as
        // tshark lists them): knetcap's statistics are the inner packet's, the last occurrence.
        return out.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map {
                let all = $0.split(separator: ",", omittingEmptySubsequences: false)
                return String((outermost ? all.first : all.last) ?? "")
            }
        }
    }

    struct Row: Equatable, CustomStringConvertible {
        var queries = 0, answered = 0, nxdomain = 0, servfail = 0, timeouts = 0, retried = 0
        var latencies: [Double] = []
        var description: String { "q\(queries) a\(answered) nx\(nxdomain) sf\(servfail) to\(timeouts) re\(retried) \(latencies)" }
    }

    /// tshark's DNS: its own (port 53, 5353, 5355 and its DNS-over-UDP heuristic) and port 1053
    /// decoded as DNS (`-d`), where the shipped dns-port-1053.pcap recording has its resolver.
    static let decodeAs = ["-d", "udp.port==1053,dns"]

    /// A server port the diagnosis follows DNS on: every port DNS is found on but mDNS (5353)
    /// and LLMNR (5355).
    static func isUnicastDNSPort(_ port: String) -> Bool { port != "5353" && port != "5355" }

    /// DNS over UDP from tshark, to every port the diagnosis follows (53, and any other where
    /// DNS is found): match each response to the first transmission of its query (client
    /// address and port, server address and port, id).
    ///
    /// A fragmented response is decoded in the frame of its last fragment, by tshark and by
    /// knetcap alike (both reassemble IP), so its time is that frame's.
    static func expectedDNS(_ capture: URL) throws -> [String: Row] {
        let rows = try tshark(capture, "dns && udp && !icmp && !icmpv6",
                              ["frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "udp.srcport", "udp.dstport",
                               "dns.id", "dns.flags.response", "dns.flags.rcode", "dns.qry.type", "dns.flags.opcode", "dns.count.queries",
                               "ip.fragment", "ipv6.fragment"], options: decodeAs)
        struct Open { var first: Double; var last: Double; var qtype: String; var sent: Int }
        var open: [String: Open] = [:]
        var table: [String: Row] = [:]
        func settle(_ server: String, _ q: Open, _ answer: (Double, Int)?) {
            let key = "\(server) \(q.qtype)"
            var r = table[key] ?? Row()
            r.queries += 1
            if q.sent > 1 { r.retried += 1 }
            if let (t, rcode) = answer {
                r.answered += 1
                if rcode == 3 { r.nxdomain += 1 }
                if rcode == 2 { r.servfail += 1 }
                r.latencies.append(t - q.first)
            } else {
                r.timeouts += 1
            }
            table[key] = r
        }
        for f in rows {
            guard f.count >= 15, var t = Double(f[0]) else { continue }
            let src = f[1].isEmpty ? "[\(f[2])]" : f[1], dst = f[3].isEmpty ? "[\(f[4])]" : f[3]
            let sport = f[5], dport = f[6], id = f[7]
            if f[8] == "False" || f[8] == "0" {
                guard Self.isUnicastDNSPort(dport), f[11] == "0", (Int(f[12]) ?? 0) > 0, !Self.isMulticast(dst) else { continue }
                let server = "\(dst):\(dport)", key = "\(src):\(sport) \(server) \(id)"
                let qtype = DNSType(rawValue: UInt16(f[10].split(separator: ",").first ?? "") ?? 0).name
                if let o = open[key] {
                    if o.qtype == qtype {  // sent again: a retry, unless a copy less than 0.5 s after the last
                        if t - o.last >= 0.5 { open[key]?.sent += 1 }
                        open[key]?.last = t
                        continue
                    }
                    open[key] = nil
                    settle(server, o, nil)
                }
                open[key] = Open(first: t, last: t, qtype: qtype, sent: 1)
            } else {
                guard Self.isUnicastDNSPort(sport) else { continue }
                let server = "\(src):\(sport)", key = "\(dst):\(dport) \(server) \(id)"
                guard let o = open.removeValue(forKey: key) else { continue }
                settle(server, o, (t, Int(f[9]) ?? 0))
            }
        }
        for (key, o) in open { settle(String(key.split(separator: " ")[1]), o, nil) }
        return table
    }

    /// 224.0.0.0/4 and ff00::/8 (mDNS and friends: no unicast server answers).
    static func isMulticast(_ a: String) -> Bool {
        if a.hasPrefix("[") { return a.lowercased().hasPrefix("[ff") }
        return (224...239).contains(Int(a.split(separator: ".").first ?? "") ?? 0)
    }

    static func nearestRank(_ v: [Double], _ p: Double) -> Double? {
        let s = v.sorted()
        guard !s.isEmpty else { return nil }
        return s[max(1, Int(ceil(p / 100 * Double(s.count)))) - 1]
    }

    @Test func capturesArePresent() {
        for c in Self.captures { #expect(FileManager.default.fileExists(atPath: c.path), "\(c.path) missing") }
        Fixtures.expectCaptures(in: [Fixtures.shipped])
    }

    @Test(arguments: captures)
    func dnsResponseTimesAgreeWithTshark(_ capture: URL) throws {
        let expected = try Self.expectedDNS(capture)
        let got = try Self.stats(capture).dns.filter { $0.transport == "udp" }
        #expect(Set(got.map { "\($0.server) \($0.qtype)" }) == Set(expected.keys))
        for r in got {
            guard let e = expected["\(r.server) \(r.qtype)"] else { continue }
            let what = "\(capture.lastPathComponent) \(r.server) \(r.qtype)"
            #expect(r.queries == e.queries && r.answered == e.answered && r.nxdomain == e.nxdomain && r.servfail == e.servfail
                    && r.timeouts == e.timeouts && r.retransmitted == e.retried, "\(what): knetcap \(r), tshark \(e)")
            for (mine, p) in [(r.p50_s, 50.0), (r.p90_s, 90), (r.p99_s, 99), (r.max_s, 100)] {
                let theirs = Self.nearestRank(e.latencies, p)
                #expect((mine == nil) == (theirs == nil), "\(what) p\(p)")
                if let m = mine, let t = theirs { #expect(abs(m - t) < 2e-6, "\(what) p\(p): knetcap \(m), tshark \(t)") }
            }
        }
    }

    /// The shipped race: knetcap's AAAA response time is the whole 5 s wait; tshark's dns.time
    /// for the same answer (frame 7) is the retry's round trip.
    @Test func firstTransmissionNotTsharksDnsTime() throws {
        let capture = Fixtures.shipped.appendingPathComponent("dns-timeout-glibc.pcap")
        let aaaa = try #require(try Self.stats(capture).dns.first { $0.qtype == "AAAA" })
        #expect(aaaa.queries == 1 && aaaa.answered == 1 && aaaa.retransmitted == 1)
        let rows = try Self.tshark(capture, "frame.number == 7", ["dns.time"])
        let dnsTime = try #require(Double(rows.first?.first ?? ""))
        #expect(dnsTime < 0.001)
        #expect(abs((aaaa.max_s ?? 0) - 5.003071893) < 1e-9)
    }

    /// The port-1053 recording (dnsmasq on 1053, found by content as tshark's `-d
    /// udp.port==1053,dns` decodes it): its queries are in the statistics, with tshark's times.
    @Test func dnsOnPort1053AgreesWithTshark() throws {
        let capture = Fixtures.shipped.appendingPathComponent("dns-port-1053.pcap")
        let expected = try Self.expectedDNS(capture)
        #expect(expected.keys.sorted() == ["10.77.0.3:1053 A", "10.77.0.3:1053 AAAA"])
        let got = try Self.stats(capture)
        let a = try #require(got.dns.first { $0.server == "10.77.0.3:1053" && $0.qtype == "A" })
        let aaaa = try #require(got.dns.first { $0.server == "10.77.0.3:1053" && $0.qtype == "AAAA" })
        // A: sent at frame 1, again 2.012 s later (frame 2), answered in frame 3.
        #expect(a.queries == 1 && a.answered == 1 && a.retransmitted == 1 && a.timeouts == 0)
        #expect(abs((a.max_s ?? 0) - (expected["10.77.0.3:1053 A"]?.latencies.first ?? -1)) < 2e-6)
        #expect(abs((a.max_s ?? 0) - 2.012625072) < 1e-9)
        #expect(aaaa.queries == 1 && aaaa.answered == 1 && abs((aaaa.max_s ?? 0) - 0.000054011) < 1e-9)
        #expect(got.dns_servers.map(\.server) == ["10.77.0.3:1053"] && got.dns_servers.first?.queries == 2)
    }

    /// tshark's conversation tables (`-q -z conv,tcp`, `-z conv,udp`): for each conversation,
    /// endpoints sorted (tshark writes IPv6 without brackets) → relative start and duration.
    static func tsharkConversations(_ capture: URL) throws -> [String: (relStart: Double, duration: Double)] {
        var out: [String: (relStart: Double, duration: Double)] = [:]
        for proto in ["tcp", "udp"] {
            guard let (status, text, err) = Fixtures.run("tshark", ["-n", "-q", "-r", capture.path] + decodeAs + ["-z", "conv,\(proto)"]) else {
                Issue.record("tshark is not installed")
                throw CancellationError()
            }
            #expect(status == 0, "tshark: \(err)")
            for line in text.split(separator: "\n") where line.contains(" <-> ") {
                let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard cells.count > 4, let rel = Double(cells[cells.count - 2]), let dur = Double(cells[cells.count - 1]) else { continue }
                let key = [cells[0], cells[2]].sorted().joined(separator: " ") + " " + proto
                // A 4-tuple tshark splits in two (a TCP port reused): knetcap's one starts with the first.
                if let old = out[key], old.relStart <= rel { continue }
                out[key] = (rel, dur)
            }
        }
        return out
    }

    /// REL START is from the capture's first packet, as tshark's "Relative Start" (not from the
    /// first conversation listed); durations agree to tshark's four decimals.
    @Test(arguments: captures)
    func conversationStartsAgreeWithTshark(_ capture: URL) throws {
        let theirs = try Self.tsharkConversations(capture)
        for c in try Self.stats(capture).conversations {
            let key = [c.a, c.b].map { $0.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "") }.sorted()
                .joined(separator: " ") + " " + c.proto
            let what = "\(capture.lastPathComponent) \(key)"
            guard let t = theirs[key] else { Issue.record("\(what): not in tshark's conversation table"); continue }
            #expect(abs(c.rel_start_s - t.relStart) < 2e-6, "\(what): knetcap rel start \(c.rel_start_s), tshark \(t.relStart)")
            // tshark's duration (rounded to 0.0001 s) covers only its first conversation of a reused 4-tuple.
            #expect(c.duration_s + 0.00006 >= t.duration, "\(what): knetcap duration \(c.duration_s), tshark \(t.duration)")
        }
    }

    /// The backlog capture: its connections start 0.94 s in (tshark: 0.941242425 for the first),
    /// after packets of no TCP conversation; relative to the first listed they would be 0.
    @Test func backlogConversationsStartAfterTheFirstPacket() throws {
        let capture = Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap")
        let c = try #require(try Self.stats(capture).conversations.first { $0.a == "10.77.0.2:48212" })
        #expect(abs(c.rel_start_s - 0.941242425) < 1e-9)
    }

    @Test(arguments: captures)
    func conversationTotalsAgreeWithTshark(_ capture: URL) throws {
        let s = try Self.stats(capture)
        // IP fragments reassembled by both: a fragmented datagram counts once, in the frame that
        // completes it (the earlier fragments carry no ports).
        let rows = try Self.tshark(capture, "(tcp || udp) && !icmp && !icmpv6",
                                   ["frame.len", "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport"])
        var convs: [String: (Int, Int)] = [:]
        for f in rows where f.count >= 9 {
            let a = (f[1].isEmpty ? "[\(f[2])]" : f[1]) + ":" + (f[3].isEmpty ? f[4] : f[3])
            let b = (f[5].isEmpty ? "[\(f[6])]" : f[5]) + ":" + (f[7].isEmpty ? f[8] : f[7])
            let key = [a, b].sorted().joined(separator: " ") + (f[3].isEmpty ? " udp" : " tcp")
            let c = convs[key] ?? (0, 0)
            convs[key] = (c.0 + 1, c.1 + (Int(f[0]) ?? 0))
        }
        // The outer UDP of VXLAN and Geneve packets (node to node): tshark's -z conv,udp has
        // those conversations too, and so does knetcap's table.
        let outer = try Self.tshark(capture, "vxlan || geneve", ["frame.len", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport"],
                                    outermost: true)
        for f in outer where f.count >= 7 {
            let a = (f[1].isEmpty ? "[\(f[2])]" : f[1]) + ":" + f[3], b = (f[4].isEmpty ? "[\(f[5])]" : f[4]) + ":" + f[6]
            let key = [a, b].sorted().joined(separator: " ") + " udp"
            let c = convs[key] ?? (0, 0)
            convs[key] = (c.0 + 1, c.1 + (Int(f[0]) ?? 0))
        }
        #expect(s.conversations_total == convs.count, "\(capture.lastPathComponent)")
        for c in s.conversations {
            let key = [c.a, c.b].sorted().joined(separator: " ") + " " + c.proto
            let e = convs[key]
            #expect(e?.0 == c.packets && e?.1 == c.bytes, "\(capture.lastPathComponent) \(key): knetcap \(c.packets)/\(c.bytes), tshark \(String(describing: e))")
        }
    }

    @Test(arguments: captures)
    func handshakeOutcomesAgreeWithTshark(_ capture: URL) throws {
        let rows = try Self.tshark(capture, "tcp.flags.syn == 1 || (tcp.flags.reset == 1 && tcp.flags.ack == 1)",
                                   ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
                                    "tcp.seq_raw", "tcp.ack_raw"])
        var open: [String: (isn: UInt32, server: String)] = [:]
        var outcome: [String: CaptureStats.HandshakeRow] = [:]
        func bump(_ server: String, _ change: (inout CaptureStats.HandshakeRow) -> Void) {
            var r = outcome[server] ?? CaptureStats.HandshakeRow(server: server, attempts: 0, completed: 0, refused: 0, unanswered: 0)
            change(&r)
            outcome[server] = r
        }
        for f in rows where f.count >= 10 {
            let src = (f[0].isEmpty ? "[\(f[1])]" : f[0]) + ":" + f[2], dst = (f[3].isEmpty ? "[\(f[4])]" : f[3]) + ":" + f[5]
            let syn = f[6] == "1" || f[6] == "True", ack = f[7] == "1" || f[7] == "True"
            guard let seq = UInt32(f[8]), let ackn = UInt32(f[9]) else { continue }
            if syn && !ack {
                let key = "\(src) \(dst)"
                if let o = open[key], o.isn == seq { continue }
                if let o = open.removeValue(forKey: key) { bump(o.server) { $0.unanswered += 1 } }
                open[key] = (seq, dst)
                bump(dst) { $0.attempts += 1 }
            } else if ack {
                let key = "\(dst) \(src)"
                guard let o = open[key], ackn == o.isn &+ 1 else { continue }
                open[key] = nil
                bump(o.server) { if syn { $0.completed += 1 } else { $0.refused += 1 } }
            }
        }
        for o in open.values { bump(o.server) { $0.unanswered += 1 } }
        let got = try Self.stats(capture).handshakes
        #expect(Dictionary(uniqueKeysWithValues: got.map { ($0.server, $0) }) == outcome, "\(capture.lastPathComponent)")
    }

    /// The backlog capture's known shape: 22 connection attempts to 10.77.0.3:9000, 2 accepted.
    @Test func backlogCaptureHandshakes() throws {
        let hs = try Self.stats(Fixtures.shipped.appendingPathComponent("tcp-syn-backlog-drop.pcap")).handshakes
        #expect(hs == [CaptureStats.HandshakeRow(server: "10.77.0.3:9000", attempts: 22, completed: 2, refused: 0, unanswered: 20)])
    }
}
