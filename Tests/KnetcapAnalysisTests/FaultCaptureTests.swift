import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapTestSupport

/// Every finding kind on real captures, without root: the captures `Captures/record.sh`
/// recorded on the real kernel (shipped in `Captures/`), and captures written by others.
@Suite struct FaultCaptureTests {
    func shipped(_ name: String, vips: Set<IPAddress> = []) throws -> [Finding] {
        var d = Diagnosis(vips: vips)
        try readCapture(Fixtures.shipped.appendingPathComponent(name)) { p, _ in d.observe(p) }
        d.finish()
        return d.findings
    }

    @Test func refusedSYNs() throws {
        let f = try shipped("tcp-rst-unlistened.pcap")
        #expect(f.map(\.kind) == Array(repeating: "tcp.rst-unlistened-port", count: 4))
        #expect(f.map(\.server) == ["10.77.0.3:8081", "10.77.0.3:8081", "10.77.0.3:8080", "10.77.0.3:8080"])
        // Evidence: the SYN and the RST/ACK that acknowledges it.
        #expect(f[0].evidence.map(\.frame) == [1, 2])
        #expect(f[0].evidence[1].note.contains("= SYN seq + 1"))
    }

    @Test func backlogDrops() throws {
        let f = try shipped("tcp-syn-backlog-drop.pcap")
        #expect(f.count == 20 && f.allSatisfy { $0.kind == "tcp.syn-backlog-drop" })
        // Each: the completed handshake proving the port listens, then 4 SYNs at ≈1, 2, 4 s.
        for x in f {
            #expect(x.measurements["syn_transmissions"] == 4)
            let span = x.measurements["unanswered_for_s"] ?? 0
            #expect(span > 6.5 && span < 8, "SYNs at +0, +1, +3, +7 s; got \(span)")
            #expect(x.confidence.reason.contains("completed another handshake"))
        }
    }

    /// The accept queue full when the client's ACK arrives (Captures/tcp-accept-overflow*.pcap):
    /// the handshake completes at the client, the server never takes it.
    @Test func acceptQueueOverflowAfterHandshake() throws {
        let dropped = try shipped("tcp-accept-overflow.pcap")
        #expect(dropped.map(\.kind) == ["tcp.syn-backlog-drop", "tcp.syn-backlog-drop"])
        #expect(Set(dropped.compactMap(\.client)).count == 2 && dropped.allSatisfy { $0.server == "10.77.0.3:9001" })
        for f in dropped {
            // SYN, SYN-ACK, ACK, data, then the same SYN-ACK 1 s and 2 s later.
            #expect(f.measurements["synack_transmissions"] == 3)
            let resent = f.evidence.filter { $0.note.hasPrefix("SYN-ACK re-sent") }
            #expect(resent.count == 2)
            if resent.count == 2, let ack = f.evidence.first(where: { $0.note.hasPrefix("the client's ACK") }) {
                let first = resent[0].time - ack.time, second = resent[1].time - resent[0].time
                #expect(first > 0.9 && first < 1.2, "first re-sent SYN-ACK \(first) s after the ACK")
                #expect(second > 1.9 && second < 2.3, "second \(second) s after the first")
            }
            #expect(f.evidence.contains { $0.note.contains("never acknowledged") })
        }
        let reset = try shipped("tcp-accept-overflow-reset.pcap")
        #expect(reset.map(\.kind) == ["tcp.syn-backlog-drop", "tcp.syn-backlog-drop"])
        for f in reset {
            let rst = try #require(f.evidence.last)
            #expect(rst.note.hasPrefix("bare RST from 10.77.0.3:9001"))
            #expect(f.confidence.level == .medium)  // nothing after the resets shows the listener
        }
        // The RST after a completed handshake is never a refused port.
        #expect(!(dropped + reset).contains { $0.kind == "tcp.rst-unlistened-port" || $0.kind == "tcp.syn-unanswered" })
    }

