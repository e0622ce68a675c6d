import KnetcapWire

/// What an IP fragment is to its datagram, set by `IPReassembler` on every fragment.
public struct FragmentInfo: Sendable {
    /// The datagram a fragment belongs to: addresses, identification and protocol (RFC 791
    /// §3.2; RFC 8200 §4.5 has no protocol in the key, the Fragment header's Next Header is
    /// taken from the first fragment).
    public struct Key: Hashable, Sendable {
        public var source: IPAddress, destination: IPAddress
        public var id: UInt32
        public var proto: UInt8
        public var v6: Bool
    }
    public var key: Key
    /// This fragment's offset and length in the datagram's payload, bytes; `more` is MF.
    public var offset: Int, length: Int
    public var more: Bool
    /// Set on the frame that completed the datagram: its fragments' frame numbers in
    /// offset order (`ip.fragment` / `ipv6.fragment`) and the reassembled payload length
    /// (`ip.reassembled.length`).
    public var reassembled: (frames: [Int], length: Int)?
}

extension Packet {
    /// The datagram this frame completed (IPv4 or IPv6 as `v6` says): its fragments' frame
    /// numbers and payload length; nil on other frames.
    public func reassembled(v6: Bool) -> (frames: [Int], length: Int)? {
        guard let f = fragment, f.key.v6 == v6 else { return nil }
        return f.reassembled
    }
}

/// The transport layers as a frame alone carries them, kept when reassembly replaced them
/// (`Packet.wire`): tcpdump does not reassemble, so packet lines print these.
public struct WireLayers {
    public var tcp: TCPView?, udp: UDPView?, icmp: ICMPView?, dns: DNSView?
    public var dnsLength: Int, dnsOverTCP: Bool, stop: Stop
}

extension Packet {
    /// Keeps the transport layers this frame alone carries in `wire`, before a reassembler
    /// replaces them (the first reassembler to change a frame keeps them).
    mutating func keepWireLayers() {
        guard wire == nil else { return }
        wire = WireLayers(tcp: tcp, udp: udp, icmp: icmp, dns: dns, dnsLength: dnsLength, dnsOverTCP: dnsOverTCP, stop: stop)
    }
}

/// IPv4 and IPv6 fragment reassembly as Linux does it (`net/ipv4/ip_fragment.c`,
/// `net/ipv6/reassembly.c`, `inet_frag_queue_insert`): a datagram is dissected once complete,
/// on the frame that completes it, as tshark does; the frames before it carry no transport
/// layer (their own bytes stay in `Packet.wire` for packet lines).
///
/// - An exact duplicate of a fragment already held is ignored; any other overlap discards the
///   whole datagram (RFC 5722; Linux since 4.19 for IPv4 too). A second, different last
///   fragment, a fragment past the last one's end or past 65 535 bytes, and an IPv6
///   non-last fragment whose length is not a multiple of 8 (RFC 8200 §4.5) discard it too.
/// - A datagram not complete 30 s (capture time) after its first fragment is dropped
///   (Linux `ipfrag_time`). At most `maxDatagrams` datagrams and `maxBytes` bytes of fragment
///   data are held (Linux `ipfrag_high_thresh` is 4 MiB); a fragment beyond either is not
///   held and its datagram is never reassembled.
/// - A fragment cut by the snaplen is held by its length but its datagram is not dissected
///   (`Stop.truncated`).
///
/// The reassembled bytes live in a buffer owned here until the next `process` call, the same
/// lifetime as the packet source's buffer (a `Packet` is valid only in its callback).
public final class IPReassembler {
    /// Capture seconds a datagram may take to complete (Linux `net.ipv4.ipfrag_time`).
    public static let expiry = 30.0
    public var maxDatagrams = 4096
    public var maxBytes = 4 << 20

    private struct Piece { var offset: Int, end: Int, frame: Int, data: [UInt8]?, cut: Bool }
    private struct Pending {
        var pieces: [Piece] = []  // sorted by offset, never overlapping
        var total: Int?           // payload length, known from the last fragment
        var first: Timestamp
        var proto: UInt8?         // IPv6: the first fragment's Next Header
        var bytes = 0
    }
    private var pending: [FragmentInfo.Key: Pending] = [:]
    private var held = 0
    private var nextSweep: Int64 = .min
    private var buffer: UnsafeMutableRawBufferPointer?

    public init() {}
    deinit { buffer?.deallocate() }

