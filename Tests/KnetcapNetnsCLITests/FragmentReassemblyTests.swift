import Foundation
import Testing
import KnetcapTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// IP fragment reassembly against the real kernel (issue 14): namespace A writes hand-made
/// IPv4 fragments of 48-byte UDP datagrams onto its veth (AF_PACKET), namespace B's kernel
/// reassembles them and delivers what it accepts to a UDP socket, and knetcap captures B's
/// side. Every datagram B's socket received must be the ones knetcap reassembled (a frame
/// with `udp.dstport == 9000`), no more, no fewer: in order, tail first, with an exact
/// duplicate (Linux keeps the datagram), with an overlapping fragment (Linux since 4.19
/// discards the datagram, RFC 5722's rule) and head only (never complete).
@Suite("IP fragment reassembly agrees with the kernel", .serialized,
       .enabled(if: NetnsLab.available, "needs root and iproute2 (ip netns)"),
       .enabled(if: python3 != nil, "needs python3 for the sender and the receiver"))
struct FragmentReassemblyTests {
    static let receiver = """
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9000)); s.settimeout(3)
    print("ready", flush=True)
    try:
        while True: print(s.recv(100)[:8].decode().strip("."), flush=True)
    except socket.timeout: pass
    """
    /// Fragment sets by IP id: (offset, end, more) slices of the 48-byte UDP datagram.
    static let sender = """
    import socket, struct, sys, time
    ifname, dmac, src, dst = sys.argv[1:5]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifname, 0))
    smac = s.getsockname()[4]; dmac = bytes.fromhex(dmac.replace(":", ""))
    def csum(b):
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
        return ~t & 0xffff
    def send(ident, off, end, more, dg):
        data = dg[off:end]
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, (0x2000 if more else 0) | off // 8,
                        64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        s.send(dmac + smac + b"\\x08\\x00" + h + data)
    def datagram(tag):
        p = tag.encode().ljust(40, b".")
        return struct.pack("!HHHH", 40000, 9000, 8 + len(p), 0) + p
    cases = {
        101: [(0, 24, True), (24, 48, False)],                    # in order
        102: [(24, 48, False), (0, 24, True)],                    # tail first
        103: [(0, 24, True), (0, 24, True), (24, 48, False)],     # exact duplicate head
        104: [(0, 24, True), (16, 40, True), (40, 48, False)],    # 16..40 overlaps the head
        105: [(0, 24, True)],                                     # head only
    }
    for ident, frags in cases.items():
        dg = datagram("id%d" % ident)
        for off, end, more in frags: send(ident, off, end, more, dg); time.sleep(0.01)
        time.sleep(0.05)
    """

    @Test func knetcapReassemblesWhatTheKernelDelivers() throws {
        let lab = try NetnsLab()
        defer { lab.remove() }
        let mac = try lab.exec(in: lab.nsB, ["cat", "/sys/class/net/\(lab.ifB)/address"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(mac.count == 17, "no MAC for \(lab.ifB)")
        let rx = Process()
        rx.executableURL = URL(fileURLWithPath: NetnsLab.ipPath!)
        rx.arguments = ["netns", "exec", lab.nsB, python3!, "-c", Self.receiver]
        let out = Pipe()
        rx.standardOutput = out
        rx.standardInput = FileHandle.nullDevice
        try rx.runSerialized()
        defer { if rx.isRunning { kill(rx.processIdentifier, SIGKILL) }; rx.waitForExit() }
        try #require(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).contains("ready"))

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("knt-frag-\(lab.id).pcap")
        defer { try? FileManager.default.removeItem(at: file) }
        let capture = try Capture(["--netns", lab.nsB, "-w", file.path, "ip", "proto", "17"])
        try #require(capture.waitListening(), "capture did not start: \(capture.stderr)")
        let sent = try lab.exec(in: lab.nsA, [python3!, "-c", Self.sender, lab.ifA, mac, lab.addrA, lab.addrB])
        try #require(sent.status == 0, "sender failed: \(sent.stderr)")
        Thread.sleep(forTimeInterval: 0.5)
        capture.finish(within: 0)
        rx.waitForExit()
        let delivered = Set(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").compactMap { $0.hasPrefix("id") ? Int($0.dropFirst(2)) : nil })
        #expect(delivered == [101, 102, 103], "the kernel's choices changed: \(delivered)")

        // knetcap on the capture: the frames with UDP port 9000 are the completed datagrams.
        let r = try runTool(knetcap.path, ["-r", file.path, "--json", "-Y", "udp.dstport == 9000"])
        #expect(r.status == 0, "\(r.stderr)")
        var reassembled: Set<Int> = [], counts: [Int: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = o["ip.id"] as? Int else { continue }
            reassembled.insert(id)
            counts[id] = o["ip.fragment.count"] as? Int
        }
        #expect(reassembled == delivered, "knetcap reassembled \(reassembled), the kernel delivered \(delivered)")
        #expect(counts == [101: 2, 102: 2, 103: 2], "\(counts)")
        // The packet lines still show every fragment as captured (tcpdump does not reassemble).
        let lines = try runTool(knetcap.path, ["-r", file.path]).stdout.split(separator: "\n").filter { $0.contains(" IP ") }
        #expect(lines.count == 11, "\(lines.count) frames: \(lines.joined(separator: "\n"))")
        #expect(lines.filter { !$0.contains(".9000: UDP") }.count == 5, "\(lines.joined(separator: "\n"))")
    }
}
