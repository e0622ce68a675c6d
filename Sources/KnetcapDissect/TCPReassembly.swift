import KnetcapWire

/// DNS over TCP reassembled from its segments (RFC 7766 §8, RFC 1035 §4.2.2: each message is a
/// two-byte length and that many bytes, any number of them in one segment or one across many),
/// as tshark's TCP desegmentation does: a message is dissected on the frame whose segment
/// completes it; a frame that completes several carries them all (`Packet.dns` the first,
/// `Packet.moreDNS` the rest); a frame that completes none carries no DNS layer. Packet lines
/// keep what the frame alone carries (`Packet.wire`), as tcpdump does not reassemble.
///
/// Per direction of a connection on a DNS port (`Dissector.application(port:)`):
/// - The byte stream starts after the SYN (ISN + 1, RFC 9293 §3.4). Without a SYN (a capture
///   started mid-connection) it starts at the first segment whose payload begins like a DNS
///   message (the dissector's check: standard opcode, 1-16 questions); before that, nothing is
///   reassembled.
/// - Bytes already taken (a retransmission, or the overlapping part of a segment) are not taken
///   again; a segment that is all old bytes keeps the dissector's own view of it. A segment past
///   the next expected byte is held until the gap is filled (at most `maxHeldSegments` per
///   direction); a gap that never fills leaves the stream where it was.
/// - A segment cut by the snaplen ends that direction's reassembly; it starts again, as without
///   a SYN, at a later segment that begins like a DNS message. RST and FIN end it after their
///   payload. A segment whose TCP header is cut is passed by.
/// - Bounded: at most `maxStreams` directions (new ones beyond are dissected per segment), a
///   message under way is at most 2 + 65 535 bytes, held segments at most `maxHeldBytes` per
///   direction; a direction idle `expiry` seconds of capture time is forgotten.
///
/// The reassembled messages live in a buffer owned here until the next `process` call, the same
/// lifetime as the packet source's buffer (a `Packet` is valid only in its callback).
public final class TCPDNSReassembler {
    public var maxStreams = 16_384
    public var maxHeldSegments = 32
    public var maxHeldBytes = 131_072
    /// Capture seconds a direction may stay idle (Linux's established-connection conntrack
    /// timeout is days; DNS over TCP connections are short, RFC 7766 §6.2.3 suggests seconds).
    public static let expiry: Int64 = 300

    struct Key: Hashable {
        var source: IPAddress, destination: IPAddress
        var sourcePort: UInt16, destinationPort: UInt16
    }
    struct Stream {
        var next: UInt32?           // the next stream byte expected; nil until aligned
        var pending: [UInt8] = []   // the message under way, from its length prefix
        var held: [(seq: UInt32, bytes: [UInt8])] = []
        var heldBytes = 0
        var last: Int64
    }
    private var streams: [Key: Stream] = [:]
    private var storage: UnsafeMutableRawBufferPointer?
    private var nextSweep: Int64 = .min

    public init() {}
    deinit { storage?.deallocate() }

