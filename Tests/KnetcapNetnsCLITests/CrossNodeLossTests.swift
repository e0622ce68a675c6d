// Many nodes (issue 10) on the real kernel: two "nodes" (network namespaces) joined through a
// router namespace, knetcap capturing on each node's interface, the two captures merged with
// `knetcap merge`, and nftables on the router dropping one DNS query: `net.cross-node-loss`.

import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// node-a (10.81.X.2) -- router (10.81.X.1 | 10.82.X.1) -- node-b (10.82.X.2), veths, routes
/// through the router (ip_forward on), a DNS responder on node-b.
final class TwoNodeLab {
    let id = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
    var nsA: String { "knx-\(id)-a" }
    var nsB: String { "knx-\(id)-b" }
    var nsR: String { "knx-\(id)-r" }
    let x = Int.random(in: 1...254)
    var addrA: String { "10.81.\(x).2" }
    var addrB: String { "10.82.\(x).2" }
    var responder: Process?

    init() throws {
        do {
            for ns in [nsA, nsB, nsR] { try ip(["netns", "add", ns]) }
            try ip(["link", "add", "xa\(id)", "netns", nsA, "type", "veth", "peer", "name", "ra\(id)", "netns", nsR])
            try ip(["link", "add", "xb\(id)", "netns", nsB, "type", "veth", "peer", "name", "rb\(id)", "netns", nsR])
            try ip(["-n", nsA, "addr", "add", "\(addrA)/24", "dev", "xa\(id)"])
            try ip(["-n", nsR, "addr", "add", "10.81.\(x).1/24", "dev", "ra\(id)"])
            try ip(["-n", nsB, "addr", "add", "\(addrB)/24", "dev", "xb\(id)"])
            try ip(["-n", nsR, "addr", "add", "10.82.\(x).1/24", "dev", "rb\(id)"])
            for (ns, dev) in [(nsA, "xa\(id)"), (nsB, "xb\(id)"), (nsR, "ra\(id)"), (nsR, "rb\(id)"), (nsA, "lo"), (nsB, "lo"), (nsR, "lo")] {
                try ip(["-n", ns, "link", "set", dev, "up"])
            }
            try ip(["-n", nsA, "route", "add", "default", "via", "10.81.\(x).1"])
            try ip(["-n", nsB, "route", "add", "default", "via", "10.82.\(x).1"])
            _ = try runTool(NetnsLab.ipPath!, ["netns", "exec", nsR, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            // The DNS server on node-b: answers every A query with 10.9.9.9.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
            p.arguments = ["netns", "exec", nsB, "python3", "-c", """
                import socket
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("\(addrB)", 53))
                while True:
                    q, peer = u.recvfrom(512)
                    u.sendto(q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00" + q[12:] + b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04\\x0a\\x09\\x09\\x09", peer)
                """]
            p.standardInput = FileHandle.nullDevice
            try p.runSerialized()
            responder = p
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    func remove() {
        if let p = responder, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitForExit() }
        responder = nil
        for ns in [nsA, nsB, nsR] { _ = try? runTool(NetnsLab.ipPath!, ["netns", "del", ns]) }
    }

    @discardableResult
    func ip(_ args: [String]) throws -> String {
        let r = try runTool(NetnsLab.ipPath!, args)
        if r.status != 0 { throw LabError("ip \(args.joined(separator: " ")): \(r.stderr)") }
        return r.stdout
    }

    /// On the router: drop forwarded UDP to port 53 of `length` bytes (UDP header and
    /// payload), which only the victim query has.
    func dropQueries(udpLength: Int) throws {
        try nft("""
            table inet knetcap_lab {
              chain forward { type filter hook forward priority 0; policy accept; udp dport 53 udp length \(udpLength) counter drop; }
            }
            """)
    }

    /// On the router: drop forwarded DNS answers of `udpLength` bytes (on their way back to node-a).
    func dropAnswers(udpLength: Int) throws {
        try nft("""
            table inet knetcap_lab {
              chain forward { type filter hook forward priority 0; policy accept; udp sport 53 udp length \(udpLength) counter drop; }
            }
            """)
    }

    /// On the router: a ClusterIP-like DNAT, `vip`:80 to node-b's 8080 (the reply un-DNATed by
    /// conntrack on its way back), as kube-proxy does on a client's node.
    func dnat(vip: String) throws {
        try nft("""
            table ip knetcap_nat {
              chain pre { type nat hook prerouting priority -100; ip daddr \(vip) tcp dport 80 dnat to \(addrB):8080; }
            }
            """)
    }

    func nft(_ script: String) throws {
        let r = try runTool(NetnsLab.ipPath!, ["netns", "exec", nsR, "nft", "-f", "/dev/stdin"], stdinText: script)
        if r.status != 0 { throw LabError("nft: \(r.stderr)") }
    }

    /// From node-a: `n` TCP connections to `vip`:80 (each reads node-b's greeting), 50 ms apart.
    func connect(vip: String, _ n: Int) throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
        server.arguments = ["netns", "exec", nsB, "python3", "-c", """
            import socket
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("\(addrB)", 8080)); t.listen(16); t.settimeout(20)
            for _ in range(\(n)):
                c, _ = t.accept(); c.sendall(b"hello\\n"); c.close()
            """]
        server.standardInput = FileHandle.nullDevice
        try server.runSerialized()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) }; server.waitForExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let r = try runTool(NetnsLab.ipPath!, ["netns", "exec", nsA, "python3", "-c", """
            import socket, time
            for _ in range(\(n)):
                c = socket.create_connection(("\(vip)", 80), timeout=5); c.recv(16); c.close(); time.sleep(0.05)
            """])
        if r.status != 0 { throw LabError("tcp client: \(r.stderr)") }
    }

