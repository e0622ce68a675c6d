import Foundation
import Testing
import KnetcapWire
import KnetcapDissect
import KnetcapCapture
import KnetcapTestSupport

/// Every pcapng in `Tests/Captures` read through libwiretap (`WiretapSource`), including the 48
/// pcapng test files of the pcapng test generator (`pcapng-testgen/`: every block type, both
/// byte orders, several sections): the same frames as tshark 4.0 reads, frame for frame —
/// frame number, capture time to the nanosecond, captured and wire length, interface and
/// comments — with tshark run on the same file at test time. Records that are not packets
/// (custom blocks: tshark numbers them as frames with no encapsulation) are not packets to
/// knetcap, but its frame numbers skip them as Wireshark's do.
@Suite("libwiretap frames agree with tshark")
struct WiretapFrameTests {
    static let pcapngs: [URL] = [Fixtures.publicCaptures, Fixtures.tcpdumpTests, Fixtures.pcapngTestgen].flatMap {
        Fixtures.captures(in: $0).filter { $0.pathExtension == "pcapng" }
    }

    @Test("pcapng inputs exist") func inputsExist() {
        Fixtures.expectCaptures(in: [Fixtures.publicCaptures, Fixtures.tcpdumpTests, Fixtures.pcapngTestgen])
        #expect(Self.pcapngs.count >= 58, "\(Self.pcapngs.map(\.lastPathComponent))")
    }

    @Test(arguments: pcapngs)
    func framesAgree(_ url: URL) throws {
        let name = url.lastPathComponent
        let ref = try #require(Fixtures.run("tshark", ["-r", url.path, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch",
                                                       "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id", "-e", "frame.comment",
                                                       "-e", "frame.encap_type"]),
                               "tshark is not installed (make deps-test)")
        // Packets only: a record with no encapsulation (a pcapng custom block) is not one.
        let theirs = ref.1.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0.count >= 7 && !$0[6].isEmpty }
        let src: WiretapSource
        switch Result(catching: { () throws(CaptureError) -> WiretapSource in try WiretapSource(path: url.path) }) {
        case .success(let s): src = s
        case .failure(let e):
            // tshark refuses it too (its status is non-zero, no frames).
            #expect(ref.0 != 0 && theirs.isEmpty, "\(name): knetcap \(e.message); tshark read \(theirs.count) frames")
            return
        }
        let ours = Self.frames(src)
        let end = ours.end
        if case .badInput(let e) = end {
            #expect(ref.0 != 0, "\(name): knetcap stopped (\(e.message)), tshark did not: \(ref.2)")
        } else {
            #expect(ref.0 == 0, "\(name): tshark failed (\(ref.2)), knetcap read to the end")
        }
        #expect(ours.rows.count == theirs.count, "\(name): knetcap \(ours.rows.count) frames, tshark \(theirs.count)")
        for (a, b) in zip(ours.rows, theirs) {
            // tshark prints no interface id for a file without interface blocks' ids: compare where given.
            var b = b
            while b.count < 6 { b.append("") }
            if b[4].isEmpty { b[4] = a[4] }
            // A Simple Packet Block has no timestamp: tshark prints none, knetcap reads the epoch.
            if b[1].isEmpty && a[1] == "0.000000000" { b[1] = a[1] }
            #expect(a == Array(b.prefix(6)), "\(name) frame \(a[0])")
        }
    }

    /// Each frame's number, time, lengths, interface and comments, as tshark's fields.
    static func frames(_ src: WiretapSource) -> (rows: [[String]], end: EndReason) {
        var rows: [[String]] = []
        var number = 0
        let end = src.forEach { raw in
            let t = Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds)
            number += 1 + raw.framesBefore
            rows.append([String(number), epoch(t), String(raw.capturedLength), String(raw.originalLength), String(raw.interface),
                         WiretapSource.comments(raw).joined(separator: ",")])
            return true
        }
        return (rows, end)
    }

    /// Seconds since the epoch with nine decimals, as tshark's frame.time_epoch.
    static func epoch(_ t: Timestamp) -> String {
        let ns = String(t.nanoseconds)
        return "\(t.seconds)." + String(repeating: "0", count: 9 - ns.count) + ns
    }
}