    @Test func hairpin() throws {
        let f = try shipped("nat-hairpin.pcap")
        #expect(f.count == 1)
        let h = try #require(f.first)
        #expect(h.kind == "nat.reply-source-mismatch" && h.server == "192.0.2.10:80")
        #expect(h.summary.contains("from 10.77.0.3:8080"))
        #expect(h.evidence.contains { $0.note.contains("client resets") })
        #expect(h.evidence.filter { $0.note.contains("re-sends its SYN") }.count == 3)
        let withVIP = try shipped("nat-hairpin.pcap", vips: [IPAddress(v4: 0xC000_020A)])
        #expect(withVIP.first?.title.contains("hairpin") == true)
        #expect(withVIP.first?.confidence.reason.contains("known VIP") == true)
    }

    /// The hairpin seen on the bridge: the DNATed copy of each SYN is the same SYN, not a
    /// second handshake (Captures/nat-hairpin-bridge.pcap).
    @Test func hairpinOnTheBridge() throws {
        let f = try shipped("nat-hairpin-bridge.pcap")
        #expect(f.map(\.kind) == ["nat.reply-source-mismatch"])
        let h = try #require(f.first)
        #expect(h.server == "192.0.2.10:80" && h.summary.contains("from 10.77.0.3:8080"))
        #expect(h.evidence.map(\.frame).prefix(4) == [1, 2, 3, 4])
        #expect(h.evidence[1].note.contains("DNATed copy") && h.evidence[1].note.contains("10.77.0.3:8080"))
        #expect(h.evidence.filter { $0.note.contains("re-sends its SYN") }.count == 3)
        #expect(h.confidence.level == .high)
    }

    /// A segment of an established connection to the VIP from the backend's own address,
    /// reset by the client (Captures/nat-invalid-escape.pcap).
    @Test func invalidSegmentEscapesNAT() throws {
        let f = try shipped("nat-invalid-escape.pcap", vips: [IPAddress(v4: 0xC000_020A)])
        #expect(f.map(\.kind) == ["nat.reply-source-mismatch"])
        let h = try #require(f.first)
        #expect(h.server == "192.0.2.10:80" && h.summary.contains("came back from 10.77.0.3:8080"))
        // SYN, the client's ACK, the escaped answer 2.5 s later, the client's RST.
        #expect(h.evidence.map(\.frame) == [1, 3, 6, 7])
        let after = h.measurements["escaped_after_s"] ?? 0
        #expect(after > 2.4 && after < 2.7, "the backend answers 2.5 s after the request; got \(after)")
        #expect(h.confidence.reason.contains("36 bytes past its ISN") && h.confidence.reason.contains("known VIP"))
    }

    /// A search-list walk that ends in a timeout: both the walk and the timeout.
    @Test func searchWalkEndingInTimeout() throws {
        let f = try shipped("dns-search-timeout.pcap")
        #expect(Set(f.map(\.kind)) == ["dns.search-expansion", "dns.timeout"] && f.count == 2)
        let s = try #require(f.first { $0.kind == "dns.search-expansion" })
        #expect(s.measurements["steps"] == 3 && s.title.contains("timeout"))
        #expect(s.summary.hasPrefix("api.example.org: 3 NXDOMAIN steps first"))
        let t = try #require(f.first { $0.kind == "dns.timeout" })
        #expect(t.summary.contains("api.example.org"))
    }

    /// A slow server (Captures/dns-slow-retried.pcap): the A query re-sent after glibc's 5 s,
    /// its one answer 5.5 s after the first copy. A late answer after the retry, not a loss:
    /// dns.timeout that says the server is slow, and a lost reply's shape (dns-timeout-single,
    /// the re-send answered in 4 ms) does not.
    @Test func slowAnswerAfterTheRetry() throws {
        let f = try shipped("dns-slow-retried.pcap")
        #expect(f.map(\.kind) == ["dns.timeout"])
        let t = try #require(f.first)
        #expect(t.evidence.map(\.frame) == [1, 2, 3])
        let gap = t.measurements["retransmit_gap_s"] ?? 0, late = t.measurements["answered_after_last_try_s"] ?? 0
        #expect(gap > 4.9 && gap < 5.1, "glibc's RES_TIMEOUT; got \(gap)")
        #expect(late > 0.45 && late < 0.6, "the answer 0.5 s after the re-send; got \(late)")
        #expect(t.summary.contains("answered only after retransmission, 0.496 s after the last try (a slow server)"))
        #expect(!t.summary.contains("never answered") && t.title == "DNS answer came only after the client's timeout")
        #expect(t.fix.first?.hasPrefix("10.53.0.3:53 answered 0.496 s after the last try: find why it is slow") == true)
        let lost = try shipped("dns-timeout-single.pcap")
        #expect(lost.map(\.kind) == ["dns.timeout"] && lost.first?.measurements["answered_after_last_try_s"] == nil)
        #expect(lost.first?.title == "DNS query timed out")
    }