    /// From node-a, one socket (port 40053): an A query per name, each waiting up to 0.5 s
    /// for its answer, 50 ms apart.
    func query(_ names: [String]) throws {
        let r = try runTool(NetnsLab.ipPath!, ["netns", "exec", nsA, "python3", "-c", """
            import socket, struct, sys, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("\(addrA)", 40053)); s.settimeout(0.5)
            for i, n in enumerate(sys.argv[1:]):
                q = struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\\x00\\x00\\x01\\x00\\x01"
                s.sendto(q, ("\(addrB)", 53))
                try: s.recvfrom(512)
                except socket.timeout: pass
                time.sleep(0.05)
            """] + names)
        if r.status != 0 { throw LabError("client: \(r.stderr)") }
    }
}

/// `runTool` with text on standard input.
func runTool(_ exe: String, _ args: [String], stdinText: String) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let inp = Pipe(), out = Pipe(), err = Pipe()
    p.standardInput = inp; p.standardOutput = out; p.standardError = err
    try p.runSerialized()
    inp.fileHandleForWriting.write(Data(stdinText.utf8))
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitForExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("net.cross-node-loss on real namespaces", .enabled(if: NetnsLab.available, "needs root and ip(8)"))
struct CrossNodeLossTests {
    /// Captures on both nodes while node-a sends `names`, merges them, diagnoses the merge.
    /// `shiftB`: seconds added to node-b's timestamps before the merge (editcap -t), a node
    /// whose clock is that far off.
    func captureAndDiagnose(_ lab: TwoNodeLab, _ names: [String], filter: [String] = ["udp"], linger: TimeInterval = 0.3,
                            shiftB: Double? = nil,
                            traffic: (() throws -> Void)? = nil) throws -> (findings: [[String: Any]], merged: URL, dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let a = dir.appendingPathComponent("node-a.pcapng"), b = dir.appendingPathComponent("node-b.pcapng")
        let capA = try Capture(["--netns", lab.nsA, "-i", "xa\(lab.id)", "-q", "-w", a.path] + filter)
        let capB = try Capture(["--netns", lab.nsB, "-i", "xb\(lab.id)", "-q", "-w", b.path] + filter)
        try #require(capA.waitListening() && capB.waitListening(), "captures: \(capA.stderr) \(capB.stderr)")
        if !names.isEmpty { try lab.query(names) }
        try traffic?()
        Thread.sleep(forTimeInterval: linger)
        capA.finish(within: 0); capB.finish(within: 0)
        var bFile = b
        if let shift = shiftB {
            let shifted = dir.appendingPathComponent("shifted", isDirectory: true)
            try FileManager.default.createDirectory(at: shifted, withIntermediateDirectories: true)
            bFile = shifted.appendingPathComponent("node-b.pcapng")
            let e = try runTool("/usr/bin/editcap", ["-t", String(shift), b.path, bFile.path])
            try #require(e.status == 0, "editcap: \(e.stderr)")
        }
        let merged = dir.appendingPathComponent("all.pcapng")
        let m = try runTool(knetcap.path, ["merge", "-w", merged.path, a.path, bFile.path])
        try #require(m.status == 0, "merge: \(m.stderr)")
        let r = try runTool(knetcap.path, ["-q", "--json", "-r", merged.path])
        let findings = r.stdout.split(separator: "\n").compactMap { line -> [String: Any]? in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["finding"] as? [String: Any]
        }
        return (findings, merged, dir)
    }

