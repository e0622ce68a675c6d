/// Why a network namespace could not be found, opened or entered. `message` is one line for
/// the operator: what was tried and what to do; the CLI prints it after `knetcap: ` and maps
/// `kind` to its exit status (README, "Exit codes").
public struct NetnsError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The PID given (or resolved from a container) names no running process.
        case noSuchProcess
        /// A namespace path does not exist.
        case noSuchNamespace
        /// The path exists but is not a network namespace (another namespace type, or not a
        /// namespace file at all, e.g. a stale `/var/run/netns/NAME` whose mount is gone).
        case notANetworkNamespace
        /// Not allowed: opening another process's `/proc/PID/ns/net` needs ptrace access
        /// (root), and setns(2) needs CAP_SYS_ADMIN.
        case permissionDenied
        /// Neither `crictl` nor `docker` is on PATH.
        case noContainerRuntime
        /// The runtime knows no container with that id (or prefix), or the pod has no container
        /// of that name.
        case noSuchContainer
        /// The id prefix matches more than one container.
        case ambiguousContainer
        /// The container (or pod) exists but has no running process (exited, waiting, not yet
        /// scheduled).
        case containerNotRunning
        /// The runtime CLI ran and failed for another reason (daemon down, no endpoint, bad
        /// output).
        case runtimeFailed
        /// `kubectl` is not on PATH, or failed for a reason other than "pod not found".
        case kubectlFailed
        /// `kubectl` reports no such pod in that namespace.
        case noSuchPod
        /// The pod runs on another node.
        case podOnAnotherNode
        /// A system call failed for another reason (errno text in the message).
        case system
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
