import CPcap
import CSignals
#if canImport(Glibc)
import Glibc
#endif

/// Several live libpcap handles read as one capture: one per network namespace (a node's
/// pods, each `--container`/`--pod`/`--netns`), each handle opened inside its namespace, whose
/// packet socket stays there. Each packet has `RawPacket.interface` = its handle's index (its
/// pcapng interface and vantage point).
///
/// Packets are delivered in timestamp order across the handles (the packet one pod sent
/// before the other pod received it comes first, as a mergecap of the handles' files would
/// have it). Each handle holds its next packet (libpcap's buffer stays valid until that
/// handle's next read). The earliest held packet goes first when every handle holds one (a
/// handle's packets come in order, so none can bring an earlier one), or once it is older
/// than `holdBack`: TPACKET_V3 hands a handle's packets over a ring block at a time, at the
/// latest at the block timeout (`PcapSource.openLive`'s 50 ms read timeout), so an empty
/// handle can still bring packets that old. Live packets are thus shown up to `holdBack`
/// late. `poll(2)` waits on the handles' selectable descriptors meanwhile.
///
/// A stop signal delivers the held packets in order and drains every handle as `PcapSource`
/// does (the packets stamped before it; across handles in handle order), then ends with
/// `.interrupted`.
public final class MultiPcapSource: PacketSource {
    public let sources: [PcapSource]
    /// Each handle's name as a vantage point (`shop/web-0/any`), by index.
    public let names: [String]
    /// The first handle's link type (each packet carries its own).
    public var linkType: Int32 { sources[0].linkType }
    public var isLive: Bool { true }
    /// How old (ns, by the packet's timestamp against CLOCK_REALTIME) a held packet must be to
    /// go before a handle that holds none: the ring block timeout (50 ms) and a margin.
    public static let holdBack: Int64 = 80_000_000

    /// - Precondition: `sources` is not empty, every one live.
    public init(sources: [PcapSource], names: [String]) {
        precondition(!sources.isEmpty && sources.allSatisfy(\.isLive))
        self.sources = sources
        self.names = names
    }

    public func forEach(_ body: (RawPacket) -> Bool) -> EndReason {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var fds: [pollfd] = []
        for (k, s) in sources.enumerated() {
            guard pcap_setnonblock(s.handle, 1, &errbuf) == 0 else {
                return .failed("\(names[k]): \(String(cString: errbuf))")
            }
            fds.append(pollfd(fd: pcap_get_selectable_fd(s.handle), events: Int16(POLLIN), revents: 0))
        }
        let n = sources.count
        var held = [RawPacket?](repeating: nil, count: n)
        var hdr: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        @inline(__always) func stamp(_ p: RawPacket) -> Int64 {
            let s = p.seconds.multipliedReportingOverflow(by: 1_000_000_000)
            return s.overflow ? (p.seconds < 0 ? .min : .max) : s.partialValue &+ Int64(p.nanoseconds)
        }
        /// The handle holding the earliest packet, and whether every handle holds one.
        @inline(__always) func earliest() -> (index: Int, all: Bool)? {
            var best = -1, bestStamp = Int64.max, all = true
            for k in 0..<n {
                guard let p = held[k] else { all = false; continue }
                let t = stamp(p)
                if best < 0 || t < bestStamp { best = k; bestStamp = t }
            }
            return best < 0 ? nil : (best, all)
        }
        while true {
            if knetcap_stop_level() != 0 {
                while let (k, _) = earliest() {
                    let p = held[k]!
                    held[k] = nil
                    if !body(p) { return .stoppedByCaller }
                }
                for (k, s) in sources.enumerated() {
                    var stopped = false
                    s.drain { p in
                        var p = p
                        p.interface = UInt32(k)
                        if !body(p) { stopped = true; return false }
                        return true
                    }
                    if stopped { return .stoppedByCaller }
                }
                return .interrupted
            }
            // Every handle not holding a packet is read once.
            for k in 0..<n where held[k] == nil {
                let s = sources[k]
                let rc = pcap_next_ex(s.handle, &hdr, &data)
                if rc == 1, let h = hdr, let d = data {
                    var p = s.raw(h, d)
                    p.interface = UInt32(k)
                    held[k] = p
                } else if rc < 0 && rc != PCAP_ERROR_BREAK {
                    return .failed("\(names[k]): \(String(cString: pcap_geterr(s.handle)))")
                }
            }
            var wait: Int64 = 50_000_000
            if let (k, all) = earliest() {
                let age = PcapSource.clock(CLOCK_REALTIME) &- stamp(held[k]!)
                if all || age >= Self.holdBack {
                    let p = held[k]!
                    held[k] = nil
                    if !body(p) { return .stoppedByCaller }
                    continue
                }
                wait = Self.holdBack - age
            }
            let ms = Int32(max(1, min(50, wait / 1_000_000)))
            _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), ms) }
        }
    }

    /// The handles' statistics summed.
    public func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        var total: (received: UInt32, dropped: UInt32, interfaceDropped: UInt32) = (0, 0, 0)
        for s in sources {
            guard let st = s.statistics() else { continue }
            total.received &+= st.received; total.dropped &+= st.dropped; total.interfaceDropped &+= st.interfaceDropped
        }
        return total
    }
}
