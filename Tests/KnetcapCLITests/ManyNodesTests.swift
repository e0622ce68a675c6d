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
        v.standardOutput = out
        v.standardError = out
        try v.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        v.waitUntilExit()
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
    }
}
