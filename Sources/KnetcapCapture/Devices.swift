import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// A capture device from libpcap's list (`pcap_findalldevs`): what `-i` accepts.
public struct CaptureDevice: Sendable, Equatable {
    /// The name to give `-i` (`eth0`, `any`, `lo`, `nflog`).
    public var name: String
    /// libpcap's description, when it has one (`Pseudo-device that captures on all interfaces`).
    public var description: String?
    /// The device's addresses (IPv4 and IPv6 only), in libpcap's order.
    public var addresses: [Address]
    /// libpcap's `PCAP_IF_*` flags.
    public var flags: UInt32

    /// An interface address: `10.0.0.2/24`, `fe80::1/64`.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        /// `inet` or `inet6`.
        public var family: String
        /// The address in text (inet_ntop(3)).
        public var address: String
        /// The netmask as a prefix length, when libpcap reported a netmask.
        public var prefixLength: Int?
        public var description: String { prefixLength.map { "\(address)/\($0)" } ?? address }
    }

    public var isUp: Bool { flags & UInt32(PCAP_IF_UP) != 0 }
    public var isRunning: Bool { flags & UInt32(PCAP_IF_RUNNING) != 0 }
    public var isLoopback: Bool { flags & UInt32(PCAP_IF_LOOPBACK) != 0 }

    /// tcpdump -D's words for the flags: `Up`, `Running`, `Loopback`, `Wireless`, and the
    /// connection status (`Connected`, `Disconnected`) when libpcap knows it.
    public var flagWords: [String] {
        var w: [String] = []
        if isUp { w.append("Up") }
        if isRunning { w.append("Running") }
        if isLoopback { w.append("Loopback") }
        if flags & UInt32(PCAP_IF_WIRELESS) != 0 { w.append("Wireless") }
        switch flags & UInt32(PCAP_IF_CONNECTION_STATUS) {
        case UInt32(PCAP_IF_CONNECTION_STATUS_CONNECTED): w.append("Connected")
        case UInt32(PCAP_IF_CONNECTION_STATUS_DISCONNECTED): w.append("Disconnected")
        default: break
        }
        return w
    }
}

extension PcapSource {
    /// libpcap's capture devices (`pcap_findalldevs`) as the calling thread's network
    /// namespace sees them (libpcap asks the kernel through sockets and getifaddrs(3), which
    /// follow the thread's namespace; run it inside `NetworkNamespace.run` for another's).
    /// - Throws: `CaptureError.other` with libpcap's message.
    public static func devices() throws(CaptureError) -> [CaptureDevice] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var list: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&list, &errbuf) == 0 else {
            throw CaptureError(.other, "cannot list capture devices: \(cString(errbuf))")
        }
        defer { if let list { pcap_freealldevs(list) } }
        var out: [CaptureDevice] = []
        var d = list
        while let dev = d {
            defer { d = dev.pointee.next }
            var addresses: [CaptureDevice.Address] = []
            var a = dev.pointee.addresses
            while let addr = a {
                defer { a = addr.pointee.next }
                guard let sa = addr.pointee.addr, let text = numericAddress(sa) else { continue }
                let prefix = addr.pointee.netmask.flatMap { prefixLength($0, family: Int32(sa.pointee.sa_family)) }
                addresses.append(.init(family: sa.pointee.sa_family == sa_family_t(AF_INET6) ? "inet6" : "inet",
                                       address: text, prefixLength: prefix))
            }
            out.append(CaptureDevice(name: String(cString: dev.pointee.name),
                                     description: dev.pointee.description.map { String(cString: $0) },
                                     addresses: addresses, flags: dev.pointee.flags))
        }
        return out
    }
}

/// An IPv4 or IPv6 socket address in text; nil for other families.
private func numericAddress(_ sa: UnsafeMutablePointer<sockaddr>) -> String? {
    var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(sa.pointee.sa_family) {
    case AF_INET:
        return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var a = sin.pointee.sin_addr
            return inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count)) == nil ? nil : cString(buf)
        }
    case AF_INET6:
        return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
            var a = sin6.pointee.sin6_addr
            return inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) == nil ? nil : cString(buf)
        }
    default:
        return nil
    }
}

/// The number of leading one bits of an IPv4 or IPv6 netmask; nil for other families or a
/// non-contiguous mask. A mask whose family is unset is read as the address's `family`.
private func prefixLength(_ sa: UnsafeMutablePointer<sockaddr>, family: Int32) -> Int? {
    let bytes: [UInt8]
    switch sa.pointee.sa_family == 0 ? family : Int32(sa.pointee.sa_family) {
    case AF_INET:
        bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
        }
    case AF_INET6:
        bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
            withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
        }
    default:
        return nil
    }
    var n = 0
    var seenZero = false
    for b in bytes {
        for bit in (0..<8).reversed() {
            if b & (1 << bit) != 0 {
                if seenZero { return nil }
                n += 1
            } else {
                seenZero = true
            }
        }
    }
    return n
}
