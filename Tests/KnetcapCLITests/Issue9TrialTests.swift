// Issue 9's new-user trial: --html and -w never overwrite the -r input (nor --html the -w
// file), `knetcap diff -` reads standard input, diff refuses a cut or corrupt --json output
// naming the line, diff's messages are -r's, --stats' REL START counts from the capture's first
// packet, DNS on port 1053 is in the statistics, and -r interrupted by SIGINT says so.

import Foundation
import Testing

let port1053Capture = shippedCaptures.appendingPathComponent("dns-port-1053.pcap")
let backlogCapture = shippedCaptures.appendingPathComponent("tcp-syn-backlog-drop.pcap")

@Suite("issue 9 trial: --html, diff, --stats, SIGINT")
struct Issue9TrialTests {
    // MARK: 4, 5. --stats: REL START from the capture's first packet; DNS on port 1053

    @Test func statsRelativeStartCountsFromTheCapturesFirstPacket() throws {
        // tshark -q -z conv,udp: 10.77.0.2:55272 <-> 10.77.0.3:1053 starts 2.012995337 s after frame 1.
        let r = try run(["-q", "--stats", "-r", port1053Capture.path])
        #expect(r.status == 0)
        #expect(tableRow(r.stdout, "UDP", "10.77.0.2:38629") == ["UDP", "10.77.0.2:38629", "10.77.0.3:1053", "3", "244", "0.000000", "2.012625"])
        #expect(tableRow(r.stdout, "UDP", "10.77.0.2:55272") == ["UDP", "10.77.0.2:55272", "10.77.0.3:1053", "2", "180", "2.012995", "0.000054"])
        // The backlog capture's first TCP conversation starts 0.941242425 s in (tshark -z conv,tcp).
        let b = try run(["-q", "--stats", "-r", backlogCapture.path])
        #expect(tableRow(b.stdout, "TCP", "10.77.0.2:48212")?[5] == "0.941242")
    }

    @Test func statsFollowDNSOnPort1053() throws {
        let r = try run(["-q", "--stats", "-r", port1053Capture.path])
        // queries answered nxdomain servfail timeouts retried p50 p90 p99 max: the A query was
        // sent at 0, again at 2.012 s, answered at 2.012625 s; AAAA answered in 54 µs.
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "A") == ["10.77.0.3:1053", "A", "1", "1", "0", "0", "0", "1", "2.013", "s", "2.013", "s", "2.013", "s", "2.013", "s"])
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "AAAA") == ["10.77.0.3:1053", "AAAA", "1", "1", "0", "0", "0", "0", "0.054", "ms", "0.054", "ms", "0.054", "ms", "0.054", "ms"])
        #expect(tableRow(r.stdout, "10.77.0.3:1053", "all")?[2...7] == ["2", "2", "0", "0", "0", "1"])
        // diff compares it too.
        let d = try run(["diff", port1053Capture.path, port1053Capture.path])
        #expect(tableRow(d.stdout, "10.77.0.3:1053", "2")?.joined(separator: " ") == "10.77.0.3:1053 2 -> 2 0 -> 0 0.054 ms -> 0.054 ms 2.013 s -> 2.013 s 2.013 s -> 2.013 s 2.013 s -> 2.013 s")
    }

}