    /// Looks at one dissected frame: on a DNS port's TCP segment, sets `dns`/`moreDNS` to the
    /// messages this segment completes (and `wire` to the frame's own layers when that differs
    /// from what the dissector found). Other frames return at once.
    public func process(_ p: inout Packet) {
        guard let t = p.tcp, !t.isTruncated,
              Dissector.application(port: t.sourcePort) == .dns || Dissector.application(port: t.destinationPort) == .dns,
              let src = p.sourceAddress, let dst = p.destinationAddress else { return }
        if p.fragment != nil && p.fragment?.reassembled == nil { return }  // a held IP fragment: no TCP yet
        let now = p.timestamp.seconds
        if now > nextSweep || now < nextSweep &- Self.expiry { sweep(now: now) }
        let key = Key(source: src, destination: dst, sourcePort: t.sourcePort, destinationPort: t.destinationPort)
        if t.flags.contains(.syn) {
            if streams[key] != nil || streams.count < maxStreams {
                streams[key] = Stream(next: t.sequence &+ 1, last: now)
            }
            return
        }
        let payload = t.payload
        guard let length = p.tcpSegmentLength, length >= 0 else { return }
        let ends = t.flags.contains(.rst) || t.flags.contains(.fin)
        guard var s = streams[key] ?? newStream(now: now) else { return }
        var forget = ends  // RST/FIN, or a cut segment: the direction is followed no further
        defer {
            if forget { streams[key] = nil } else { s.last = now; streams[key] = s }
        }
        if payload.count < length {  // cut by the snaplen: the stream cannot be followed
            forget = true
            return
        }
        if length == 0 { return }
        if s.next == nil {
            if p.dns != nil && p.dnsOverTCP { s.next = t.sequence } else { return }
        }
        guard var next = s.next else { return }
        let ahead = Int32(bitPattern: t.sequence &- next)
        if ahead > 0 {  // a gap before it: hold it until the gap fills
            if s.held.count < maxHeldSegments && s.heldBytes + length <= maxHeldBytes {
                s.held.append((t.sequence, Array(payload.base.prefix(length))))
                s.heldBytes += length
            }
            hide(&p)
            return
        }
        let skip = -Int(ahead)  // not Int(-ahead): -Int32.min traps
        if skip >= length { return }  // only bytes already taken: a retransmission, dissected alone
        let fast = s.pending.isEmpty && skip == 0 && s.held.isEmpty
        if fast, let d = p.dns, p.dnsOverTCP, p.dnsLength + 2 == length, d.bytes.count == p.dnsLength {
            // The common case: this segment is exactly one whole message, as the dissector found it.
            s.next = next &+ UInt32(length)
            return
        }
        s.pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload.base[skip..<length]))  // not Ethernet padding
        next = next &+ UInt32(length - skip)
        // Held segments the stream has now reached.
        var progressed = true
        while progressed && !s.held.isEmpty {
            progressed = false
            for (i, h) in s.held.enumerated() {
                let a = Int32(bitPattern: h.seq &- next)
                if a > 0 { continue }
                let k = -Int(a)
                if k < h.bytes.count {
                    s.pending.append(contentsOf: h.bytes[k...])
                    next = next &+ UInt32(h.bytes.count - k)
                }
                s.heldBytes -= h.bytes.count
                s.held.remove(at: i)
                progressed = true
                break
            }
        }
        s.next = next
        emit(&p, from: &s)
    }

    /// A new direction seen without its SYN, not yet aligned (the caller aligns it at a segment
    /// that starts a message); nil when `maxStreams` are followed.
    private func newStream(now: Int64) -> Stream? {
        guard streams.count < maxStreams else { return nil }
        return Stream(next: nil, last: now)
    }

    /// The whole messages at the front of `s.pending` become this frame's DNS layers.
    private func emit(_ p: inout Packet, from s: inout Stream) {
        var offsets: [(start: Int, length: Int)] = []
        var at = 0
        while s.pending.count - at >= 2 {
            let len = Int(s.pending[at]) << 8 | Int(s.pending[at + 1])
            guard s.pending.count - at - 2 >= len else { break }
            offsets.append((at + 2, len))
            at += 2 + len
        }
        storage?.deallocate(); storage = nil
        var messages: [DNSView] = []
        if !offsets.isEmpty {
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: at, alignment: 8)
            s.pending.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(at))) }
            storage = buf
            for o in offsets where o.length >= DNSView.headerLength {
                let view = ByteView(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[o.start..<(o.start + o.length)]))
                if let d = try? DNSView(view) { messages.append(d) }
            }
            s.pending.removeFirst(at)
        }
        p.keepWireLayers()
        p.dns = messages.first
        p.moreDNS = Array(messages.dropFirst())
        p.dnsLength = messages.first.map { $0.bytes.count } ?? 0
        p.dnsOverTCP = !messages.isEmpty
        if case .truncated(let e) = p.stop, "\(e.layer)" == "dns" { p.stop = .complete }
    }

    /// This frame completes no message: no DNS layer (its own view stays in `wire`).
    private func hide(_ p: inout Packet) {
        guard p.dns != nil else { return }
        storage?.deallocate(); storage = nil
        p.keepWireLayers()
        p.dns = nil; p.moreDNS = []; p.dnsLength = 0; p.dnsOverTCP = false
        if case .truncated(let e) = p.stop, "\(e.layer)" == "dns" { p.stop = .complete }
    }

    private func sweep(now: Int64) {
        nextSweep = now &+ 10
        if streams.count < maxStreams / 4 && streams.count < 1024 { return }
        streams = streams.filter { now &- $0.value.last <= Self.expiry && $0.value.last &- now <= Self.expiry }
    }
}
