import Foundation
import KnetcapWire

/// Reads the capture namespace's own counters and tables for live corroboration (`LiveEvidence`):
/// `/proc/net/netstat` (TcpExt ListenOverflows, ListenDrops, TCPBacklogDrop, PAWSPassive),
/// `/proc/net/tcp` and `tcp6` LISTEN sockets, `/proc/net/fib_trie` and `if_inet6` local
/// addresses, `/proc/net/stat/nf_conntrack` (insert_failed, drop) and the sysctls
/// `net.core.somaxconn`, `net.ipv4.tcp_max_syn_backlog`, `net.ipv4.tcp_syncookies`.
///
/// `read` returns a file's text or nil; by default it reads this process's namespace. A
/// `--netns` capture passes a reader that reads inside the target namespace.
public struct LiveProbe {
    /// The TcpExt counters whose increase is reported (`/proc/net/netstat`), each named once here.
    public enum Counter {
        public static let listen = ["TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPBacklogDrop"]
        /// PAWSPassive (older kernels), PAWSActive/PAWSEstab (current ones).
        public static let paws = ["TcpExt.PAWSPassive", "TcpExt.PAWSActive", "TcpExt.PAWSEstab"]
        /// `/proc/net/stat/nf_conntrack` totals (every `conntrack.*` increase is kept).
        public static let conntrackRace = ["conntrack.insert_failed", "conntrack.drop"]
    }
    public static let counters = Counter.listen + Counter.paws
    /// The listen-queue sysctls quoted with SYN drops.
    public static let sysctls = ["net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies"]

    public var read: (String) -> String?
    /// Words naming where the values come from, quoted in findings.
    public var source: String
    /// Who else on the host has an address this namespace does not (set by the command line).
    public var owners: AddressOwners?

    public init(source: String = "/proc/net of the capture namespace",
                read: @escaping (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) {
        self.source = source
        self.read = read
    }

    /// Counter values at one moment: `TcpExt.Name` and `conntrack.name` → value.
    public struct Snapshot: Sendable { public var counters: [String: Int64] }

    public func snapshot() -> Snapshot {
        var c = Self.parseNetstat(read("/proc/net/netstat") ?? "")
        for (k, v) in Self.parseConntrackStats(read("/proc/net/stat/nf_conntrack") ?? "") { c[k] = v }
        return Snapshot(counters: c)
    }

    /// Counter increases since `before`, and the listener table, addresses and sysctls now.
    public func reading(since before: Snapshot) -> LiveEvidence {
        let after = snapshot()
        var deltas: [String: Int64] = [:]
        for (k, v) in after.counters where k.hasPrefix("conntrack.") || Self.counters.contains(k) {
            if let b = before.counters[k], v > b { deltas[k] = v - b }
        }
        var sys: [String: String] = [:]
        for s in Self.sysctls {
            if let v = read("/proc/sys/" + s.replacingOccurrences(of: ".", with: "/")) { sys[s] = v.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let listeners = Self.parseListeners(read("/proc/net/tcp") ?? "", v6: false) + Self.parseListeners(read("/proc/net/tcp6") ?? "", v6: true)
        let local = Self.parseFibTrieLocal(read("/proc/net/fib_trie") ?? "").union(Self.parseIfInet6(read("/proc/net/if_inet6") ?? ""))
        var evidence = LiveEvidence(listeners: listeners, localAddresses: local, counterDeltas: deltas, sysctls: sys, source: source)
        if let owners { evidence.locate = { owners.owner(of: $0) } }
        return evidence
    }

    /// `/proc/net/netstat`: pairs of lines `TcpExt: Name ...` / `TcpExt: 1 ...` → `TcpExt.Name`.
    public static func parseNetstat(_ text: String) -> [String: Int64] {
        var r: [String: Int64] = [:]
        let lines = text.split(separator: "\n")
        var i = 0
        while i + 1 < lines.count {
            let names = lines[i].split(separator: " "), values = lines[i + 1].split(separator: " ")
            if names.first == values.first, let prefix = names.first?.dropLast() {
                for (n, v) in zip(names.dropFirst(), values.dropFirst()) { if let x = Int64(v) { r["\(prefix).\(n)"] = x } }
                i += 2
            } else { i += 1 }
        }
        return r
    }

    /// `/proc/net/stat/nf_conntrack`: a header of field names, then one line of hex values per
    /// CPU; summed → `conntrack.insert_failed`, `conntrack.drop`, ...
    public static func parseConntrackStats(_ text: String) -> [String: Int64] {
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: " ") else { return [:] }
        var r: [String: Int64] = [:]
        for line in lines.dropFirst() {
            for (n, v) in zip(header, line.split(separator: " ")) { r["conntrack.\(n)", default: 0] += Int64(v, radix: 16) ?? 0 }
        }
        return r
    }

    /// `/proc/net/tcp{,6}`: sockets in state 0A (LISTEN) → local endpoints.
    public static func parseListeners(_ text: String, v6: Bool) -> [Endpoint] {
        var r: [Endpoint] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ")
            guard f.count > 3, f[3] == "0A" else { continue }
            let parts = f[1].split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { continue }
            let hex = parts[0]
            if !v6 {
                guard let w = UInt32(hex, radix: 16) else { continue }
                r.append(Endpoint(IPAddress(v4: w.byteSwapped), port))  // stored in host (little-endian) order
            } else {
                guard hex.count == 32 else { continue }
                var words: [UInt32] = []
                var idx = hex.startIndex
                for _ in 0..<4 {
                    let next = hex.index(idx, offsetBy: 8)
                    words.append((UInt32(hex[idx..<next], radix: 16) ?? 0).byteSwapped)
                    idx = next
                }
                r.append(Endpoint(IPAddress(v6hi: UInt64(words[0]) << 32 | UInt64(words[1]), lo: UInt64(words[2]) << 32 | UInt64(words[3])), port))
            }
        }
        return r
    }

    /// `/proc/net/fib_trie`: `|-- A.B.C.D` followed by `/32 host LOCAL` → local IPv4 addresses.
    public static func parseFibTrieLocal(_ text: String) -> Set<IPAddress> {
        var r = Set<IPAddress>()
        var last: IPAddress?
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("|-- ") {
                let q = t.dropFirst(4).split(separator: ".").compactMap { UInt32($0) }
                last = q.count == 4 ? IPAddress(v4: q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3]) : nil
            } else if t.contains("host LOCAL"), let a = last {
                r.insert(a)
            }
        }
        return r
    }

    /// `/proc/net/if_inet6`: 32 hex digits per line → local IPv6 addresses.
    public static func parseIfInet6(_ text: String) -> Set<IPAddress> {
        var r = Set<IPAddress>()
        for line in text.split(separator: "\n") {
            guard let h = line.split(separator: " ").first, h.count == 32,
                  let hi = UInt64(h.prefix(16), radix: 16), let lo = UInt64(h.suffix(16), radix: 16) else { continue }
            r.insert(IPAddress(v6hi: hi, lo: lo))
        }
        return r
    }
}

