import Foundation
import Testing

/// Every crash input libFuzzer found and that was fixed (`Tests/Captures/fuzz/HARNESS/`, see
/// Fuzz/run.sh) read by the CLI as a capture file: it ends normally (no signal: exit < 128).
@Suite("fuzz crash inputs (Tests/Captures/fuzz)")
struct FuzzRegressionTests {
    static let dir = repoRoot.appendingPathComponent("Tests/Captures/fuzz/FuzzWiretap")

    static var inputs: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }

    @Test func inputsAreThere() {
        #expect(Self.inputs.map(\.lastPathComponent).contains("tcp-dns-seq-int32-min.bin"))
    }

    /// tcp-dns-seq-int32-min.bin (FuzzWiretap, CI smoke): a DNS-over-TCP segment whose sequence
    /// number is 2^31 behind the stream's next byte trapped in TCPDNSReassembler (`Int(-ahead)`
    /// with ahead = Int32.min): SIGILL, exit 132.
    @Test(arguments: inputs)
    func readsWithoutATrap(_ input: URL) throws {
        for args in [["-q"], ["-q", "--json"], ["-T", "fields", "-e", "dns.id"]] {
            let r = try run(args + ["-r", input.path])
            #expect(r.status < 128, "\(input.lastPathComponent) \(args): exit \(r.status), stderr: \(r.stderr)")
        }
    }
}
