// Many nodes (issue 10): `knetcap merge` against Wireshark's mergecap on the same inputs.

import Foundation
import Testing

@Suite("knetcap merge (many nodes)")
struct MergeTests {
    /// The columns that show a merge's packet order: time, length, comments, protocols.
    func order(_ file: URL) throws -> [String] {
        let r = try tool("tshark", ["-r", file.path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len",
                                    "-e", "frame.comment", "-e", "frame.protocols"])
        #expect(r.status == 0, "tshark -r \(file.lastPathComponent): \(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// Three public captures (a pcap, a multi-interface pcapng, a two-interface pcapng) and a
    /// commented copy of one with the same timestamps (every packet a tie, which mergecap gives to the later input): the order
    /// mergecap gives, the interfaces named after their files, every comment kept.
    @Test func mergeOrdersPacketsAsMergecap() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dns = publicCaptures.appendingPathComponent("dnscap-dns.pcap")
        // The same packets, same times, a comment on frame 2: ties go to the input listed last.
        let twin = dir.appendingPathComponent("twin.pcapng")
        let e = try tool("editcap", ["-F", "pcapng", "-a", "2:twin frame 2", dns.path, twin.path])
        try #require(e.status == 0, "editcap: \(e.stderr)")
        let inputs = [dns, publicCaptures.appendingPathComponent("zeek-pcapng-multi-interface.pcapng"),
                      publicCaptures.appendingPathComponent("pcapng-testgen-le-test006.pcapng"), twin]
        let ours = dir.appendingPathComponent("ours.pcapng"), theirs = dir.appendingPathComponent("mergecap.pcapng")
        let r = try run(["merge", "-w", ours.path] + inputs.map(\.path))
        #expect(r.status == 0, "knetcap merge: \(r.stderr)")
        let m = try tool("mergecap", ["-w", theirs.path] + inputs.map(\.path))
        try #require(m.status == 0, "mergecap: \(m.stderr)")
        let a = try order(ours), b = try order(theirs)
        #expect(a.count == 277, "133 + 6 + 5 + 133 packets")
        #expect(a == b, "first difference at line \(Array(zip(a, b)).firstIndex { $0.0 != $0.1 } ?? min(a.count, b.count))")
        #expect(a.contains { $0.contains("twin frame 2") })
        #expect(r.stderr.contains("merged 277 packets from 4 files"), "\(r.stderr)")

        let names = try tool("tshark", ["-r", ours.path, "-T", "fields", "-e", "frame.interface_name"])
        let counts = Dictionary(names.stdout.split(separator: "\n").map { (String($0), 1) }, uniquingKeysWith: +)
        #expect(counts == ["dnscap-dns": 133, "twin": 133, "pcapng-testgen-le-test006/eth0": 4, "pcapng-testgen-le-test006/en1": 1,
                           "zeek-pcapng-multi-interface/eth0": 2,
                           "zeek-pcapng-multi-interface/\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}": 4], "\(counts)")
        // The interface options are kept (Windows' if_description, if_os) and name the file.
        let info = try tool("capinfos", [ours.path])
        #expect(info.stdout.contains("Description = Ethernet 2"))
        #expect(info.stdout.contains("Comment = File: \(twin.path)"))
        #expect(info.stdout.contains("Number of interfaces in file: 6"), "\(info.stdout)")
    }

    /// LABEL=PATH names the vantage point; the merged file is read and diagnosed by -r, the
    /// finding the same as in the one input that holds it.
    @Test func labelsNameTheVantagePoints() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("all.pcapng")
        let r = try run(["merge", "-w", out.path, "node-a=\(goodCapture.path)", "node-b=\(publicCaptures.appendingPathComponent("dnscap-dns.pcap").path)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("(2 interfaces: node-b, node-a)"), "in the order of their first packets: \(r.stderr)")
        let names = try tool("tshark", ["-r", out.path, "-T", "fields", "-e", "frame.interface_name"])
        #expect(Set(names.stdout.split(separator: "\n")) == ["node-a", "node-b"])
        let q = try run(["-q", "-r", out.path])
        let alone = try run(["-q", "-r", goodCapture.path])
        #expect(q.stdout.contains("dns.conntrack-race") && alone.stdout.contains("dns.conntrack-race"), "\(q.stdout)")
    }

    /// A capture merged with itself (every packet at both vantage points at the same time,
    /// the second one's first packet a copy of the first one's) names no loss; the same merge
    /// with one packet removed from one copy names exactly that packet, at the copy that has it.
    @Test func aCaptureMergedWithItselfLosesNothing() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let twin = dir.appendingPathComponent("twin.pcapng"), cut = dir.appendingPathComponent("cut.pcapng")
        #expect(try run(["merge", "-w", twin.path, "a=\(dnsTimeout.path)", "b=\(dnsTimeout.path)"]).status == 0)
        let both = try run(["-q", "--json", "-r", twin.path])
        #expect(both.status == 0 && !both.stdout.contains("net.cross-node-loss"), "\(both.stdout)")
        #expect(both.stdout.contains("\"kind\":\"dns.conntrack-race\""), "the diagnosis of one copy: \(both.stdout)")
        // Frame 5 of the capture is the A answer to the re-sent A query.
        let less = dir.appendingPathComponent("less.pcap")
        try #require(try tool("editcap", [dnsTimeout.path, less.path, "5"]).status == 0)
        #expect(try run(["merge", "-w", cut.path, "full=\(dnsTimeout.path)", "cut=\(less.path)"]).status == 0)
        let q = try run(["-q", "-r", cut.path])
        #expect(q.stdout.contains("1 DNS answer seen at full never reached cut"), "\(q.stdout)")
        #expect(q.stdout.contains("frame 9  13:10:39.452173  DNS answer A api.knetcap.test id 64367 at full; never at cut"), "\(q.stdout)")
        #expect(q.stdout.components(separatedBy: "never reached").count == 2, "one loss only: \(q.stdout)")
    }

    /// Bad inputs get -r's messages and statuses; an input cut short ends there, its packets
    /// before the cut and the other inputs merged whole, the file complete.
    @Test func badInputs() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pcapng")
        expectError(try run(["merge", "-w", out.path, dir.appendingPathComponent("absent.pcap").path]), Status.noSuchFile, mentions: ["absent.pcap"])
        expectError(try run(["merge", "-w", goodCapture.path, goodCapture.path]), Status.usage, mentions: ["names the input"])
        expectError(try run(["merge", "-w", out.path]), Status.usage, mentions: ["at least one input"])
        let text = dir.appendingPathComponent("notes.txt")
        try Data(String(repeating: "not a capture\n", count: 10).utf8).write(to: text)
        expectError(try run(["merge", "-w", out.path, text.path]), Status.notACapture, mentions: ["notes.txt"])
        expectError(try run(["merge", "-w", "/nonexistent-dir/out.pcapng", goodCapture.path]), Status.cannotWrite, mentions: ["/nonexistent-dir/out.pcapng"])

        // dnscap-dns.pcap cut in half, inside a record: tshark reads N packets of it.
        let dns = try Data(contentsOf: publicCaptures.appendingPathComponent("dnscap-dns.pcap"))
        let cut = dir.appendingPathComponent("cut.pcap")
        try dns.prefix(dns.count / 2).write(to: cut)
        let t = try tool("tshark", ["-r", cut.path])
        let n = t.stdout.split(separator: "\n").count
        try #require(t.status != 0 && n > 10 && n < 133, "tshark reads part of the cut file: \(t.stderr)")
        let r = try run(["merge", "-w", out.path, goodCapture.path, cut.path])
        expectError(r, Status.readFailed, mentions: ["cut.pcap", "truncated record at byte offset", "its \(n) packets before it",
                                                     "\(n + 7) packets merged into \(out.path)"])
        #expect(try capinfosCount(out) == n + 7, "the packets before the cut and the other input whole")
    }
}

