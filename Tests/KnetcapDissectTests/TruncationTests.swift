import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import KnetcapCapture
import KnetcapTestSupport

/// Every packet of every capture, cut at every offset (tcpdump `-s`, Wireshark's three bounds
/// errors): dissection, the packet line, the JSON fields and the diagnosis run without a trap,
/// and a cut packet is marked truncated, never read as a fault.
@Suite struct TruncationTests {
    struct Collector {
        var n = 0
        mutating func visit(_ d: FieldDescriptor, _ value: FieldValue) { n += 1 }
    }

    /// Dissects `bytes[0..<cut]` of one frame and exercises every consumer of the result.
    static func exercise(_ frame: [UInt8], cut: Int, link: LinkType, printer: inout PacketLinePrinter,
                         diagnosis: inout Diagnosis, number: Int) -> Packet.Summary {
        frame.withUnsafeBytes { raw in
            let view = ByteView(UnsafeRawBufferPointer(rebasing: raw[0..<cut]))
            let p = Dissector(linkType: link).dissect(view, number: number, timestamp: Timestamp(seconds: 1_700_000_000 + Int64(number), nanoseconds: 0),
                                                       originalLength: frame.count)
            var out = TextBuffer()
            printer.write(p, to: &out)
            var c = Collector()
            p.forEachJSONField { c.visit($0, $1) }
            diagnosis.observe(p)
            return Packet.Summary(truncated: p.isTruncated, hasIP: p.ipv4 != nil || p.ipv6 != nil)
        }
    }

    static var files: [URL] {
        Fixtures.captures(in: Fixtures.shipped) + Fixtures.captures(in: Fixtures.publicCaptures)
            + Fixtures.captures(in: Fixtures.tcpdumpTests)
    }

    @Test func capturesPresent() {
        Fixtures.expectCaptures(in: [Fixtures.shipped, Fixtures.publicCaptures, Fixtures.tcpdumpTests])
    }

    @Test(arguments: files)
    func everyCutDecodes(_ url: URL) throws {
        var frames: [[UInt8]] = []
        var link = LinkType.ethernet
        do {
            let (l, _) = try readCapture(url) { _, raw in frames.append(Array(raw.bytes)) }
            link = l
        } catch { return }  // files libpcap rejects are covered by the CLI tests
        guard link.isSupported else { return }
        let shipped = url.path.hasPrefix(Fixtures.shipped.path)
        var printer = PacketLinePrinter(utcOffset: { _ in 0 })
        var diagnosis = Diagnosis()
        var n = 0
        for f in frames.prefix(shipped ? frames.count : 200) {
            // Where the IP datagram ends in the uncut frame: a cut inside an Ethernet trailer
            // (padding after the datagram) is not a truncation.
            let ipEnd: Int = f.withUnsafeBytes { raw in
                let p = Dissector(linkType: link).dissect(ByteView(raw), number: 0, timestamp: Timestamp(seconds: 0, nanoseconds: 0), originalLength: f.count)
                guard let start = raw.baseAddress else { return 0 }
                if let ip = p.ipv4, let b = ip.bytes.base.baseAddress { return b - start + ip.totalLength }
                if let ip = p.ipv6, let b = ip.bytes.base.baseAddress { return b - start + 40 + ip.payloadLength }
                return 0
            }
            // Shipped captures: every offset. Others: every offset of the first 160 bytes
            // (all headers), then every 7th.
            var cut = 0
            while cut <= f.count {
                n += 1
                let s = Self.exercise(f, cut: cut, link: link, printer: &printer, diagnosis: &diagnosis, number: n)
                if cut < min(f.count, ipEnd), s.hasIP { #expect(s.truncated, "\(url.lastPathComponent): cut at \(cut) of \(f.count) not marked truncated") }
                cut += shipped || cut < 160 ? 1 : 7
            }
        }
        diagnosis.finish()
        // Cut copies of the same packets arrive at one-second spacing in capture order; none of
        // them is a fault, and truncation never produces a finding.
        #expect(diagnosis.findings.filter { $0.kind == "dns.conntrack-race" }.isEmpty, "\(url.lastPathComponent)")
    }
}

extension Packet {
    struct Summary { let truncated: Bool; let hasIP: Bool }
}