    /// Looks at one dissected frame: a fragment is held (its transport layers moved to
    /// `p.wire`) or, when it completes its datagram, the datagram's transport layers are
    /// dissected from the reassembled payload into `p`. Other frames are untouched.
    public func process(_ p: inout Packet) {
        buffer?.deallocate(); buffer = nil
        if p.timestamp.seconds >= nextSweep { sweep(now: p.timestamp); nextSweep = p.timestamp.seconds.saturatingAdd(1) }
        let key: FragmentInfo.Key, offset: Int, more: Bool, data: ByteView, length: Int, cut: Bool
        var proto: UInt8? = nil
        if let ip = p.ipv4, ip.isFragment {
            key = .init(source: ip.source, destination: ip.destination, id: UInt32(ip.identification), proto: ip.proto.rawValue, v6: false)
            offset = ip.fragmentOffset; more = ip.moreFragments
            length = ip.totalLength - ip.headerLength
            data = ip.payload
            cut = ip.isTruncated
        } else if let ip = p.ipv6, ip.isFragment, ip.fragmentHeaderEnd > 0 {
            key = .init(source: ip.source, destination: ip.destination, id: ip.fragmentID, proto: 0, v6: true)
            offset = ip.fragmentOffset; more = ip.moreFragments
            let plen = ip.payloadLength == 0 ? ip.end - 40 : ip.payloadLength
            length = 40 + plen - ip.fragmentHeaderEnd
            data = ip.bytes.slice(from: ip.fragmentHeaderEnd, length: max(0, ip.end - ip.fragmentHeaderEnd))
            cut = ip.isTruncated || data.count < length
            if offset == 0 { proto = ip.fragmentNextHeader }
        } else {
            return
        }
        var info = FragmentInfo(key: key, offset: offset, length: max(0, length), more: more)
        p.keepWireLayers()
        if p.icmp != nil { p.icmpQuote = nil }
        p.tcp = nil; p.udp = nil; p.icmp = nil; p.dns = nil; p.dnsLength = 0; p.dnsOverTCP = false
        if case .malformed = p.stop {} else { p.stop = .complete }
        defer { p.fragment = info }
        guard length > 0 else { return }
        if let assembled = insert(key, offset: offset, length: length, more: more, frame: p.number, time: p.timestamp,
                                  data: data, cut: cut, proto: proto) {
            info.reassembled = (assembled.frames, assembled.length)
            if let payload = assembled.payload {
                do throws(WireError) {
                    try Dissector.dissectTransport(&p, IPProtocol(rawValue: assembled.proto), payload, ipTruncated: false)
                } catch {
                    p.stop = error.kind == .truncated ? .truncated(error) : .malformed(error)
                }
            } else {
                p.stop = .truncated(WireError("ip.reassembled", .truncated, need: assembled.length, have: 0, reason: "fragment cut by the snaplen"))
            }
        }
    }

    /// Holds one fragment; returns the datagram when this fragment completed it.
    private func insert(_ key: FragmentInfo.Key, offset: Int, length: Int, more: Bool, frame: Int, time: Timestamp,
                        data: ByteView, cut: Bool, proto: UInt8?)
        -> (frames: [Int], length: Int, proto: UInt8, payload: ByteView?)? {
        var end = offset + length
        if !key.v6 && more { end &= ~7 }  // Linux trims a non-last IPv4 fragment to 8 bytes
        if key.v6 && more && length % 8 != 0 { discard(key); return nil }
        guard end > offset, end <= 65_535 else { discard(key); return nil }
        var d: Pending
        if let existing = pending[key] {
            d = existing
        } else {
            guard pending.count < maxDatagrams else { return nil }
            d = Pending(first: time)
        }
        if !more {
            if let t = d.total, t != end { discard(key); return nil }   // two different tails
            if let last = d.pieces.last, last.end > end { discard(key); return nil }
            d.total = end
        } else if let t = d.total, end > t {
            discard(key); return nil
        }
        // Where this piece goes; an exact duplicate is dropped, any other overlap kills the datagram.
        var i = d.pieces.count
        while i > 0 && d.pieces[i - 1].offset >= offset { i -= 1 }
        if i < d.pieces.count, d.pieces[i].offset == offset, d.pieces[i].end == end { pending[key] = d; return nil }
        if i > 0, d.pieces[i - 1].end > offset { discard(key); return nil }
        if i < d.pieces.count, d.pieces[i].offset < end { discard(key); return nil }
        let n = end - offset
        guard held + n <= maxBytes else { if pending[key] != nil { discard(key) }; return nil }
        let piece = Piece(offset: offset, end: end, frame: frame,
                          data: cut || data.count < n ? nil : Array(UnsafeRawBufferPointer(rebasing: data.base[0..<n])), cut: cut || data.count < n)
        d.pieces.insert(piece, at: i)
        d.bytes += n; held += n
        if let p = proto { d.proto = p }
        // Complete: the tail is known and the pieces cover 0 ..< total without a gap.
        guard let total = d.total, d.pieces.first?.offset == 0 else { pending[key] = d; return nil }
        var covered = 0
        for q in d.pieces { if q.offset != covered { pending[key] = d; return nil }; covered = q.end }
        guard covered == total else { pending[key] = d; return nil }
        pending.removeValue(forKey: key)
        held -= d.bytes
        let frames = d.pieces.map(\.frame)
        let upper = key.v6 ? (d.proto ?? 59) : key.proto
        guard !d.pieces.contains(where: { $0.cut }) else { return (frames, total, upper, nil) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 8)
        for q in d.pieces { q.data!.withUnsafeBytes { buf.baseAddress!.advanced(by: q.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        buffer = buf
        return (frames, total, upper, ByteView(UnsafeRawBufferPointer(buf)))
    }

    private func discard(_ key: FragmentInfo.Key) {
        if let d = pending.removeValue(forKey: key) { held -= d.bytes }
    }

    /// Drops datagrams older than `expiry` (capture time).
    private func sweep(now: Timestamp) {
        guard !pending.isEmpty else { return }
        let old = pending.filter { now - $0.value.first > Self.expiry }
        for (k, d) in old { pending.removeValue(forKey: k); held -= d.bytes }
    }
}
