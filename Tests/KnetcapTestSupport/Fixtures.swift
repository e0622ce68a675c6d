import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapCapture

/// Where the test inputs live: the repository, its `Captures/`, and `../shared/captures`
/// (override with `KNETCAP_SHARED`, the folder holding `captures/` and `bench/`).
public enum Fixtures {
    public static let repo: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()
    public static let shared: URL = {
        if let s = ProcessInfo.processInfo.environment["KNETCAP_SHARED"], !s.isEmpty { return URL(fileURLWithPath: s) }
        // Beside the clone (the usual layout), else the workplace's copy.
        let sibling = repo.deletingLastPathComponent().appendingPathComponent("shared")
        for candidate in [sibling, URL(fileURLWithPath: "/work/shared")]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("captures").path) {
            return candidate
        }
        return sibling
    }()
    public static let publicCaptures = shared.appendingPathComponent("captures/public")
    public static let tcpdumpTests = shared.appendingPathComponent("captures/tcpdump-tests")
    public static let shipped = repo.appendingPathComponent("Captures")

    /// Capture files (`.pcap`, `.pcapng`) in `dir`, sorted by name.
    public static func captures(in dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Runs `tool` with `args`; returns (status, stdout, stderr), or nil when it is not installed.
    public static func run(_ tool: String, _ args: [String], environment: [String: String] = [:]) -> (Int32, String, String)? {
        let paths = ["/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/bin/", "/sbin/"]
        guard let exe = paths.map({ $0 + tool }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return nil }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// Reads every packet of a capture through libpcap and hands each dissected packet to `body`.
/// Returns the link type, or throws `CaptureError` when libpcap cannot open the file.
@discardableResult
public func readCapture(_ url: URL, _ body: (Packet, RawPacket) -> Void) throws -> (LinkType, EndReason) {
    let src = try PcapSource.openFile(url.path)
    let link = LinkType(rawValue: src.linkType)
    let d = Dissector(linkType: link)
    var n = 0
    let end = src.forEach { raw in
        n += 1
        let p = d.dissect(ByteView(raw.bytes), number: n,
                          timestamp: Timestamp(seconds: raw.seconds, nanoseconds: raw.nanoseconds),
                          originalLength: raw.originalLength)
        body(p, raw)
        return true
    }
    return (link, end)
}

/// The packet lines knetcap prints for a capture (one per packet), in the given style, UTC.
public func packetLines(_ url: URL, style: TimestampStyle = .epoch) throws -> [String] {
    var printer = PacketLinePrinter(timestampStyle: style, utcOffset: { _ in 0 })
    var lines: [String] = []
    var buf = TextBuffer()
    try readCapture(url) { p, _ in
        buf.removeAll()
        printer.write(p, to: &buf)
        lines.append(String(buf.string.dropLast()))
    }
    return lines
}
