// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "knetcap",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "knetcap", targets: ["knetcap"]),
        // The byte-level modules as a library, for the fuzz harnesses (Fuzz/Package.swift).
        .library(name: "KnetcapCore", targets: ["KnetcapWire", "KnetcapDissect", "KnetcapAnalysis", "KnetcapFilter"]),
        // The capture-file sources and writers (libpcap, libwiretap) and the session loop, for FuzzWiretap.
        .library(name: "KnetcapFiles", targets: ["KnetcapCapture", "KnetcapSession"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML for `kubectl knetcap capture --dry-run` (the Jobs kubectl would be handed).
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        // Wireshark's capture-file library, libwiretap 4.0, and the libwsutil it stands on (the
        // module map links both; glib through pkg-config): reads every file tshark reads, writes
        // pcapng. Not pkg-config `wireshark`: that links libwireshark, the dissection library,
        // which knetcap does not use. Its headers' directory (/usr/include/wireshark, Debian's
        // and Wireshark's default) is given to KnetcapCapture, the one module that imports it.
        .systemLibrary(
            name: "CWiretap",
            pkgConfig: "glib-2.0",
            providers: [.apt(["libwiretap-dev", "libwsutil-dev", "libglib2.0-dev"])]
        ),
        // PCRE2, 8-bit (pkg-config libpcre2-8, apt libpcre2-dev): Wireshark's engine for `matches`.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // zlib, libzstd, liblz4 (apt zlib1g-dev, libzstd-dev, liblz4-dev): to name a broken
        // compressed stream that libwiretap (which decompresses) could not open.
        .systemLibrary(
            name: "CCompression",
            providers: [.apt(["zlib1g-dev", "libzstd-dev", "liblz4-dev"])]
        ),
        // Byte-level views. Standard library only.
        .target(name: "KnetcapWire"),
        // Link type -> layer chain -> dissected packet; field registry; packet lines.
        .target(name: "KnetcapDissect", dependencies: ["KnetcapWire"]),
        // Flow/transaction tracking and one analyser per fault.
        .target(name: "KnetcapAnalysis", dependencies: ["KnetcapWire", "KnetcapDissect"]),
        // Wireshark display filters (-Y): lexer -> parser -> check against the field registry -> predicate.
        .target(name: "KnetcapFilter", dependencies: ["KnetcapWire", "KnetcapDissect", "CPCRE2"]),
        // Reporters (terminal text, JSON lines) fed one report model.
        .target(name: "KnetcapReport", dependencies: ["KnetcapWire", "KnetcapDissect", "KnetcapAnalysis"]),
        // Packet sources (libpcap file and live, in memory) and the pcap writer.
        .target(name: "KnetcapCapture", dependencies: ["CPcap", "CSignals", "CWiretap", "CCompression", "KnetcapWire"],
                swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/include/wireshark"])]),
        // The per-packet pipeline: source -> dissect -> diagnosis -> capture state -> filter -> reporters/writer.
        .target(name: "KnetcapSession", dependencies: [
            "KnetcapWire", "KnetcapDissect", "KnetcapAnalysis", "KnetcapFilter", "KnetcapCapture", "KnetcapReport",
        ]),
        // The stop-signal handler and its state, defined once (a .c file, linked with libpcap
        // for pcap_breakloop).
        .target(name: "CSignals", linkerSettings: [.linkedLibrary("pcap")]),
        // Linux calls Swift's Glibc module does not export (setns, gettid, NS_GET_NSTYPE, fstatfs).
        .target(name: "CNetns"),
        // Enter a network namespace by PID, path, container or pod (setns on a dedicated thread).
        .target(name: "KnetcapNetns", dependencies: ["CNetns"]),
        // `kubectl knetcap`: targets resolved to nodes through kubectl, one capture Job per node
        // (manifests, Pod Security check), the Jobs' logs followed, captures copied back, Jobs deleted.
        .target(name: "KnetcapKube", dependencies: [.product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "knetcap",
            dependencies: [
                "KnetcapWire", "KnetcapDissect", "KnetcapAnalysis", "KnetcapCapture", "KnetcapFilter",
                "KnetcapReport", "KnetcapSession", "KnetcapNetns", "KnetcapKube",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only helpers: locate the repository's captures, read them through a CaptureSession, run peers.
        .target(name: "KnetcapTestSupport", dependencies: ["KnetcapDissect", "KnetcapCapture", "KnetcapSession"],
                path: "Tests/KnetcapTestSupport"),
        .testTarget(name: "KnetcapWireTests", dependencies: ["KnetcapWire"]),
        .testTarget(name: "KnetcapReportTests", dependencies: ["KnetcapReport", "KnetcapSession", "KnetcapCapture", "KnetcapTestSupport"]),
        .testTarget(name: "KnetcapDissectTests", dependencies: ["KnetcapDissect", "KnetcapAnalysis", "KnetcapCapture", "KnetcapTestSupport"]),
        .testTarget(name: "KnetcapAnalysisTests", dependencies: ["KnetcapAnalysis", "KnetcapDissect", "KnetcapCapture", "KnetcapTestSupport"]),
        .testTarget(name: "KnetcapCLITests", dependencies: []),
        .testTarget(name: "KnetcapFilterTests", dependencies: ["KnetcapFilter", "KnetcapDissect", "KnetcapCapture", "KnetcapTestSupport"]),
        .testTarget(name: "KnetcapNetnsTests", dependencies: ["KnetcapNetns", "KnetcapCapture", "KnetcapTestSupport"]),
        .testTarget(name: "KnetcapNetnsCLITests", dependencies: ["KnetcapTestSupport"]),
        .testTarget(name: "KnetcapKubeTests", dependencies: ["KnetcapKube"]),
    ]
)