/// Runs knetcap as `kubectl-knetcap` (argv[0], as kubectl runs a plugin found on PATH).
func plugin(_ args: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) throws -> Outcome {
    try run(args, as: ["/bin/bash", "-c", "exec -a kubectl-knetcap \"$0\" \"$@\""], environment: environment, timeout: timeout)
}

/// A program on PATH (pip installs kubernetes-validate into Python's bin directory).
func onPath(_ name: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("kubectl knetcap (many nodes)")
struct KubectlPluginTests {
    /// The issue's example: two Jobs, one per node, valid Kubernetes 1.32 objects
    /// (kubernetes-validate --strict), with what a capture pod needs.
    @Test func dryRunPrintsTwoValidJobs() throws {
        let r = try plugin(["capture", "--node", "a", "--node", "b", "--duration", "30s", "--dry-run", "--", "port", "53"])
        #expect(r.status == 0, "\(r.stderr)")
        let docs = r.stdout.components(separatedBy: "\n---\n")
        #expect(docs.count == 2)
        #expect(docs.allSatisfy { $0.contains("kind: Job") })
        #expect(docs[0].contains("nodeName: a") && docs[1].contains("nodeName: b"))
        for needle in ["backoffLimit: 0", "activeDeadlineSeconds: 330", "ttlSecondsAfterFinished: 600", "hostPID: true",
                       "- operator: Exists", "- NET_RAW", "- NET_ADMIN", "- SYS_ADMIN", "- SYS_PTRACE", "namespace: knetcap-system",
                       "timeout -s INT 30 knetcap -i any -q --json -w /knetcap/a.pcapng -- port 53"] {
            #expect(r.stdout.contains(needle), "\(needle)")
        }
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("jobs.yaml")
        try Data(r.stdout.utf8).write(to: file)
        let validator = try #require(onPath("kubernetes-validate"), "kubernetes-validate is not installed (pip install kubernetes-validate)")
        let v = Process()
        v.executableURL = URL(fileURLWithPath: validator)
        v.arguments = ["--strict", "-k", "1.32.0", file.path]
        let out = Pipe()
        defer { out.closeBothEnds() }
        v.standardOutput = out
        v.standardError = out
        try v.runSerialized()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        v.waitForExit()
        #expect(v.terminationStatus == 0, "\(text)")
        #expect(text.components(separatedBy: "passed for resource job/").count == 3, "\(text)")
    }

    /// `kubectl plugin list` finds the link on PATH; `kubectl knetcap` runs the plugin.
    @Test func kubectlFindsThePlugin() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("kubectl-knetcap").path, withDestinationPath: knetcap.path)
        let env = ["PATH": "\(dir.path):/usr/local/bin:/usr/bin:/bin", "KUBECONFIG": dir.appendingPathComponent("none").path]
        let list = try tool("env", env.map { "\($0.key)=\($0.value)" } + ["kubectl", "plugin", "list"])
        #expect(list.stdout.contains("\(dir.path)/kubectl-knetcap"), "\(list.stdout) \(list.stderr)")
        let help = try tool("env", env.map { "\($0.key)=\($0.value)" } + ["kubectl", "knetcap", "--help"])
        #expect(help.status == 0 && help.stdout.contains("kubectl knetcap capture"), "\(help.stdout) \(help.stderr)")
    }

    /// Bad flags: one line, status 2; nothing to capture named; a bad duration.
    @Test func badFlags() throws {
        let none = try plugin(["capture", "--dry-run"])
        #expect(none.status == 2 && none.stderr.contains("name what to capture"), "\(none.stderr)")
        let d = try plugin(["capture", "--node", "a", "--duration", "soon", "--dry-run"])
        #expect(d.status == 2 && d.stderr.contains("--duration"), "\(d.stderr)")
        let c = try plugin(["frobnicate"])
        #expect(c.status == 2 && c.stderr.contains("unknown command frobnicate"), "\(c.stderr)")
        // An unknown flag is a flag, not filter words; the filter comes after -- only.
        let u = try plugin(["capture", "--node", "a", "--dry-run", "--bogus", "port", "53"])
        #expect(u.status == 2 && u.stderr == "kubectl-knetcap: Unknown option '--bogus' (see kubectl knetcap capture --help)\n", "\(u.stderr)")
        #expect(u.stdout.isEmpty)
        let h = try plugin(["capture", "--help"])
        #expect(h.status == 0 && h.stdout.contains("--all-nodes"), "\(h.stderr)")
        // Names the API server would refuse, and a filter libpcap would, before any Job.
        for (args, says) in [(["--node", "Node_A"], "--node Node_A: not a node name"),
                             (["--node", "a", "--job-namespace", "knetcap.system"], "--job-namespace knetcap.system: not a namespace name"),
                             (["--pod", "web", "-n", "Shop"], "-n Shop: not a namespace name"),
                             (["--node", "a", "--image", "knetcap latest"], "--image 'knetcap latest': not an image reference"),
                             (["--node", "a", "--", "port", "99999"], "capture filter \"port 99999\": illegal port number 99999 > 65535")] {
            let r = try plugin(["capture", "--dry-run"] + args)
            #expect(r.status == 2 && r.stderr.hasPrefix("kubectl-knetcap: \(says)") && r.stdout.isEmpty, "\(args): \(r.stderr)")
        }
        // -w checked before any kubectl runs (there is no cluster here).
        let w = try plugin(["capture", "--node", "a", "-w", "/nonexistent-dir/x.pcapng"])
        #expect(w.status == 8 && w.stderr == "kubectl-knetcap: cannot write /nonexistent-dir/x.pcapng: No such file or directory\n", "\(w.stderr)")
        let filtered = try plugin(["capture", "--node", "a", "--dry-run", "--", "udp", "port", "53"])
        #expect(filtered.status == 0 && filtered.stdout.contains("udp port 53"), "\(filtered.stderr)")
    }
}

