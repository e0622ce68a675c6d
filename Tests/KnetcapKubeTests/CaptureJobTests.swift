import Testing
@testable import KnetcapKube

@Suite("capture Jobs")
struct CaptureJobTests {
    let pods = [
        PodTarget(namespace: "default", name: "client-7d9f", node: "node-a", containerID: "0123abcd", hostNetwork: false),
        PodTarget(namespace: "default", name: "web-1", node: "node-a", containerID: "4567ef01", hostNetwork: false),
    ]

    /// Two pods on one node: one knetcap for both pod network namespaces (crictl through the
    /// mounted CRI socket), one handle and one pcapng interface per pod.
    @Test func twoPodsOneNode() throws {
        var s = JobSettings()
        s.runID = "abc12"; s.durationSeconds = 45; s.filter = ["port", "53"]
        let job = CaptureJob(plan: NodePlan(node: "node-a", pods: pods), settings: s)
        #expect(job.name == "knetcap-abc12-node-a")
        #expect(job.outputPath == "/knetcap/node-a.pcapng")
        let yaml = try yamlDocuments([job.manifest])
        #expect(!yaml.contains("knetcap merge"), "one process, no merge: \(yaml)")
        #expect(yaml.components(separatedBy: "timeout -s INT").count == 2, "one knetcap: \(yaml)")
        for needle in ["timeout -s INT 45 knetcap --container 0123abcd --container 4567ef01 -i any -q --json -w /knetcap/node-a.pcapng -- port 53 || status=$?",
                       "path: /run/containerd/containerd.sock", "type: Socket", "value: unix:///run/containerd/containerd.sock",
                       "knetcap.io/run: abc12", "activeDeadlineSeconds: 345"] {
            #expect(yaml.contains(needle), "\(needle)\n\(yaml)")
        }
    }

    /// A hostNetwork pod is its node's namespace: captured as the node, no CRI socket.
    @Test func hostNetworkPodIsTheNode() throws {
        var s = JobSettings()
        s.runID = "abc12"
        let p = PodTarget(namespace: "kube-system", name: "kube-proxy-x", node: "n1", containerID: "99", hostNetwork: true)
        let yaml = try yamlDocuments([CaptureJob(plan: NodePlan(node: "n1", pods: [p]), settings: s).manifest])
        #expect(yaml.contains("knetcap -i any -q --json -w /knetcap/n1.pcapng"))
        #expect(!yaml.contains("containerd.sock") && !yaml.contains("--container"))
    }

    /// Names from node names kubectl accepts but labels do not: at most 63 characters, a
    /// DNS-1123 label; a filter word with shell characters quoted.
    @Test func namesAndQuoting() throws {
        let long = String(repeating: "ip-10-0-0-1.eu-west-1.compute.internal.", count: 3)
        let name = CaptureJob.jobName(run: "abc12", node: long)
        #expect(name.count <= 63 && name.hasPrefix("knetcap-abc12-ip-10-0-0-1-eu-west-1"), "\(name)")
        #expect(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && name.last != "-")
        #expect(CaptureJob.labelValue("node-a") == "node-a")
        #expect(CaptureJob.labelValue(long).hasPrefix("h") && CaptureJob.labelValue(long).count <= 9)
        #expect(shellQuoted("host 10.0.0.1 and (port 53)") == "'host 10.0.0.1 and (port 53)'")
        #expect(shellQuoted("it's") == "'it'\\''s'")
    }
}