    /// One query of eight dropped by the router: one finding naming node-a, node-b and the
    /// query; the seven others matched; each node's capture alone has no such finding.
    @Test func droppedQueryIsNamed() throws {
        let lab = try TwoNodeLab()
        defer { lab.remove() }
        let names = (1...4).map { "q\($0).knetcap.test" } + ["lost-query.knetcap.test"] + (6...8).map { "q\($0).knetcap.test" }
        // UDP length: 8 + 12 (header) + name (len + 2) + 4.
        try lab.dropQueries(udpLength: 8 + 12 + "lost-query.knetcap.test".utf8.count + 2 + 4)
        let (findings, _, dir) = try captureAndDiagnose(lab, names)
        defer { try? FileManager.default.removeItem(at: dir) }
        let loss = findings.filter { $0["kind"] as? String == "net.cross-node-loss" }
        #expect(loss.count == 1, "\(findings.map { $0["kind"] ?? "" })")
        let f = try #require(loss.first)
        let summary = f["summary"] as? String ?? ""
        #expect(summary.contains("1 DNS query seen at node-a/xa\(lab.id) never reached node-b/xb\(lab.id)"), "\(summary)")
        #expect(summary.contains("\(lab.addrA):40053 -> \(lab.addrB):53"), "\(summary)")
        let ev = f["evidence"] as? [[String: Any]] ?? []
        #expect(ev.first.map { ($0["note"] as? String ?? "").contains("lost-query.knetcap.test") } == true, "\(ev)")
        #expect(f["occurrences"] as? Int == 1)
        // Clock offset: one kernel, one clock; both directions seen: a few ms at most.
        let m = f["measurements"] as? [String: Double] ?? [:]
        #expect(abs(m["clock_offset_s"] ?? 1) < 0.005, "\(m)")
    }

    /// The same drop with node-b's clock 0.3 s behind or 2 s ahead of node-a's (more than the
    /// delay): still one finding between the same two vantage points, the offset estimated.
    @Test(arguments: [-0.3, 2.0]) func clockOffsetDoesNotHideTheLoss(shift: Double) throws {
        let lab = try TwoNodeLab()
        defer { lab.remove() }
        let names = (1...4).map { "q\($0).knetcap.test" } + ["lost-query.knetcap.test"] + (6...8).map { "q\($0).knetcap.test" }
        try lab.dropQueries(udpLength: 8 + 12 + "lost-query.knetcap.test".utf8.count + 2 + 4)
        let (findings, _, dir) = try captureAndDiagnose(lab, names, shiftB: shift)
        defer { try? FileManager.default.removeItem(at: dir) }
        let loss = findings.filter { $0["kind"] as? String == "net.cross-node-loss" }
        #expect(loss.count == 1, "\(findings.map { $0["summary"] ?? "" })")
        let summary = loss.first?["summary"] as? String ?? ""
        #expect(summary.contains("1 DNS query seen at node-a/xa\(lab.id) never reached node-b/xb\(lab.id)"), "\(summary)")
        let m = loss.first?["measurements"] as? [String: Double] ?? [:]
        #expect(abs((m["clock_offset_s"] ?? 0) - shift) < 0.005, "offset b − a ≈ \(shift): \(m)")
    }

