// --json packet lines (issue 11's streaming JSON writer): every line parses with a real JSON
// parser (Foundation's JSONSerialization), and the fields it shares with tshark have tshark's
// values, frame by frame, on every recorded and public capture.

import Foundation
import Testing

@Suite("--json packets against tshark")
struct JSONAgreementTests {
    /// Scalar fields compared (the packet's own occurrence: tshark -E occurrence=l, as --json
    /// keeps the last of a field that is not repeated). dns.id is hex in tshark's fields.
    static let fields = ["frame.number", "frame.len", "frame.cap_len", "frame.time_epoch", "ip.src", "ip.dst", "ip.ttl", "ip.id",
                         "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.len",
                         "dns.id", "dns.count.answers", "dns.flags.response", "icmp.type", "icmpv6.type"]

    static var captures: [URL] {
        let fm = FileManager.default
        let dirs = [repoRoot.appendingPathComponent("Captures"), publicCaptures]
        return dirs.flatMap { d in
            ((try? fm.contentsOfDirectory(atPath: d.path)) ?? []).filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { d.appendingPathComponent($0) }
        } + [repoRoot.appendingPathComponent("Tests/Captures/crafted/icmp-quotes.pcap")]  // ICMP errors quoting DNS queries
    }

    @Test func everyCaptureIsThere() {
        #expect(Self.captures.count >= 30, "\(Self.captures.count) captures")
    }

    @Test(arguments: captures)
    func packetLinesAgree(_ capture: URL) throws {
        let r = try run(["--json", "-r", capture.path])
        let t = try tool("tshark", ["-n", "-r", capture.path, "-T", "fields", "-E", "occurrence=l"] + Self.fields.flatMap { ["-e", $0] })
        // A file neither reads (not a capture): nothing to compare. One cut short: the frames
        // both read before the cut are compared.
        if r.status == 4 { #expect(t.status != 0 && t.stdout.isEmpty, "\(capture.lastPathComponent): tshark reads what knetcap refused"); return }
        try #require([0, 9, 10].contains(r.status), "\(capture.lastPathComponent): \(r.stderr)")
        var objects: [[String: Any]] = []
        for line in r.stdout.split(separator: "\n") {
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let o else { Issue.record("\(capture.lastPathComponent): not a JSON object: \(line.prefix(200))"); continue }
            if o["frame.number"] != nil { objects.append(o) }
        }
        let rows = t.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        let byFrame = Dictionary(rows.compactMap { row in Int(row[0]).map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
        #expect(objects.count == rows.count, "\(capture.lastPathComponent): \(objects.count) packet lines, tshark \(rows.count) frames")
        if rows.isEmpty { return }  // damaged before its first packet, for both
        var compared = 0
        for o in objects {
            guard let n = o["frame.number"] as? Int, let row = byFrame[n] else {
                Issue.record("\(capture.lastPathComponent): frame \(o["frame.number"] ?? "?") not in tshark's output"); continue
            }
            // An ICMP error quotes the datagram it answers: tshark dissects the quoted IP/UDP/TCP
            // headers as further occurrences, the last (-E occurrence=l) as --json writes it;
            // there every value tshark has must be there.
            let icmpError = ["3", "4", "5", "11", "12"].contains(row[Self.fields.firstIndex(of: "icmp.type")!])
                || ["1", "2", "3", "4"].contains(row[Self.fields.firstIndex(of: "icmpv6.type")!])
            for (i, name) in Self.fields.enumerated() where i < row.count {
                guard let mine = o[name] else {  // a field knetcap has not for this frame
                    #expect(!icmpError || row[i].isEmpty, "\(capture.lastPathComponent) frame \(n) \(name): not in --json, tshark \(row[i])")
                    continue
                }
                // libpcap 1.10 (which reads classic pcap for knetcap) cuts a record's caplen to the
                // file header's snaplen (1 here, the record says 8); libwiretap keeps 8.
                if name == "frame.cap_len" && capture.lastPathComponent == "zeek-trunc-trunc-hdr.pcap" { continue }
                let theirs = row[i]
                let same: Bool
                switch mine {
                case let b as Bool where name.hasPrefix("dns.flags"): same = theirs == (b ? "True" : "False") || theirs == (b ? "1" : "0")
                case let s as String: same = s == theirs
                case let d as NSNumber where name == "frame.time_epoch": same = abs(d.doubleValue - (Double(theirs) ?? .nan)) < 1e-6
                case let d as NSNumber where name == "dns.id" || name == "ip.id": same = theirs == "0x" + String(d.intValue, radix: 16).leftPadded(4)
                case let d as NSNumber: same = String(d.int64Value) == theirs
                default: same = false
                }
                #expect(same, "\(capture.lastPathComponent) frame \(n) \(name): --json \(mine), tshark \(theirs)")
                compared += 1
            }
        }
        #expect(compared > 0)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