/// Tests/KubeAPI/fake_apiserver.py on a free port with a copy of its fixtures, and a
/// kubeconfig pointing at it: the real kubectl talks to it as to an API server.
final class FakeCluster {
    let dir: URL
    let fixtures: URL
    let kubeconfig: URL
    let requests: URL
    let server = Process()

    /// `logs[node]`: the capture pod's log lines on that node (default: the real diagnosis
    /// of Captures/dns-timeout-glibc.pcap as `knetcap -q --json` prints it, then the line
    /// that says the file is complete).
    init(logs: [String: [String]] = [:], namespaces extra: [[String: Any]] = []) throws {
        dir = try makeTempDir()
        fixtures = dir.appendingPathComponent("fixtures")
        try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("Tests/KubeAPI/fixtures"), to: fixtures)
        let diagnosis = try run(["-q", "--json", "-r", goodCapture.path]).stdout.split(separator: "\n").map(String.init)
        for node in ["node-a", "node-b"] {
            let lines = logs[node] ?? (diagnosis + [#"{"knetcap_job":{"node":"\#(node)","file":"/knetcap/\#(node).pcapng","status":0}}"#])
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: fixtures.appendingPathComponent("logs/\(node).log"))
        }
        if !extra.isEmpty {
            let url = fixtures.appendingPathComponent("namespaces.json")
            var list = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            list["items"] = (list["items"] as? [[String: Any]] ?? []) + extra
            try JSONSerialization.data(withJSONObject: list).write(to: url)
        }
        requests = dir.appendingPathComponent("requests.jsonl")
        let portFile = dir.appendingPathComponent("port")
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [repoRoot.appendingPathComponent("Tests/KubeAPI/fake_apiserver.py").path, "--fixtures", fixtures.path,
                            "--port", "0", "--port-file", portFile.path, "--requests", requests.path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.runSerialized()
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            port = (try? String(contentsOf: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if port.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        }
        try #require(!port.isEmpty, "the fake API server did not start")
        kubeconfig = dir.appendingPathComponent("kubeconfig")
        try Data("""
            apiVersion: v1
            kind: Config
            clusters: [{name: fake, cluster: {server: "http://127.0.0.1:\(port)"}}]
            users: [{name: fake, user: {}}]
            contexts: [{name: fake, context: {cluster: fake, user: fake}}]
            current-context: fake
            """.utf8).write(to: kubeconfig)
    }

    deinit {
        // SIGKILL: a log stream the server still follows must not keep the test waiting.
        if server.isRunning { kill(server.processIdentifier, SIGKILL); server.waitForExit() }
        try? FileManager.default.removeItem(at: dir)
    }

    /// The requests the server saw, in order.
    var log: [[String: Any]] {
        ((try? String(contentsOf: requests, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
    func requests(_ method: String, _ pathSuffix: String) -> [[String: Any]] {
        log.filter { $0["method"] as? String == method && ($0["path"] as? String ?? "").hasSuffix(pathSuffix) }
    }
    var environment: [String: String] { ["KUBECACHEDIR": dir.appendingPathComponent("cache").path, "HOME": dir.path] }
}

@Suite("kubectl knetcap against a recorded-shape API server", .serialized)
struct KubectlPluginClusterTests {
    /// The whole cycle through the real kubectl: the client pod resolved to node-a, node-b by
    /// name; namespace created labelled privileged; two Jobs created (their bodies asserted);
    /// the finding shown with its node as the log streams; both captures copied back byte for
    /// byte; merged; every Job deleted.
    @Test func captureLogsCopyCleanup() throws {
        let c = try FakeCluster()
        let out = c.dir.appendingPathComponent("out"), merged = c.dir.appendingPathComponent("all.pcapng")
        let r = try plugin(["capture", "--kubeconfig", c.kubeconfig.path, "-n", "default", "-l", "app=client", "--node", "node-b",
                            "--duration", "5s", "--output-dir", out.path, "-w", merged.path, "--", "port", "53"],
                           environment: c.environment, timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("node-a: [critical] dns.conntrack-race: 10.53.0.2:43135 -> 10.53.0.1:53"), "\(r.stdout)")
        #expect(r.stdout.contains("node-b: [critical] dns.conntrack-race"), "\(r.stdout)")
        #expect(r.stderr.contains("created namespace knetcap-system"), "\(r.stderr)")
        for node in ["node-a", "node-b"] {
            let got = try Data(contentsOf: out.appendingPathComponent("\(node).pcapng"))
            #expect(got == (try Data(contentsOf: c.fixtures.appendingPathComponent("captures/\(node).pcapng"))), "\(node)'s capture copied as it was")
        }
        #expect(try capinfosCount(merged) == 8)
        let names = try tool("tshark", ["-r", merged.path, "-T", "fields", "-e", "frame.interface_name"])
        #expect(Set(names.stdout.split(separator: "\n").map { $0.split(separator: "/").first.map(String.init) ?? "" }) == ["node-a", "node-b"])

        // What kubectl sent: the namespace with its Pod Security labels, one Job per node.
        let nsPost = c.requests("POST", "/api/v1/namespaces").first
        let ns = try #require(nsPost?["body"] as? [String: Any])
        #expect(((ns["metadata"] as? [String: Any])?["labels"] as? [String: String])?["pod-security.kubernetes.io/enforce"] == "privileged")
        let posts = c.requests("POST", "/namespaces/knetcap-system/jobs").compactMap { $0["body"] as? [String: Any] }
        #expect(posts.count == 2)
        let specs = posts.compactMap { (($0["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] }
        #expect(specs.compactMap { $0["nodeName"] as? String }.sorted() == ["node-a", "node-b"])
        for s in specs {
            #expect(s["hostPID"] as? Bool == true && s["restartPolicy"] as? String == "Never")
            let ctr = try #require((s["containers"] as? [[String: Any]])?.first)
            let caps = ((ctr["securityContext"] as? [String: Any])?["capabilities"] as? [String: Any])?["add"] as? [String]
            #expect(caps == ["NET_RAW", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"])
            let script = (ctr["command"] as? [String])?.last ?? ""
            if s["nodeName"] as? String == "node-a" {
                #expect(script.contains("knetcap --container b1491e67bf3ba6b6fb514711f7aa2b320fdb2a22b8114a8fbc77cd4869af7460 -i any"), "\(script)")
            } else {
                #expect(script.contains("knetcap -i any -q --json -w /knetcap/node-b.pcapng -- port 53"), "\(script)")
            }
        }
        for p in posts { #expect((p["spec"] as? [String: Any])?["backoffLimit"] as? Int == 0) }
        // Copied through exec (kubectl cp), then every Job deleted: none left.
        #expect(c.requests("GET", "/exec").count == 2)
        let firstJob = (posts.first?["metadata"] as? [String: Any])?["name"] as? String ?? "?"
        let deletes = c.requests("DELETE", "/jobs/" + firstJob)
        #expect(!deletes.isEmpty, "no DELETE of \(firstJob)")
        let left = try tool("env", c.environment.map { "\($0.key)=\($0.value)" } + ["kubectl", "--kubeconfig", c.kubeconfig.path, "get", "jobs", "-n", "knetcap-system", "-o", "name"])
        #expect(left.status == 0 && left.stdout.isEmpty, "jobs left: \(left.stdout) \(left.stderr)")
    }

    /// The Jobs' namespace enforcing `baseline`: nothing created, exit 32, the exact fix.
    @Test func podSecurityLevelRefusesWithTheFix() throws {
        let c = try FakeCluster(namespaces: [[
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": ["name": "knetcap-system", "uid": "5f0c2a61-2d3e-4b8a-9c71-0e6d5b4a3c21", "resourceVersion": "4600",
                         "creationTimestamp": "2025-05-12T09:00:00Z",
                         "labels": ["kubernetes.io/metadata.name": "knetcap-system", "pod-security.kubernetes.io/enforce": "baseline"]],
            "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
        ]])
        let r = try plugin(["capture", "--kubeconfig", c.kubeconfig.path, "--node", "node-a", "--duration", "5s"], environment: c.environment)
        #expect(r.status == 32, "\(r.stderr)")
        #expect(r.stderr.contains("kubectl --kubeconfig \(c.kubeconfig.path) label --overwrite namespace knetcap-system pod-security.kubernetes.io/enforce=privileged"), "\(r.stderr)")
        #expect(c.requests("POST", "/jobs").isEmpty)
    }

    /// SIGTERM while the capture runs (the pod's log never says it is done): the Jobs are
    /// deleted before the plugin exits.
    @Test func sigtermDeletesTheJobs() throws {
        let c = try FakeCluster(logs: ["node-a": ["knetcap: listening on any"], "node-b": ["knetcap: listening on any"]])
        let r = try run(["capture", "--kubeconfig", c.kubeconfig.path, "--node", "node-a", "--node", "node-b", "--duration", "60s",
                         "--output-dir", c.dir.appendingPathComponent("out").path],
                        as: ["/bin/bash", "-c", "exec -a kubectl-knetcap \"$0\" \"$@\""], environment: c.environment, timeout: 60,
                        whileRunning: { p in
                            let deadline = Date().addingTimeInterval(30)
                            while Date() < deadline && c.requests("GET", "/log").count < 2 { Thread.sleep(forTimeInterval: 0.1) }
                            kill(p.processIdentifier, SIGTERM)
                        })
        #expect(r.status == 128 + SIGTERM, "\(r.stderr)")
        #expect(r.stderr.contains("deleting the capture Jobs"), "\(r.stderr)")
        #expect(c.requests("DELETE", "").contains { ($0["path"] as? String ?? "").contains("/jobs/") }, "no Job DELETE")
        let left = try tool("env", c.environment.map { "\($0.key)=\($0.value)" } + ["kubectl", "--kubeconfig", c.kubeconfig.path, "get", "jobs", "-n", "knetcap-system", "-o", "name"])
        #expect(left.stdout.isEmpty, "jobs left: \(left.stdout)")
    }
}