    /// Nothing dropped: every query seen at both nodes, no finding.
    @Test func nothingDroppedNoFinding() throws {
        let lab = try TwoNodeLab()
        defer { lab.remove() }
        let (findings, merged, dir) = try captureAndDiagnose(lab, (1...8).map { "q\($0).knetcap.test" })
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(findings.isEmpty, "\(findings.map { $0["kind"] ?? "" })")
        // 8 queries and 8 answers at each node.
        let t = try runTool("/usr/bin/tshark", ["-r", merged.path, "-Y", "dns", "-T", "fields", "-e", "frame.interface_name"])
        let counts = Dictionary(t.stdout.split(separator: "\n").map { (String($0), 1) }, uniquingKeysWith: +)
        #expect(counts == ["node-a/xa\(lab.id)": 16, "node-b/xb\(lab.id)": 16], "\(counts)")
    }

    /// An answer dropped on its way back: node-b answered (its capture shows it), node-a never
    /// got it. The answer seen at node-b does not answer node-a's query: node-a's timeout is
    /// named, and the loss between the two.
    @Test func droppedAnswerLeavesTheClientWaiting() throws {
        let lab = try TwoNodeLab()
        defer { lab.remove() }
        let names = ["q1.knetcap.test", "q2.knetcap.test", "lost-answer.knetcap.test", "q4.knetcap.test"]
        // The answer: the query plus a 16-byte A record.
        try lab.dropAnswers(udpLength: 8 + 12 + "lost-answer.knetcap.test".utf8.count + 2 + 4 + 16)
        // A query a second for 6 s more: the capture demonstrably ran past the resolver's timeout.
        let (findings, _, dir) = try captureAndDiagnose(lab, names) {
            for k in 1...6 {
                Thread.sleep(forTimeInterval: 1)
                try lab.query(["later\(k).knetcap.test"])
            }
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let kinds = findings.compactMap { $0["kind"] as? String }
        #expect(kinds.sorted() == ["dns.timeout", "net.cross-node-loss"], "\(kinds)")
        let loss = try #require(findings.first { $0["kind"] as? String == "net.cross-node-loss" })
        #expect((loss["summary"] as? String ?? "").contains("1 DNS answer seen at node-b/xb\(lab.id) never reached node-a/xa\(lab.id)"), "\(loss["summary"] ?? "")")
        let timeout = try #require(findings.first { $0["kind"] as? String == "dns.timeout" })
        #expect((timeout["summary"] as? String ?? "").contains("lost-answer.knetcap.test"), "\(timeout["summary"] ?? "")")
    }

    /// A ClusterIP-like DNAT on the router: node-a sees client -> VIP:80, node-b client ->
    /// backend:8080, for the same SYNs. Merged, those are copies of one handshake, not a reply
    /// from the wrong source, not a retransmission: no finding.
    @Test func dnatBetweenVantagePointsIsNoMismatch() throws {
        let lab = try TwoNodeLab()
        defer { lab.remove() }
        let vip = "10.96.\(lab.x).10"
        try lab.dnat(vip: vip)
        let (findings, merged, dir) = try captureAndDiagnose(lab, [], filter: ["tcp"]) { try lab.connect(vip: vip, 4) }
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(findings.isEmpty, "\(findings.map { $0["summary"] ?? "" })")
        // The SYNs really are rewritten between the two captures.
        let t = try runTool("/usr/bin/tshark", ["-r", merged.path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                                                "-e", "frame.interface_name", "-e", "ip.dst", "-e", "tcp.dstport"])
        let rows = Set(t.stdout.split(separator: "\n").map(String.init))
        #expect(rows == ["node-a/xa\(lab.id)\t\(vip)\t80", "node-b/xb\(lab.id)\t\(lab.addrB)\t8080"], "\(rows)")
        // --stats counts each handshake once, at the vantage point that saw it first (the
        // client's node, to the VIP), not again as one to the backend.
        let st = try runTool(knetcap.path, ["-q", "--json", "--stats", "-r", merged.path])
        let summary = try #require(st.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let handshakes = (((summary["summary"] as? [String: Any])?["stats"] as? [String: Any])?["handshakes"] as? [[String: Any]]) ?? []
        #expect(handshakes.count == 1 && handshakes.first?["server"] as? String == "\(vip):80", "\(handshakes)")
        #expect(handshakes.first?["attempts"] as? Int == 4 && handshakes.first?["completed"] as? Int == 4, "\(handshakes)")
    }
}
