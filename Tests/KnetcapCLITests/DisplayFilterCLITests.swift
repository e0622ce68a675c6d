// `-Y` end to end: what is printed, what -w writes, JSON, -c, --fields, and the error contract
// for a display filter that does not compile (status 11, the error line and a caret line).

import Foundation
import Testing

let badDisplayFilterStatus: Int32 = 11  // Exit.badDisplayFilter
let wikipedia = publicCaptures.appendingPathComponent("zeek-wikipedia.pcap")

@Suite("knetcap -Y")
struct DisplayFilterCLITests {
    @Test func selectsPrintedPacketsAndDiagnosisSeesAll() throws {
        let r = try run(["-r", wikipedia.path, "--number", "-Y", "http.request.uri == \"/skins-1.5/monobook/main.css\""])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").filter { $0.contains(" IP ") }
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("   12  ") == true, "frame 12: \(lines)")
        #expect(lines.first?.hasSuffix("length 525: HTTP: GET /skins-1.5/monobook/main.css HTTP/1.1") == true)
        #expect(r.stdout.contains("in 136 packets"), "the diagnosis saw every packet: \(r.stdout)")
        // The same line as without -Y (relative sequence numbers learnt from hidden packets).
        let all = try run(["-r", wikipedia.path, "--number"])
        if let line = lines.first { #expect(all.stdout.split(separator: "\n").contains(line)) }
    }

    @Test func writesOnlyMatchingPackets() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("http.pcap")
        let r = try run(["-r", wikipedia.path, "-w", out.path, "-Y", "tcp contains \"GET\""])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let back = try run(["-r", out.path, "-t"])
        #expect(packetLinesAnyTime(back.stdout).count == 15)
        #expect(packetLinesAnyTime(back.stdout).allSatisfy { $0.contains(": HTTP: GET ") })
    }

    @Test func countIsPacketsRead() throws {
        // tshark -c counts packets read: the first HTTP packets are frames 6 and 7.
        let r = try run(["-r", wikipedia.path, "-c", "7", "--number", "-Y", "http"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").filter { $0.contains(" IP ") }.map { $0.prefix(7) } == ["    6  ", "    7  "])
    }

    @Test func jsonCarriesHTTPAndStreamFields() throws {
        let r = try run(["--json", "-r", wikipedia.path, "-Y", "http.response.code == 304 && tcp.stream == 1"])
        #expect(r.status == 0)
        let packets = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["frame.number"] != nil }
        #expect(packets.map { $0["frame.number"] as? Int } == [14])
        #expect(packets.first?["http.response.code"] as? Int == 304)
        #expect(packets.first?["http.response.phrase"] as? String == "Not Modified")
        #expect(packets.first?["tcp.stream"] as? Int == 1)
        #expect(r.stdout.contains("\"packets\":136"), "the summary counts every packet")
    }

    @Test func badFilterIsStatus11WithACaret() throws {
        let r = try run(["-r", wikipedia.path, "-Y", "ip.addr == 10.0.0.0/8 && dns.qry.nme contains \"cluster\""])
        #expect(r.status == badDisplayFilterStatus)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "knetcap: -Y ip.addr == 10.0.0.0/8 && dns.qry.nme contains \"cluster\": unknown field \"dns.qry.nme\" "
            + "(did you mean \"dns.qry.name\"?); knetcap --fields lists them\n"
            + String(repeating: " ", count: "knetcap: -Y ip.addr == 10.0.0.0/8 && ".count) + "^~~~~~~~~~~\n")
        // Checked before the file is opened.
        let missing = try run(["-r", "/nonexistent.pcap", "-Y", "tcp.port == \"80\""])
        #expect(missing.status == badDisplayFilterStatus)
        #expect(missing.stderr.hasPrefix("knetcap: -Y tcp.port == \"80\": tcp.port is an unsigned integer, not a string"))
    }

    @Test func fieldsListsTypesAndExits0() throws {
        let r = try run(["--fields"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("FIELD") == true)
        #expect(lines.contains { $0.hasPrefix("http.request.uri ") && $0.contains("character string") })
        #expect(lines.contains { $0.hasPrefix("ip.addr ") && $0.contains("IPv4 address") && $0.contains("(may repeat)") })
        #expect(lines.count > 100)
    }

    @Test func helpExplainsY() throws {
        let r = try run(["--help"])
        #expect(r.stdout.contains("-Y <EXPR>"))
        #expect(r.stdout.contains("never hides a fault's evidence"))
    }
}

/// Packet lines in any timestamp style (here `-t`: none).
func packetLinesAnyTime(_ stdout: String) -> [Substring] {
    stdout.split(separator: "\n").filter { $0.hasPrefix("IP ") || $0.hasPrefix("IP6 ") }
}
