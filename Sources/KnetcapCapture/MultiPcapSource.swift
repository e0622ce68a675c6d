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
/// have it): each handle holds its next packet (libpcap's buffer stays valid until that
/// handle's next read), and the earliest held one goes first, once every other handle has
/// been read and is empty or holding a later one. The handles should be opened in immediate
/// mode (libpcap then uses TPACKET_V2, each frame visible at once; TPACKET_V3 hands packets
/// over a block at a time, up to its timeout late). `poll(2)` waits on their selectable
/// descriptors when all are empty.
///
/// A stop signal delivers the held packets and drains every handle as `PcapSource` does (the
/// packets stamped before it), then ends with `.interrupted`.
public final class MultiPcapSource: PacketSource {
    public let sources: [PcapSource]
    /// Each handle's name as a vantage point (`shop/web-0/any`), by index.
    public let names: [String]
    /// The first handle's link type (each packet carries its own).
    public var linkType: Int32 { sources[0].linkType }
    public var isLive: Bool { true }

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
        var held = [RawPacket?](repeating: nil, count: sources.count)
        var hdr: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        func earlier(_ a: RawPacket, _ b: RawPacket) -> Bool {
            a.seconds != b.seconds ? a.seconds < b.seconds : a.nanoseconds < b.nanoseconds
        }
        while true {
            if knetcap_stop_level() != 0 {
                // The held packets in time order, then what each handle still has.
                while let k = held.indices.filter({ held[$0] != nil }).min(by: { earlier(held[$0]!, held[$1]!) }) {
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
            for (k, s) in sources.enumerated() where held[k] == nil {
                let rc = pcap_next_ex(s.handle, &hdr, &data)
                if rc == 1, let h = hdr, let d = data {
                    var p = s.raw(h, d)
                    p.interface = UInt32(k)
                    held[k] = p
                } else if rc < 0 && rc != PCAP_ERROR_BREAK {
                    return .failed("\(names[k]): \(String(cString: pcap_geterr(s.handle)))")
                }
            }
            guard let k = held.indices.filter({ held[$0] != nil }).min(by: { earlier(held[$0]!, held[$1]!) }) else {
                _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 50) }
                continue
            }
            let p = held[k]!
            held[k] = nil
            if !body(p) { return .stoppedByCaller }
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
