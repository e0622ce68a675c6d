import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 8: a live capture's "writing to" line names the files rotation writes, not the -w
/// pattern alone, and at the end standard error lists the files with their packets. Real
/// traffic on a veth pair between two namespaces: 900 UDP datagrams of 1400 bytes (1.3 MB)
/// for `-C 1`; datagrams over about 2.5 s for `-G 1`.
@Suite("knetcap live rotation names its files", .serialized,
       .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"),
       .enabled(if: python3 != nil, "needs python3 for the sender"))
struct LiveRotationTests {
    static let sender = """
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n, gap = int(sys.argv[2]), float(sys.argv[3])
    for i in range(n):
        s.sendto(b"k" * 1400, (sys.argv[1], 9)); time.sleep(gap)
    """

    /// A new empty directory for the rotated files.
    static func emptyDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knt-rot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Captures in namespace B with `rotation` while namespace A sends `datagrams` to port 9,
    /// `gap` seconds apart; returns knetcap's stderr and the directory of the files.
    func capture(_ rotation: [String], name: String, datagrams: Int, gap: Double, in dir: URL) throws -> String {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let pattern = dir.appendingPathComponent(name).path
        let capture = try Capture(["--netns", lab.nsB, "-i", lab.ifB, "-q", "-c", String(datagrams), "-w", pattern] + rotation + ["udp", "dst", "port", "9"])
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        let send = try lab.exec(in: lab.nsA, [python3!, "-c", Self.sender, lab.addrB, String(datagrams), String(gap)])
        #expect(send.status == 0, "sender: \(send.stderr)")
        capture.finish(within: 10)  // -c ends it, unless the kernel dropped some: then SIGINT
        return capture.stderr
    }

    /// The end line's files and packet counts, and each file's count as capinfos reads it.
    func expectFilesListed(_ stderr: String, in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let line = try #require(stderr.split(separator: "\n").first { $0.contains(" written: ") }.map(String.init),
                                "no files line: \(stderr)", sourceLocation: sourceLocation)
        let listed = line.matches(of: #/([^ ,]+) \((\d+) packets?\)/#).map { (String($0.1), Int($0.2) ?? -1) }
        #expect(line.hasPrefix("knetcap: \(listed.count) file\(listed.count == 1 ? "" : "s") written: "), "\(line)", sourceLocation: sourceLocation)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(listed.map { ($0.0 as NSString).lastPathComponent }.sorted() == onDisk, "\(line) vs \(onDisk)", sourceLocation: sourceLocation)
        for (path, n) in listed {
            let info = try #require(Fixtures.run("capinfos", ["-c", "-M", path]), "capinfos", sourceLocation: sourceLocation)
            #expect(info.1.contains("Number of packets:   \(n)\n"), "\(path): \(info.1) \(info.2)", sourceLocation: sourceLocation)
        }
        return listed.map(\.0)
    }

    /// `-C 1`: "writing to NAME, then NAME1, NAME2, ... (a new file once one passes 1000000
    /// bytes: -C 1)"; at the end NAME and NAME1 listed with their packets (capinfos agrees).
    @Test func sizeRotation() throws {
        let dir = try Self.emptyDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = dir.appendingPathComponent("cap.pcap").path
        let err = try capture(["-C", "1"], name: "cap.pcap", datagrams: 900, gap: 0.0005, in: dir)
        #expect(err.contains("writing to \(name), then \(name)1, \(name)2, ... (a new file once one passes 1000000 bytes: -C 1)\n"), "\(err)")
        let files = try expectFilesListed(err, in: dir)
        #expect(files.prefix(2) == [name, name + "1"], "\(err)")
        // With -W: the ring's names.
        let ring = try capture(["-C", "1", "-W", "3"], name: "ring.pcap", datagrams: 10, gap: 0.001, in: dir)
        let r = dir.appendingPathComponent("ring.pcap").path
        #expect(ring.contains("writing to \(r)0, \(r)1, \(r)2, then \(r)0 again (a ring of 3 files, the next once one passes 1000000 bytes: -C 1 -W 3)\n"), "\(ring)")
        #expect(ring.contains("knetcap: 1 file written: \(r)0 ("), "\(ring)")
    }

    /// `-G 1`: the first file's strftime name and the pattern it comes from; at the end every
    /// file written, with its packets (as many files as seconds the datagrams spanned).
    @Test func timeRotation() throws {
        let dir = try Self.emptyDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pattern = dir.appendingPathComponent("t-%H%M%S.pcap").path
        let err = try capture(["-G", "1"], name: "t-%H%M%S.pcap", datagrams: 25, gap: 0.1, in: dir)
        let m = try #require(err.firstMatch(of: #/writing to (\S+) \(named by strftime\(3\) of (\S+), a new file every 1 s of capture time: -G 1\)\n/#), "\(err)")
        #expect(String(m.2) == pattern)
        let first = String(m.1)
        #expect(first.firstMatch(of: #/t-\d{6}\.pcap$/#) != nil, "\(first)")
        let files = try expectFilesListed(err, in: dir)
        #expect(files.first == first, "\(files)")
        #expect(files.count >= 2, "25 datagrams 0.1 s apart span more than one second: \(err)")
    }
}
