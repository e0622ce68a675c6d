import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapCapture
import KnetcapTestSupport

/// Per-packet agreement with tshark 4.0's reference decodes (`FILE.tshark.tsv` in
/// `Tests/Captures/public`, see its MANIFEST.md): addresses, ports, TCP flags, DNS id,
/// response flag, qname, qtype, rcode and answer count.
///
/// Every known difference is listed in `knownDifferences` with its reason; anything else fails.
@Suite struct TsharkAgreementTests {
    /// (file, frame, field) → why knetcap differs from tshark on purpose.
    static let knownDifferences: [String: String] = [:]

    static func differenceReason(_ file: String, _ frame: Int, _ field: String) -> String? {
        let group = field.split(separator: ".").first.map(String.init) ?? field
        return knownDifferences["\(file)#\(frame)#\(field)"] ?? knownDifferences["\(file)#*#\(group)"]
            ?? knownDifferences["\(file)#\(frame)#\(group)"]
    }

    /// knetcap's values for the TSV columns, formatted as tshark's `-T fields` does.
    static func values(_ p: Packet) -> [String: String] {
        var v: [String: String] = [:]
        if let ip = p.ipv4 { v["ip.src"] = ip.source.description; v["ip.dst"] = ip.destination.description }
        if let ip = p.ipv6 { v["ipv6.src"] = ip.source.description; v["ipv6.dst"] = ip.destination.description }
        if let t = p.tcp {
            v["tcp.srcport"] = String(t.sourcePort); v["tcp.dstport"] = String(t.destinationPort)
            let h = String(t.flags.rawValue & 0x0fff, radix: 16)
            v["tcp.flags"] = "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
        if let u = p.udp { v["udp.srcport"] = String(u.sourcePort); v["udp.dstport"] = String(u.destinationPort) }
        // Every DNS message of the frame (a TCP segment may complete several), comma-joined as
        // tshark's -T fields joins occurrences.
        var dnsValues: [String: [String]] = [:]
        for d in (p.dns.map { [$0] } ?? []) + p.moreDNS {
            let h = String(d.id, radix: 16)
            dnsValues["dns.id", default: []].append("0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h)
            dnsValues["dns.flags.response", default: []].append(d.isResponse ? "1" : "0")
            if let q = d.firstQuestion {
                dnsValues["dns.qry.name", default: []].append(d.name(at: q.nameOffset) ?? "?")
                dnsValues["dns.qry.type", default: []].append(String(q.type.rawValue))
            }
            if d.isResponse { dnsValues["dns.flags.rcode", default: []].append(String(d.rcode.rawValue)) }
            dnsValues["dns.count.answers", default: []].append(String(d.answerCount))
        }
        for (k, vs) in dnsValues { v[k] = vs.joined(separator: ",") }
        return v
    }

    static var tsvFiles: [URL] {
        Fixtures.captures(in: Fixtures.publicCaptures).filter {
            FileManager.default.fileExists(atPath: $0.path + ".tshark.tsv")
        }
    }

    @Test("tshark reference decodes exist") func referencesExist() {
        Fixtures.expectCaptures(in: [Fixtures.publicCaptures])
        #expect(Self.tsvFiles.count >= 23, "expected 23 captures with a .tshark.tsv in \(Fixtures.publicCaptures.path)")
    }

    @Test(arguments: tsvFiles)
    func agreesWithTshark(_ capture: URL) throws {
        let name = capture.lastPathComponent
        let tsv = try String(contentsOf: URL(fileURLWithPath: capture.path + ".tshark.tsv"), encoding: .utf8)
        var rows = tsv.split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = rows.removeFirst()
        var ours: [Int: [String: String]] = [:]
        let opened: Bool
        do {
            let (_, end) = try readCapture(capture) { p, _ in ours[p.number] = Self.values(p) }
            if case .failed(let msg) = end {
                // libpcap stops at a classic pcap record cut short at the end of the file; the
                // packets before it still compare. (pcapng goes through libwiretap: read whole.)
                #expect(msg.contains("truncated dump file"), "\(name): \(msg)")
                rows = rows.filter { Int($0[0]).map { ours[$0] != nil } ?? false }
            }
            if case .badInput(let e) = end { Issue.record("\(name): \(e.message)") }
            opened = true
        } catch let e as CaptureError {
            // Every file tshark decodes opens (libwiretap reads what tshark reads).
            Issue.record("\(name): \(e.message)")
            return
        }
        #expect(opened)
        #expect(ours.count == rows.count, "\(name): knetcap read \(ours.count) packets, tshark \(rows.count)")
        var checked = 0
        for row in rows {
            guard let frame = Int(row[0]), let mine = ours[frame] else { continue }
            for (i, field) in header.enumerated() where i >= 2 && i < row.count {
                let theirsRaw = row[i]
                // Multi-valued columns are comma-joined by tshark: DNS fields compare whole (one
                // value per message); others (ICMP-quoted headers) by the outer / first value.
                let theirs = field.hasPrefix("dns.")
                    ? theirsRaw : String(theirsRaw.split(separator: ",", omittingEmptySubsequences: false).first ?? "")
                let mineV = mine[field] ?? ""
                if theirs == mineV { checked += 1; continue }
                if Self.differenceReason(name, frame, field) != nil { continue }
                Issue.record("\(name) frame \(frame) \(field): tshark \"\(theirsRaw)\", knetcap \"\(mineV)\"")
            }
        }
        #expect(checked > 0 || ours.isEmpty, "\(name): nothing compared")
    }
}
