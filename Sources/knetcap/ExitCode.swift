import KnetcapCapture

/// knetcap's exit statuses (documented in README.md, "Exit codes").
enum Exit: Int32 {
    case ok = 0
    /// Anything not listed below.
    case failure = 1
    /// A bad flag or argument.
    case usage = 2
    /// `-r FILE`: no such file.
    case noSuchFile = 3
    /// `-r FILE` is not a pcap/pcapng file libpcap can read.
    case notACapture = 4
    /// The BPF capture filter does not compile.
    case badCaptureFilter = 5
    /// `-i IFACE`: no such interface.
    case noSuchInterface = 6
    /// Not allowed (file permissions, or live capture without root/CAP_NET_RAW).
    case permissionDenied = 7
    /// `-w FILE` cannot be written.
    case cannotWrite = 8
    /// The capture's link type is not one knetcap dissects.
    case unsupportedLinkType = 9
    /// Reading failed part-way; what was read before is printed and diagnosed.
    case readFailed = 10
    /// A finding named by `--fail-on` was reported.
    case findingReported = 12

    init(_ e: CaptureError) {
        switch e.kind {
        case .noSuchFile: self = .noSuchFile
        case .notACapture: self = .notACapture
        case .badFilter: self = .badCaptureFilter
        case .noSuchInterface: self = .noSuchInterface
        case .permissionDenied: self = .permissionDenied
        case .cannotWrite: self = .cannotWrite
        case .readFailed: self = .readFailed
        case .other: self = .failure
        }
    }
}

/// An error that ends the program with one line on stderr and a distinct status.
struct Fatal: Error {
    let code: Exit
    let message: String
    init(_ code: Exit, _ message: String) { self.code = code; self.message = message }
}