extension LiveProbe {
    /// Finds which of the host's other network namespaces has an address configured, for a
    /// finding about an address the capture namespace does not own (`LiveEvidence.notOwned`).
    ///
    /// Each namespace's addresses (`/proc/net/fib_trie` LOCAL entries and `/proc/net/if_inet6`,
    /// through its own reader) are read the first time an address is asked about, once per
    /// namespace; answers are cached. Namespaces are listed lazily by `list` (the command line
    /// gives `hostNamespaces()` without the capture namespace). An address found in more than
    /// one namespace (a copy of a pod IP, a stale namespace) has no single owner: nil.
    public final class AddressOwners: @unchecked Sendable {  // state behind `lock`
        /// One candidate namespace: its description (`net:[…] (ip netns blue)`), the `--netns`
        /// argument for it, and a reader of its `/proc/net` files.
        public struct Namespace {
            public var description: String, netns: String
            public var read: (String) -> String?
            public init(description: String, netns: String, read: @escaping (String) -> String?) {
                self.description = description; self.netns = netns; self.read = read
            }
        }
        private let lock = NSLock()
        private let list: () -> [Namespace]
        private var namespaces: [(ns: Namespace, addresses: Set<IPAddress>?)]?
        private var answers: [IPAddress: (place: String, netns: String)?] = [:]

        public init(list: @escaping () -> [Namespace]) { self.list = list }

        /// The one namespace with `a` configured, or nil.
        public func owner(of a: IPAddress) -> (place: String, netns: String)? {
            lock.lock(); defer { lock.unlock() }
            if let known = answers[a] { return known }
            if namespaces == nil { namespaces = list().map { ($0, nil) } }
            var found: [(place: String, netns: String)] = []
            for i in namespaces!.indices {
                if namespaces![i].addresses == nil {
                    let n = namespaces![i].ns
                    namespaces![i].addresses = LiveProbe.parseFibTrieLocal(n.read("/proc/net/fib_trie") ?? "")
                        .union(LiveProbe.parseIfInet6(n.read("/proc/net/if_inet6") ?? ""))
                }
                if namespaces![i].addresses!.contains(a) { found.append((namespaces![i].ns.description, namespaces![i].ns.netns)) }
            }
            let answer = found.count == 1 ? found[0] : nil
            answers[a] = answer
            return answer
        }
    }
}