    @Test func truncatedDNSThenRefusedTCP() throws {
        let f = try shipped("dns-tcp-fallback-refused.pcap")
        #expect(f.count == 2 && f.allSatisfy { $0.kind == "dns.tcp-fallback-failed" })
        #expect(f.allSatisfy { $0.server == "10.77.0.5:53" && $0.summary.contains("refused") })
        // Not also counted as a plain refused port.
        #expect(!f.contains { $0.kind == "tcp.rst-unlistened-port" })
    }

    @Test func searchExpansion() throws {
        let f = try shipped("dns-search-expansion.pcap")
        #expect(f.count == 1)
        let s = try #require(f.first)
        #expect(s.kind == "dns.search-expansion" && s.endpoint == "api.knetcap.test")
        #expect(s.measurements["steps"] == 3)
        #expect(s.evidence.map(\.frame) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test(arguments: ["healthy-topology.pcap", "dns-healthy-tcp.pcap", "dns-healthy.pcap", "tcp-paws-timewait.pcap", "healthy-load.pcap",
                       "dns-slow-answered.pcap"])
    func healthy(_ name: String) throws {
        #expect(try shipped(name).isEmpty, "\(name)")
    }

    /// Zeek's trace of a SYN retransmitted three times and never answered; nothing in it
    /// shows the port listens, so it is a path drop, not a backlog drop.
    @Test func zeekUnansweredSYN() throws {
        var d = Diagnosis()
        try readCapture(Fixtures.publicCaptures.appendingPathComponent("zeek-tcp-option-sack.pcap")) { p, _ in d.observe(p) }
        d.finish()
        #expect(d.findings.map(\.kind) == ["tcp.syn-unanswered"])
        #expect(d.findings.first?.measurements["syn_transmissions"] == 4)
    }

    /// nmap against closed ports: the six RST/ACKs from servers (tshark: `tcp.flags.reset==1`
    /// from 192.168.1.1:80, .50:80, .65:80 twice, .65:443 twice); the scanner's own RSTs are not faults.
    @Test func nmapClosedPorts() throws {
        var d = Diagnosis()
        try readCapture(Fixtures.publicCaptures.appendingPathComponent("zeek-nmap-vsn.pcap")) { p, _ in d.observe(p) }
        d.finish()
        #expect(d.findings.count == 6 && d.findings.allSatisfy { $0.kind == "tcp.rst-unlistened-port" })
        #expect(Set(d.findings.compactMap(\.server)) == ["192.168.1.1:80", "192.168.1.50:80", "192.168.1.65:80", "192.168.1.65:443"])
    }

    @Test(arguments: [
        ("api.github.com.ns.svc.cluster.local", "api.github.com", true),
        ("cart.payments.ns.svc.cluster.local", "cart.payments.svc.cluster.local", true),
        ("api.knetcap.test.cluster.local", "api.knetcap.test", true),
        ("foo.ns.svc.cluster.local", "bar.svc.cluster.local", false),
        ("api.github.com", "api.github.com", false),
        ("api.gitlab.com.cluster.local", "api.github.com", false),
        ("svc.cluster.local", "api.svc.cluster.local", false),
    ])
    func expansionShape(_ y: String, _ x: String, _ expected: Bool) {
        #expect(DNSSearchExpansionAnalyzer.isExpansion(y, of: x) == expected, "\(y) of \(x)")
    }
}
