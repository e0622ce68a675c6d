import Foundation
import Testing

/// Proof on the real kernel: `Captures/record.sh` runs every scenario in `Captures/scenarios/`,
/// each on a network namespace topology from `Captures/topologies/` (ip netns, veth, a bridge,
/// nftables, dnsmasq, glibc getent), reproducing each fault and capturing it live with the
/// knetcap under test (`-i IFACE -w FILE`); knetcap then diagnoses each fresh capture and must
/// name the fault with its evidence. The backlog and RST scenarios also run knetcap's live
/// diagnosis inside the server namespace, whose findings must quote what it read there
/// (ListenOverflows, the LISTEN table).
///
/// Needs root (CI is root). Without root the suite records why and is skipped.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: network namespaces and nftables"))
struct RealKernelFaultTests {
    static let repo: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()

    /// Records every scenario once into a temporary folder (shared by the tests below).
    static let recorded: (dir: URL, status: Int32, log: String) = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knetcap-kernel-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [repo.appendingPathComponent("Captures/record.sh").path]  // no names: all scenarios
        var env = ProcessInfo.processInfo.environment
        env["KNETCAP"] = knetcapBinary().path
        env["OUT"] = dir.path
        env["DIAG_DIR"] = dir.path
        p.environment = env
        let errFile = dir.appendingPathComponent("record.sh.log")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: errFile.path)
        p.standardError = FileHandle(forWritingAtPath: errFile.path)
        do { try p.runSerialized() } catch { return (dir, -1, "\(error)") }
        p.waitForExit()
        return (dir, p.terminationStatus, (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }()

    /// Findings of `knetcap -q --json -r FILE` as (kind, finding object).
    static func findings(_ name: String) throws -> [[String: Any]] {
        let r = run([ "-q", "--json", "-r", recorded.dir.appendingPathComponent(name).path])
        #expect(r.status == 0, "\(name): \(r.stderr)")
        return jsonFindings(r.stdout)
    }

    static func jsonFindings(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["finding"] as? [String: Any]
        }
    }

    @Test func recordingSucceeded() {
        #expect(Self.recorded.status == 0, "recording failed:\n\(Self.recorded.log.suffix(3000))")
    }

    @Test func unlistenedPortIsRefused() throws {
        let f = try Self.findings("tcp-rst-unlistened.pcap")
        #expect(f.count == 4 && f.allSatisfy { $0["kind"] as? String == "tcp.rst-unlistened-port" })
        #expect(Set(f.compactMap { $0["server"] as? String }) == ["10.77.0.3:8081", "10.77.0.3:8080"])
        // Live, in the server namespace: the listener table shows the app bound to 127.0.0.1.
        let live = Self.jsonFindings((try? String(contentsOf: Self.recorded.dir.appendingPathComponent("rst-server.json"), encoding: .utf8)) ?? "")
        let on8080 = live.filter { ($0["server"] as? String) == "10.77.0.3:8080" }
        #expect(on8080.count == 2)
        #expect(on8080.allSatisfy { (($0["observed"] as? [String]) ?? []).joined().contains("LISTEN on 127.0.0.1:8080 instead") })
    }

    @Test func fullBacklogDropsSYNs() throws {
        let f = try Self.findings("tcp-syn-backlog-drop.pcap")
        #expect(f.count == 20 && f.allSatisfy { $0["kind"] as? String == "tcp.syn-backlog-drop" })
        #expect(f.allSatisfy { $0["server"] as? String == "10.77.0.3:9000" })
        #expect(f.allSatisfy { (($0["measurements"] as? [String: Double])?["syn_transmissions"] ?? 0) >= 3 })
        let live = Self.jsonFindings((try? String(contentsOf: Self.recorded.dir.appendingPathComponent("backlog-server.json"), encoding: .utf8)) ?? "")
        #expect(!live.isEmpty && live.allSatisfy { $0["kind"] as? String == "tcp.syn-backlog-drop" })
        #expect(live.contains { (($0["observed"] as? [String]) ?? []).joined().contains("TcpExt.ListenOverflows +") })
    }

    @Test func hairpinReplyComesFromTheBackend() throws {
        let f = try Self.findings("nat-hairpin.pcap")
        #expect(f.count == 1)
        #expect(f.first?["kind"] as? String == "nat.reply-source-mismatch")
        #expect(f.first?["server"] as? String == "192.0.2.10:80")
        #expect((f.first?["summary"] as? String)?.contains("from 10.77.0.3:8080") == true)
        let vip = Self.run(["-q", "--json", "--vip", "192.0.2.10", "-r", Self.recorded.dir.appendingPathComponent("nat-hairpin.pcap").path])
        #expect((Self.jsonFindings(vip.stdout).first?["title"] as? String)?.contains("hairpin") == true)
    }

    @Test func truncatedDNSFallbackRefused() throws {
        let f = try Self.findings("dns-tcp-fallback-refused.pcap")
        #expect(f.count == 2 && f.allSatisfy { $0["kind"] as? String == "dns.tcp-fallback-failed" })
    }

    @Test func searchListIsWalkedBeforeTheNameResolves() throws {
        let f = try Self.findings("dns-search-expansion.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "dns.search-expansion")
        #expect(((f.first?["measurements"] as? [String: Double])?["steps"] ?? 0) == 3)
        #expect((f.first?["summary"] as? String)?.contains("api.knetcap.test.default.svc.cluster.local") == true)
    }

    @Test func glibcLosesOneReply() throws {
        let f = try Self.findings("dns-timeout-glibc.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "dns.conntrack-race")
        #expect(((f.first?["measurements"] as? [String: Double])?["retransmit_gap_s"] ?? 0) > 4.9)
    }

    /// The A answer is fragmented by the server's MTU 600 and the switch drops its tail: the
    /// first fragment names the query, so it is the answer's fragments, not a lost reply.
    @Test func answerFragmentsLost() throws {
        let f = try Self.findings("dns-fragment-lost.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "dns.fragment-lost", "\(f)")
        #expect((f.first?["confidence"] as? [String: Any])?["level"] as? String == "high", "\(f)")
        #expect((f.first?["summary"] as? String)?.contains("its last fragment never arrived") == true, "\(f)")
        #expect(((f.first?["measurements"] as? [String: Double])?["retransmit_gap_s"] ?? 0) > 4.9)
    }

    /// VXLAN on the lab bridge (real kernel): the refused connects inside are named on the
    /// pods' endpoints, with the tunnel and the node addresses that carried them.
    @Test func refusedInsideVXLAN() throws {
        let f = try Self.findings("overlay-vxlan.pcap")
        #expect(f.count == 2 && f.allSatisfy { $0["kind"] as? String == "tcp.rst-unlistened-port" }, "\(f)")
        #expect(f.allSatisfy { $0["server"] as? String == "10.244.1.3:8081" }, "\(f)")
        #expect(f.allSatisfy { ($0["summary"] as? String)?.contains("(carried in VXLAN vni 1 from 10.77.0.2 to 10.77.0.3)") == true }, "\(f)")
    }

    /// Geneve, IP-in-IP, IPv6-in-IPv4, GRE and nested IP-in-IP frames: one refused SYN in each.
    @Test func refusedInsideEveryTunnel() throws {
        let f = try Self.findings("overlay-tunnels.pcap")
        #expect(f.count == 7 && f.allSatisfy { $0["kind"] as? String == "tcp.rst-unlistened-port" }, "\(f)")
        let carried = Set(f.compactMap { ($0["summary"] as? String)?.components(separatedBy: "(carried in ").last?.components(separatedBy: " from").first })
        #expect(carried == ["Geneve vni 7", "Geneve vni 9", "IP-in-IP", "GRE", "GRE key 77"], "\(carried)")
    }

    /// dnsmasq on port 1053: DNS recognised by content, the lost answer diagnosed there.
    @Test func timeoutOnPort1053() throws {
        let f = try Self.findings("dns-port-1053.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "dns.timeout", "\(f)")
        #expect(f.first?["server"] as? String == "10.77.0.3:1053", "\(f)")
    }

    /// kube-proxy's nftables rules for a Service without endpoints on the router: the SYNs and
    /// datagrams to the VIP are answered by ICMP/ICMPv6 port unreachable from the router, a
    /// `reject with tcp reset` by a RST with the router's TTL; the server's own RST and ICMP
    /// are the look-alikes.
    @Test func serviceWithoutEndpointsIsRejected() throws {
        let f = try Self.findings("svc-no-endpoints.pcap")
        let svc = f.filter { $0["kind"] as? String == "svc.no-endpoints" }
        #expect(svc.compactMap { $0["server"] as? String } == ["10.96.88.10:80", "10.96.88.10:80", "10.96.88.10:8125",
                                                               "10.96.88.10:8125", "[fd88:96::10]:80", "10.88.2.2:30080"], "\(f)")
        #expect(f.filter { $0["kind"] as? String == "tcp.rst-unlistened-port" }.compactMap { $0["server"] as? String } == ["10.88.2.2:8081"], "\(f)")
        #expect(f.count == 7, "\(f)")
    }

    /// The router's link MTU 1400 and its ICMP fragmentation-needed dropped: the server's
    /// 1500-byte segment is re-sent until curl gives up, the small tail passes.
    @Test func mtuBlackholeStallsFullSizeSegments() throws {
        let f = try Self.findings("tcp-mtu-blackhole.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "tcp.mtu-blackhole", "\(f)")
        let m = f.first?["measurements"] as? [String: Double] ?? [:]
        #expect(m["stalled_size_bytes"] == 1500 && (m["sends"] ?? 0) >= 4 && (m["largest_delivered_bytes"] ?? 0) < 1400, "\(m)")
    }

    /// IPv6: the packet too big seen at the server, dropped by its own input rule.
    @Test func mtuBlackholeIPv6NamesTheICMPMTU() throws {
        let f = try Self.findings("tcp-mtu-blackhole-v6.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "tcp.mtu-blackhole", "\(f)")
        #expect((f.first?["measurements"] as? [String: Double])?["path_mtu_bytes"] == 1400, "\(f)")
    }

    /// The same black hole with tcp_mtu_probing=1: named, survived (warning), at 1076 bytes.
    @Test func mtuBlackholeSurvivedByProbing() throws {
        let f = try Self.findings("tcp-mtu-probing.pcap")
        #expect(f.count == 1 && f.first?["kind"] as? String == "tcp.mtu-blackhole" && f.first?["severity"] as? String == "warning", "\(f)")
        #expect((f.first?["measurements"] as? [String: Double])?["largest_delivered_bytes"] == 1076, "\(f)")
    }

    @Test(arguments: ["healthy-topology.pcap", "dns-healthy-tcp.pcap", "dns-healthy.pcap", "tcp-paws-timewait.pcap", "tcp-mtu-controls.pcap"])
    func healthyTopologyHasNoFinding(_ name: String) throws {
        #expect(try Self.findings(name).isEmpty, "\(name)")
    }

    static func knetcapBinary() -> URL { knetcap }  // KnetcapCLITests.swift: $KNETCAP_BIN or the built one

    static func run(_ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = knetcapBinary()
        p.arguments = args
        let o = Pipe(), e = Pipe()
        defer { o.closeBothEnds(); e.closeBothEnds() }
        p.standardOutput = o; p.standardError = e
        do { try p.runSerialized() } catch { return (-1, "", "\(error)") }
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitForExit()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }
}
