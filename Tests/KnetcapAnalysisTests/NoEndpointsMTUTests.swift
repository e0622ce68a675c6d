import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapTestSupport

/// `svc.no-endpoints` and `tcp.mtu-blackhole` on the captures `Captures/record.sh` recorded on
/// the real kernel (scenarios svc-no-endpoints, tcp-mtu-blackhole, tcp-mtu-controls), and their
/// look-alikes; some tests leave frames of a real capture out to take away one piece of evidence.
@Suite struct NoEndpointsMTUTests {
    func shipped(_ name: String, vips: Set<IPAddress> = [], skip: (Int) -> Bool = { _ in false }) throws -> [Finding] {
        var d = Diagnosis(vips: vips)
        var n = 0
        try readCapture(Fixtures.shipped.appendingPathComponent(name)) { p, _ in
            n += 1
            if !skip(p.number) { d.observe(p) }
        }
        #expect(n > 0, "\(name) read no packets")
        d.finish()
        return d.findings
    }

    @Test func rejectedBeforeAnyBackend() throws {
        let f = try shipped("svc-no-endpoints.pcap")
        let svc = f.filter { $0.kind == "svc.no-endpoints" }
        #expect(svc.map { $0.server ?? "" } == ["10.96.88.10:80", "10.96.88.10:80", "10.96.88.10:8125", "10.96.88.10:8125",
                                                "[fd88:96::10]:80", "10.88.2.2:30080"])
        // The SYN and the ICMP port unreachable from the router that quotes it.
        let first = try #require(svc.first)
        #expect(first.evidence.map(\.frame) == [13, 14])
        #expect(first.evidence[1].note.contains("ICMP port unreachable (3/3) from 10.88.1.1, quoting the SYN (seq 1371253034)"))
        #expect(first.confidence.level == .high && first.confidence.reason.contains("never ICMP"))
        #expect(svc[2].summary.contains("udp: datagram rejected by 10.88.1.1"))
        #expect(svc[4].evidence.last?.note.contains("ICMPv6 port unreachable (1/4) from fd88:1::1") == true)
        // The router-built RST: TTL 64 against the server's own SYN-ACK's 63 (frame 2).
        let reset = svc[5]
        #expect(reset.measurements["ttl_difference"] == 1)
        #expect(reset.evidence.map(\.frame) == [2, 25, 26])
        #expect(reset.confidence.level == .medium)
        // The look-alikes: the server's own RST (TTL 63) stays a refused port, and its own ICMP
        // port unreachable for UDP (sender = destination) is no finding.
        let rst = f.filter { $0.kind == "tcp.rst-unlistened-port" }
        #expect(rst.map { $0.server ?? "" } == ["10.88.2.2:8081"])
        #expect(rst.first?.confidence.reason.contains("its TTL (63) is that of 10.88.2.2's own SYN-ACK (frame 2)") == true)
        #expect(!f.contains { $0.server == "10.88.2.2:8125" })
        // The IPv6 SYN was re-sent (the first ICMPv6 came while connect() held the socket):
        // one finding, and never a SYN drop.
        #expect(f.count == 7)
    }

    /// Without the server's earlier SYN-ACK there is nothing to compare the RST's TTL with: the
    /// router-built RST cannot be told from the server's own, and stays a refused port.
    @Test func resetWithoutReferenceIsNotGuessed() throws {
        let f = try shipped("svc-no-endpoints.pcap", skip: { $0 <= 12 })
        #expect(f.filter { $0.kind == "svc.no-endpoints" }.count == 5)
        #expect(f.filter { $0.kind == "tcp.rst-unlistened-port" }.map { $0.server ?? "" } == ["10.88.2.2:30080", "10.88.2.2:8081"])
    }

    /// A refused port on a `--vip` address: the finding says the capture cannot tell a
    /// backend's RST from a reset rule's (a VIP's packets come from backends at other hop counts).
    @Test func refusedVIPSaysItCannotTell() throws {
        let f = try shipped("tcp-rst-unlistened.pcap", vips: [IPAddress(parsing: "10.77.0.3")!])
        #expect(f.count == 4 && f.allSatisfy { $0.kind == "tcp.rst-unlistened-port" && $0.confidence.level == .medium })
        #expect(f.allSatisfy { $0.confidence.reason.contains("so no TTL in the capture tells them apart") })
    }

    @Test func blackhole() throws {
        let f = try shipped("tcp-mtu-blackhole.pcap")
        #expect(f.count == 1)
        let b = try #require(f.first)
        #expect(b.kind == "tcp.mtu-blackhole" && b.server == "10.88.2.2:8080" && b.client == "10.88.1.2:57178")
        #expect(b.measurements["stalled_size_bytes"] == 1500 && b.measurements["sends"] == 7)
        #expect(b.measurements["largest_delivered_bytes"] == 352)
        #expect(b.measurements["path_mtu_bytes"] == nil)  // the ICMP never reached the server
        // first transmission, the 352-byte tail and its SACK, the six re-sends
        #expect(b.evidence.map(\.frame) == [8, 16, 17, 20, 21, 22, 23, 24, 25])
        #expect(b.confidence.level == .high && b.confidence.reason.contains("not a link down"))
        #expect(b.summary.contains("path MTU between 352 and 1499 bytes"))
    }

    /// Without the short last segment and its SACK, only the headers (sent before the big
    /// segments) passed: a path that died then would look the same, so medium.
    @Test func blackholeWithoutLateSmallSegment() throws {
        let f = try shipped("tcp-mtu-blackhole.pcap", skip: { $0 == 16 || $0 == 17 || $0 == 19 })
        #expect(f.count == 1)
        #expect(f.first?.confidence.level == .medium)
        #expect(f.first?.measurements["largest_delivered_bytes"] == 134)
    }

    /// Cut after the third transmission: not yet the fourth Linux's black-hole detection
    /// waits for (tcp_retries1 = 3 re-sends), so nothing.
    @Test func blackholeNeedsFourSends() throws {
        #expect(try shipped("tcp-mtu-blackhole.pcap", skip: { $0 >= 22 }).isEmpty)
    }

    /// IPv6: the router's packet too big (MTU 1400) reaches the server's interface and is
    /// dropped by the server's own input rule: the path MTU comes from the ICMPv6.
    @Test func blackholeIPv6WithPacketTooBigSeen() throws {
        let f = try shipped("tcp-mtu-blackhole-v6.pcap")
        #expect(f.count == 1)
        let b = try #require(f.first)
        #expect(b.kind == "tcp.mtu-blackhole" && b.server == "[fd88:2::2]:8080" && b.confidence.level == .high)
        #expect(b.measurements["path_mtu_bytes"] == 1400 && b.measurements["sends"] == 7 && b.measurements["largest_delivered_bytes"] == 432)
        #expect(b.evidence.contains { $0.frame == 12 && $0.note == "ICMPv6 packet too big from fd88:2::1, MTU 1400, quoting this connection" })
        #expect(b.confidence.reason.contains("dropped between here and the sender's stack"))
        #expect(b.fix.contains { $0.contains("ICMPv6 type 2") })
    }

    /// tcp_mtu_probing=1: the 1500-byte segment sent 5 times, then the MSS lowered to
    /// tcp_base_mss 1024 and the data re-sent in 1076-byte segments, acknowledged: named, as
    /// survived (warning), with the size that passed.
    @Test func blackholeSurvivedByProbing() throws {
        let f = try shipped("tcp-mtu-probing.pcap")
        #expect(f.count == 1)
        let b = try #require(f.first)
        #expect(b.kind == "tcp.mtu-blackhole" && b.severity == .warning)
        #expect(b.measurements["sends"] == 5 && b.measurements["largest_delivered_bytes"] == 1076)
        #expect(b.evidence.last?.frame == 20 && b.evidence.last?.note.contains("1076-byte segments (frame 19)") == true)
        #expect(b.summary.contains("recovered at 1076 bytes after 3.14 s"))
        #expect(!b.fix.contains { $0.contains("tcp_mtu_probing") })
    }

    /// Ordinary loss (a 1500-byte segment lost once, re-sent at 1500, acknowledged) and PMTUD
    /// working (ICMP 3/4 mtu 1400 reaches the server, it re-sends at 1400): no finding.
    @Test func lossAndWorkingPMTUDAreNotBlackholes() throws {
        #expect(try shipped("tcp-mtu-controls.pcap").isEmpty)
    }
}
