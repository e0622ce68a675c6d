import Foundation
import Testing


/// DNS over TCP reassembled as tshark does (RFC 7766 §8), on a real-kernel recording
/// (Captures/dns-tcp-segmented.pcap: a length prefix alone, a message cut after its 10th
/// byte, two messages in one segment) and on copies of it that editcap and mergecap reorder
/// and duplicate: `-T fields` equals tshark's byte for byte.
@Suite("DNS over TCP reassembly (tshark agreement)")
struct DNSOverTCPTests {
    static let capture = repoRoot.appendingPathComponent("Captures/dns-tcp-segmented.pcap")
    static let fields = ["frame.number", "tcp.len", "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type",
                        "dns.count.answers", "dns.a", "dns.aaaa"].flatMap { ["-e", $0] }

    /// knetcap's and tshark's `-T fields` for `file` (tshark with `options`).
    func compare(_ file: URL, tsharkOptions: [String] = []) throws -> String {
        let ours = try run(["-r", file.path, "-T", "fields"] + Self.fields)
        #expect(ours.status == 0, "stderr: \(ours.stderr)")
        let theirs = try tool("tshark", tsharkOptions + ["-r", file.path, "-T", "fields"] + Self.fields)
        #expect(theirs.status == 0)
        #expect(ours.stdout == theirs.stdout, "\(file.lastPathComponent): knetcap\n\(ours.stdout)\ntshark\n\(theirs.stdout)")
        return ours.stdout
    }

    /// The recording as the kernel wrote it: four queries and four answers, one segment with two.
    @Test func recordingAgreesWithTshark() throws {
        let out = try compare(Self.capture)
        let ids = out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false)[2] }.filter { !$0.isEmpty }
        #expect(ids.contains("0x7003,0x7004"), "\(ids)")
        #expect(ids.joined(separator: ",").split(separator: ",").count == 8)
    }

    /// The frame numbers of the client's segments carrying query 0x7002's two pieces.
    func splitQueryFrames() throws -> (first: Int, second: Int) {
        let t = try tool("tshark", ["-r", Self.capture.path, "-T", "fields", "-e", "frame.number", "-e", "tcp.len", "-e", "dns.id", "-e", "tcp.dstport"])
        let rows = t.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let second = try #require(rows.first { $0[2] == "0x7002" && $0[3] == "53" })
        let n = try #require(Int(second[0]))
        let first = try #require(rows.last { (Int($0[0]) ?? 0) < n && $0[3] == "53" && $0[1] == "12" })
        return (try #require(Int(first[0])), n)
    }

    /// `frames` of the recording in this order (editcap -r picks, mergecap -a concatenates).
    func reordered(_ ranges: [String], in dir: URL, name: String) throws -> URL {
        var parts: [String] = []
        for (i, r) in ranges.enumerated() {
            let part = dir.appendingPathComponent("\(name)-\(i).pcap")
            #expect(try tool("editcap", ["-r", Self.capture.path, part.path, r]).status == 0)
            parts.append(part.path)
        }
        let out = dir.appendingPathComponent("\(name).pcap")
        #expect(try tool("mergecap", ["-a", "-F", "pcap", "-w", out.path] + parts).status == 0)
        return out
    }

    /// The second piece of a split message arrives before the first: held until the gap fills,
    /// then the message is on the frame that fills it (tshark with out-of-order reassembly on).
    /// Both messages of the segment that carries two are queries of their own for the
    /// diagnosis and --stats: four queries, four answered (the second was missed).
    @Test func everyMessageOfASegmentIsDiagnosed() throws {
        let r = try run(["-q", "--stats", "--json", "-r", Self.capture.path])
        #expect(r.status == 0)
        let summary = try #require(r.stdout.split(separator: "\n").last.map(String.init))
        #expect(summary.contains("\"dns_servers\":[{\"answered\":4,"), "\(summary)")
        #expect(summary.contains("\"queries\":4,") && summary.contains("\"timeouts\":0,"))
        #expect(summary.contains("\"findings\":{}"))
    }

    @Test func outOfOrderSegmentsAgreeWithTshark() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (a, b) = try splitQueryFrames()
        #expect(b > a)
        let file = try reordered(["1-\(a - 1)", "\(b)", "\(a)-\(b - 1)", "\(b + 1)-1000"], in: dir, name: "ooo")
        let out = try compare(file, tsharkOptions: ["-o", "tcp.reassemble_out_of_order:TRUE"])
        #expect(out.contains("0x7002"))
    }

    /// A segment retransmitted (the first piece of the split message twice): its bytes are
    /// taken once, the message still completes on the second piece.
    @Test func retransmittedSegmentAgreesWithTshark() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (a, _) = try splitQueryFrames()
        let file = try reordered(["1-\(a)", "\(a)", "\(a + 1)-1000"], in: dir, name: "dup")
        let out = try compare(file)
        let rows = out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.filter { $0[2] == "0x7002" && $0[3] == "0" }.count == 1, "the query once: \(out)")
        #expect(rows.filter { $0[2] == "0x7002" && $0[3] == "1" }.count == 1, "its answer once: \(out)")
    }
}
