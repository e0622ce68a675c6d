import KnetcapWire
import KnetcapDissect

/// A fragmented IP datagram seen in part and never completed (`IPReassembler` held its
/// fragments): evidence that its other fragments were lost on the way.
public struct IncompleteDatagram: Sendable {
    public var source: IPAddress, destination: IPAddress
    /// IP protocol of the datagram (17 = UDP), from the IPv4 header or the IPv6 Fragment header.
    public var proto: UInt8
    /// The fragments seen (at most `FragmentLedger.maxFramesKept`), in capture order.
    public var frames: [FrameRef]
    public var fragmentCount: Int
    /// Bytes of the datagram's payload the fragments seen cover, and its length when the last
    /// fragment was seen.
    public var bytesSeen: Int
    public var totalLength: Int?
    /// Whether the first fragment (offset 0) was seen, and then the UDP ports and DNS ID it carries.
    public var sawFirst: Bool
    public var ports: (source: UInt16, destination: UInt16)?
    public var dnsID: UInt16?
}

/// Follows IP fragments for the diagnosis, without their bytes: which datagrams were seen in
/// part and never completed. A datagram leaves the ledger when a frame completes it
/// (`Packet.fragment.reassembled`) or 30 s of capture time after its first fragment (Linux
/// `ipfrag_time`, as `IPReassembler`); at most `maxDatagrams` are followed.
struct FragmentLedger {
    static let maxFramesKept = 8
    static let maxDatagrams = 4096
    private var open: [FragmentInfo.Key: IncompleteDatagram] = [:]
    private var nextSweep: Int64 = .min

    mutating func observe(_ p: Packet) {
        if p.timestamp.seconds >= nextSweep, !open.isEmpty {
            let now = p.timestamp
            open = open.filter { now - $0.value.frames[0].time <= IPReassembler.expiry }
            nextSweep = now.seconds.saturatingAdd(1)
        }
        guard let f = p.fragment else { return }
        if f.reassembled != nil { open.removeValue(forKey: f.key); return }
        let frame = FrameRef(frame: p.number, time: p.timestamp)
        var d = open[f.key] ?? IncompleteDatagram(
            source: f.key.source, destination: f.key.destination,
            proto: f.key.v6 ? (p.ipv6?.fragmentNextHeader ?? 0) : f.key.proto,
            frames: [], fragmentCount: 0, bytesSeen: 0, sawFirst: false)
        if open[f.key] == nil && open.count >= Self.maxDatagrams { return }
        if d.frames.count < Self.maxFramesKept { d.frames.append(frame) }
        d.fragmentCount += 1
        d.bytesSeen += f.length
        if !f.more { d.totalLength = f.offset + f.length }
        if f.offset == 0 {
            d.sawFirst = true
            if let u = p.wire?.udp { d.ports = (u.sourcePort, u.destinationPort) }
            if let dns = p.wire?.dns { d.dnsID = dns.id }
        }
        open[f.key] = d
    }

    /// Incomplete datagrams from `source` to `destination` whose first fragment seen arrived in
    /// `window` (capture time), UDP only, oldest first. When a datagram's first fragment showed
    /// ports or a DNS ID, they must match `ports`/`id`.
    func incomplete(from source: Endpoint, to destination: Endpoint, id: UInt16, after start: Timestamp,
                    before end: Timestamp) -> [IncompleteDatagram] {
        open.values.filter { d in
            d.source == source.address && d.destination == destination.address && d.proto == 17
                && d.frames[0].time >= start && d.frames[0].time <= end
                && (d.ports.map { $0.source == source.port && $0.destination == destination.port } ?? true)
                && (d.dnsID.map { $0 == id } ?? true)
        }.sorted { $0.frames[0].frame < $1.frames[0].frame }
    }
}
