// swift-tools-version:6.0
// libFuzzer harnesses for knetcap (README "Fuzzing"; `make fuzz`). A separate package, so the
// root `swift build` and `make test` never need the fuzzer runtime. Build with
// `--sanitize fuzzer --sanitize address` (Fuzz/run.sh does): every module of the root package
// the harnesses link is instrumented too.
import PackageDescription

let harnesses = ["FuzzDissect", "FuzzDNS", "FuzzHTTP", "FuzzFilter", "FuzzAnalysis"]
let core: Target.Dependency = .product(name: "KnetcapCore", package: "knetcap")
// The capture-file reader and writer (libwiretap) with the session's per-packet loop.
let files: Target.Dependency = .product(name: "KnetcapFiles", package: "knetcap")

let package = Package(
    name: "knetcap-fuzz",
    dependencies: [.package(name: "knetcap", path: "..")],
    targets: [
        // The libFuzzer driver call and packet builders the harnesses share.
        .target(name: "FuzzSupport", dependencies: [core]),
    ] + harnesses.map { .executableTarget(name: $0, dependencies: ["FuzzSupport", core]) }
      + [.executableTarget(name: "FuzzWiretap", dependencies: [files])],
    swiftLanguageModes: [.v5]
)
