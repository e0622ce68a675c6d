import KnetcapCapture
import KnetcapNetns

/// knetcap's version (`--version`), with the libpcap it runs on, as `tcpdump --version`.
let knetcapVersion = "knetcap 0.9.0\n\(PcapSource.libraryVersion)"

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
    /// The display filter (`-Y`) does not compile.
    case badDisplayFilter = 11
    /// A compressed capture (gzip, zstd, lz4) does not decompress part-way; what was read
    /// before is printed and diagnosed.
    case decompressFailed = 13
    /// A compressed input read from a pipe (`-r -`, a FIFO) broke, and the temporary copy
    /// that tells a broken compressed stream from a broken capture could not be written in
    /// `$TMPDIR`; what was read before is printed and diagnosed.
    case temporaryCopyFailed = 14

    // Network namespaces (--netns, --container, --pod; `knetcap enter`, `knetcap interfaces`).
    /// The PID given or resolved names no running process.
    case noSuchProcess = 20
    /// The namespace path does not exist.
    case noSuchNamespace = 21
    /// The path is not a network namespace (another namespace type, or not a namespace file).
    case notANetworkNamespace = 22
    /// Not allowed to enter the namespace (needs root: CAP_SYS_ADMIN, CAP_SYS_PTRACE).
    case namespacePermissionDenied = 23
    /// Neither crictl nor docker is on PATH.
    case noContainerRuntime = 24
    /// The runtime knows no such container (or the pod has no container of that name).
    case noSuchContainer = 25
    /// The container id prefix matches more than one container.
    case ambiguousContainer = 26
    /// kubectl reports no such pod.
    case noSuchPod = 27
    /// The pod runs on another node.
    case podOnAnotherNode = 28
    /// The container or pod has no running process (exited, waiting, not scheduled).
    case containerNotRunning = 29
    /// crictl or docker failed for another reason (daemon down, no endpoint).
    case runtimeFailed = 30
    /// kubectl is not on PATH or failed for another reason (no cluster access).
    case kubectlFailed = 31
    /// `kubectl knetcap`: the Jobs' namespace enforces a Pod Security level that refuses capture pods.
    case podSecurityRefused = 32
    /// `kubectl knetcap`: a node's capture Job failed (did not start, ended early, its file not copied).
    case captureJobFailed = 33
    /// `knetcap enter`: the command was found but cannot be executed (as a shell says).
    case commandNotExecutable = 126
    /// `knetcap enter`: no such command (as a shell says).
    case commandNotFound = 127
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
        case .decompressFailed: self = .decompressFailed
        case .temporaryCopyFailed: self = .temporaryCopyFailed
        case .other: self = .failure
        }
    }
}

extension Exit {
    init(_ e: NetnsError) {
        switch e.kind {
        case .noSuchProcess: self = .noSuchProcess
        case .noSuchNamespace: self = .noSuchNamespace
        case .notANetworkNamespace: self = .notANetworkNamespace
        case .permissionDenied: self = .namespacePermissionDenied
        case .noContainerRuntime: self = .noContainerRuntime
        case .noSuchContainer: self = .noSuchContainer
        case .ambiguousContainer: self = .ambiguousContainer
        case .noSuchPod: self = .noSuchPod
        case .podOnAnotherNode: self = .podOnAnotherNode
        case .containerNotRunning: self = .containerNotRunning
        case .runtimeFailed: self = .runtimeFailed
        case .kubectlFailed: self = .kubectlFailed
        case .system: self = .failure
        }
    }
}

/// An error that ends the program with one line on stderr and a distinct status.
struct Fatal: Error {
    let code: Exit
    let message: String
    init(_ code: Exit, _ message: String) { self.code = code; self.message = message }
}
