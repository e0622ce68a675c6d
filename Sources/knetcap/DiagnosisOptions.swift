import ArgumentParser
import KnetcapWire
import KnetcapAnalysis

/// `--vip ADDR` (repeatable), `--dns-port N` (repeatable) and `--fail-on KIND|any`.
struct DiagnosisOptions: ParsableArguments {
    @Option(name: .customLong("vip"), help: ArgumentHelp("An address known to be a load-balancer VIP or ClusterIP (repeatable); sharpens nat.reply-source-mismatch.", valueName: "ADDR"))
    var vips: [String] = []

    @Option(name: .customLong("dns-port"), help: ArgumentHelp("A UDP/TCP port that carries DNS (repeatable; 53, 5353, 5355 always do, and UDP DNS is recognised by content on any port).", valueName: "N"))
    var dnsPorts: [UInt16] = []

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Exit with status 12 when a finding of KIND (or any finding, with `any`) is reported; for knetcap diff, when it was found more often after than before (repeatable).", valueName: "KIND|any"))
    var failOn: [String] = []

    func validate() throws {
        for v in vips where IPAddress(parsing: v) == nil { throw ValidationError("--vip takes an IPv4 or IPv6 address, not '\(v)'") }
        for k in failOn where k != "any" && !Diagnosis.kinds.contains(k) {
            throw ValidationError("--fail-on: unknown finding kind '\(k)' (kinds: \(Diagnosis.kinds.joined(separator: ", ")), any)")
        }
    }

    var vipAddresses: Set<IPAddress> { Set(vips.compactMap(IPAddress.init(parsing:))) }

    /// True when one of `findings` is named by --fail-on.
    func shouldFail(_ findings: [Finding]) -> Bool {
        failOn.contains("any") ? !findings.isEmpty : findings.contains { failOn.contains($0.kind) }
    }
}
