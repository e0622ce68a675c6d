import Foundation
import Glibc
import Testing
import KnetcapWire
import KnetcapAnalysis

/// The live probe against this machine's real /proc: a socket this test puts in LISTEN state
/// shows up in the listener table, a counter file parses, and local addresses include
/// 127.0.0.1 and ::1.
@Suite struct LiveProbeTests {
    /// Opens a TCP socket listening on 127.0.0.1 (ephemeral port); returns (fd, port).
    func listen() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        try #require(r == 0)
        try #require(Glibc.listen(fd, 4) == 0)
        var b = sockaddr_in()
        _ = withUnsafeMutablePointer(to: &b) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: b.sin_port))
    }

    @Test func listenerTableShowsOurSocket() throws {
        let (fd, port) = try listen()
        defer { close(fd) }
        let probe = LiveProbe()
        let r = probe.reading(since: probe.snapshot())
        #expect(r.listeners.contains(Endpoint(IPAddress(v4: 0x7f00_0001), port)), "127.0.0.1:\(port) not in \(r.listeners)")
        #expect(r.localAddresses.contains(IPAddress(v4: 0x7f00_0001)))
    }

    /// The owner of an address is the one namespace that has it (this machine's real
    /// fib_trie and if_inet6); an address in two (127.0.0.1 everywhere) has no owner; each
    /// namespace's files are read once however many addresses are asked about.
    @Test func addressOwnersNameTheOnlyNamespaceWithTheAddress() {
        final class Reads: @unchecked Sendable { var n = 0 }
        let reads = Reads()
        let real: (String) -> String? = { reads.n += 1; return try? String(contentsOfFile: $0, encoding: .utf8) }
        let one = LiveProbe.AddressOwners {
            [.init(description: "empty", netns: "e", read: { _ in "" }),
             .init(description: "here", netns: "h", read: real)]
        }
        let loopback = IPAddress(v4: 0x7f00_0001)
        #expect(one.owner(of: loopback)?.netns == "h")
        #expect(one.owner(of: IPAddress(v4: 0x0a63_6363)) == nil)  // 10.99.99.99 nowhere
        #expect(reads.n == 2, "fib_trie and if_inet6 once each, not per address")
        let two = LiveProbe.AddressOwners {
            [.init(description: "a", netns: "a", read: real), .init(description: "b", netns: "b", read: real)]
        }
        #expect(two.owner(of: loopback) == nil, "an address in two namespaces has no single owner")
    }

    @Test func netstatCountersParse() {
        let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8)
        let c = LiveProbe.parseNetstat(text ?? "")
        #expect(c["TcpExt.ListenOverflows"] != nil)
        #expect(c["TcpExt.ListenDrops"] != nil)
        #expect(c["TcpExt.PAWSEstab"] != nil || c["TcpExt.PAWSPassive"] != nil)
    }

    @Test func listenerLinesParse() {
        // Lines as the kernel writes them: 127.0.0.1:8080 LISTEN, [::]:53 LISTEN, one ESTABLISHED.
        let v4 = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
           1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
        """
        let v6 = """
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
        """
        #expect(LiveProbe.parseListeners(v4, v6: false) == [Endpoint(IPAddress(v4: 0x7f00_0001), 8080)])
        #expect(LiveProbe.parseListeners(v6, v6: true) == [Endpoint(IPAddress(v6hi: 0, lo: 0), 53)])
    }

    @Test func conntrackStatsSumPerCPU() {
        let t = "entries  clashres found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n00000010  00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000003 00000002 00000000 00000000  00000000 00000000 00000000 00000000\n00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n"
        let c = LiveProbe.parseConntrackStats(t)
        #expect(c["conntrack.insert_failed"] == 7)
        #expect(c["conntrack.drop"] == 2)
    }
}
