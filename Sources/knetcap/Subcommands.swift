import ArgumentParser

/// `knetcap interfaces [--netns ...]`: the capture devices libpcap sees, with addresses.
struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap interfaces",
        abstract: "List the capture devices (libpcap's list) with their addresses.")
    mutating func run() throws {
        throw Fatal(.failure, "interfaces: not implemented yet")
    }
}

/// `knetcap enter POD [NAMESPACE]` / `knetcap enter --pid PID [-- CMD ...]`.
struct Enter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knetcap enter",
        abstract: "Run a shell (or a command) inside a pod's network namespace only, like nsenter -n.")
    mutating func run() throws {
        throw Fatal(.failure, "enter: not implemented yet")
    }
}
