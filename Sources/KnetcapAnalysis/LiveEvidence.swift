import KnetcapWire

/// What the live system said during a capture, read from the capture namespace's own files by
/// `LiveProbe` through the reader the command line gives it (analysers never read files): LISTEN sockets (`/proc/net/tcp`, `tcp6`),
/// local addresses, `/proc/net/netstat` TcpExt counters before and after, sysctls, and
/// `/proc/net/stat/nf_conntrack` totals. `source` names where it was read.
public struct LiveEvidence: Sendable {
    /// Sockets in LISTEN state (address may be the wildcard 0.0.0.0 / ::).
    public var listeners: [Endpoint]
    /// Addresses configured in the capture namespace.
    public var localAddresses: Set<IPAddress>
    /// Counter name → increase during the capture (e.g. `TcpExt.ListenOverflows`, `conntrack.insert_failed`).
    public var counterDeltas: [String: Int64]
    /// sysctl name → value (e.g. `net.core.somaxconn`).
    public var sysctls: [String: String]
    /// Where the values were read, in words (`/proc/net in the capture namespace (pid 4242)`).
    public var source: String
    /// Which other network namespace of the host has an address (`LiveProbe.AddressOwners`):
    /// its description and the `--netns` argument that captures there; nil when none can tell.
    public var locate: (@Sendable (IPAddress) -> (place: String, netns: String)?)?

    public init(listeners: [Endpoint] = [], localAddresses: Set<IPAddress> = [], counterDeltas: [String: Int64] = [:],
                sysctls: [String: String] = [:], source: String = "") {
        self.listeners = listeners; self.localAddresses = localAddresses; self.counterDeltas = counterDeltas
        self.sysctls = sysctls; self.source = source
    }

    /// Whether `a` is an address of the namespace this was read in. Only then do its listen
    /// table and TCP counters say anything about connections to `a`: captured on the node side
    /// of a pod's veth, the node's own table would otherwise be quoted for the pod's ports. A
    /// socket bound to `a` itself shows `a` is local even when the address list is unreadable.
    public func owns(_ a: IPAddress) -> Bool {
        localAddresses.contains(a) || listeners.contains { $0.address == a }
    }

    /// What a finding says instead of a claim when `e`'s address belongs to another namespace.
    /// It names the namespace that has the address when `locate` can tell.
    func notOwned(_ e: Endpoint) -> String {
        let head = "\(source): \(e.address) is not an address of this network namespace, so its listen table and counters say nothing about \(e.text); "
        if let owner = locate?(e.address) {
            return head + "\(e.address) is an address of network namespace \(owner.place): capture with --netns \(owner.netns) to corroborate"
        }
        return head + "capture with --netns or --pod in the namespace that owns \(e.address) to corroborate"
    }

    /// The LISTEN socket that accepts connections to `e`: bound to its address, or to the
    /// wildcard when `e`'s address is local here. `nil` when nothing listens.
    public func listener(for e: Endpoint) -> Endpoint? {
        if let exact = listeners.first(where: { $0 == e }) { return exact }
        guard localAddresses.contains(e.address) else { return nil }
        return listeners.first { $0.port == e.port && $0.address.isUnspecified && $0.address.isIPv6 == e.address.isIPv6 }
            ?? listeners.first { $0.port == e.port && $0.address.isUnspecified }
    }

    /// LISTEN sockets on `port` bound to another specific address (e.g. 127.0.0.1 when the
    /// probe targets the pod IP).
    public func otherListeners(port: UInt16, than address: IPAddress) -> [Endpoint] {
        listeners.filter { $0.port == port && $0.address != address && !$0.address.isUnspecified }
    }

    /// `name +N` for the named counters that rose, in words.
    func deltas(_ names: [String]) -> [String] {
        names.compactMap { n in counterDeltas[n].map { "\(n) +\($0)" } }
    }

    /// The listen-queue counters (`LiveProbe.Counter.listen`) that rose, as an `observed` line,
    /// when `server` is this system's; nil otherwise.
    func listenCountersNote(_ server: Endpoint) -> String? {
        guard owns(server.address) else { return nil }
        let d = deltas(LiveProbe.Counter.listen)
        return "\(source): " + (d.isEmpty ? "ListenOverflows/ListenDrops/TCPBacklogDrop did not rise" : d.joined(separator: ", "))
    }
}

extension IPAddress {
    /// 0.0.0.0 or ::
    public var isUnspecified: Bool { hi == 0 && lo == 0 }
}
