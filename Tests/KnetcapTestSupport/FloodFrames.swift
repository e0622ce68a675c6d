import KnetcapCapture

/// Hand-made LINKTYPE_RAW IPv4 packets for the state-limit tests (issue 11): SYNs and DNS
/// queries from distinct sources, and a filler packet that keeps a capture going.
public enum FloodFrames {
    /// An IPv4 address from four bytes.
    public typealias Address = (UInt8, UInt8, UInt8, UInt8)

    static func ipv4(_ proto: UInt8, _ src: Address, _ dst: Address, _ payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, proto, 0, 0,
                src.0, src.1, src.2, src.3, dst.0, dst.1, dst.2, dst.3] + payload
    }

    /// A SYN (no options) from `src`:`sport` to `dst`:`dport` with sequence number `seq`.
    public static func syn(_ src: Address, _ sport: UInt16, _ dst: Address, _ dport: UInt16, seq: UInt32) -> [UInt8] {
        ipv4(6, src, dst, [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff),
                           UInt8(seq >> 24), UInt8(seq >> 16 & 0xff), UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff),
                           0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0])
    }

    /// A TCP segment with `flags` (0x12 SYN-ACK, 0x10 ACK) and the given numbers.
    public static func segment(_ src: Address, _ sport: UInt16, _ dst: Address, _ dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8) -> [UInt8] {
        ipv4(6, src, dst, [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff),
                           UInt8(seq >> 24), UInt8(seq >> 16 & 0xff), UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff),
                           UInt8(ack >> 24), UInt8(ack >> 16 & 0xff), UInt8(ack >> 8 & 0xff), UInt8(ack & 0xff),
                           0x50, flags, 0xff, 0xff, 0, 0, 0, 0])
    }

    /// `count` handshakes from distinct sources to 10.0.0.4:8080 within one second, each SYN
    /// answered by a SYN-ACK; `completed`: the client's ACK follows (a busy, healthy server),
    /// otherwise never (a flood answered with SYN cookies). Then filler packets to +10 s.
    public static func answeredHandshakes(_ count: Int, completed: Bool) -> [MemorySource.Frame] {
        var list: [(Int64, Int, [UInt8])] = []
        let server: Address = (10, 0, 0, 4)
        for n in 0..<count {
            let (a, p) = source(n), isn = UInt32(1000 + n), sisn = UInt32(900_000 + n), us = n * 1_000_000 / count
            list.append((0, us, syn(a, p, server, 8080, seq: isn)))
            list.append((0, us + 100, segment(server, 8080, a, p, seq: sisn, ack: isn &+ 1, flags: 0x12)))
            if completed { list.append((0, us + 200, segment(a, p, server, 8080, seq: isn &+ 1, ack: sisn &+ 1, flags: 0x10))) }
        }
        for s in 1...10 { list.append((Int64(s), 0, filler())) }
        return frames(list)
    }

    /// A DNS A query for `name` from `src`:`sport` to `dst`:53.
    public static func query(_ src: Address, _ sport: UInt16, _ dst: Address, id: UInt16, _ name: String) -> [UInt8] {
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { m.append(UInt8(label.utf8.count)); m += Array(label.utf8) }
        m += [0, 0, 1, 0, 1]
        let len = 8 + m.count
        return ipv4(17, src, dst, [UInt8(sport >> 8), UInt8(sport & 0xff), 0, 53, UInt8(len >> 8), UInt8(len & 0xff), 0, 0] + m)
    }

    /// A DNS answer between two other hosts that answers no query here: the capture (and its
    /// DNS traffic, which is what the DNS tracker watches) goes on.
    public static func filler() -> [UInt8] {
        let m: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x78, 0, 0, 1, 0, 1]
        let len = 8 + m.count
        return ipv4(17, (192, 0, 2, 2), (192, 0, 2, 1), [0, 53, 0x30, 0x39, UInt8(len >> 8), UInt8(len & 0xff), 0, 0] + m)
    }

    /// The n-th distinct source: 100.64.x.y, 16 ports per address.
    public static func source(_ n: Int) -> (Address, UInt16) {
        let a = 1 + n / 16
        return ((100, 64, UInt8(a >> 8 & 0xff), UInt8(a & 0xff)), UInt16(20000 + n % 16))
    }

    /// One A query from 10.0.0.9:40000 to 10.0.0.10:53 (id 77) sent 60 times, every 5 s from
    /// +0 s to +295 s, never answered; filler packets every second to +340 s.
    public static func queryRetriedSixtyTimes() -> [MemorySource.Frame] {
        var list: [(Int64, Int, [UInt8])] = []
        for i in 0..<60 { list.append((Int64(i) * 5, 0, query((10, 0, 0, 9), 40000, (10, 0, 0, 10), id: 77, "retry.example"))) }
        for s in stride(from: 1, through: 340, by: 1) { list.append((Int64(s), 500_000, filler())) }
        list.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        return frames(list)
    }

    /// Frames at `(seconds, microseconds, bytes)`, for a `MemorySource`.
    public static func frames(_ list: [(Int64, Int, [UInt8])]) -> [MemorySource.Frame] {
        list.map { MemorySource.Frame(seconds: 1_700_000_000 + $0.0 + Int64($0.1 / 1_000_000), nanoseconds: Int32($0.1 % 1_000_000 * 1000), bytes: $0.2) }
    }

    /// 100 clients to 10.0.0.2:80 whose SYNs are re-sent at +1 s and +3 s, never answered (each
    /// a `tcp.syn-unanswered`), then at +4 s `floodSize` single SYNs from distinct sources to
    /// 10.0.0.3:443, then filler packets to +100 s (every handshake is judged).
    public static func victimsThenFlood(floodSize: Int = 1000) -> [MemorySource.Frame] {
        var list: [(Int64, Int, [UInt8])] = []
        for round in [0, 1, 3] as [Int64] {
            for i in 0..<100 { list.append((round, i * 1000, syn((10, 0, 1, UInt8(i)), 40000, (10, 0, 0, 2), 80, seq: UInt32(7 + i)))) }
        }
        for n in 0..<floodSize {
            let (a, p) = source(n)
            list.append((4, n * 10, syn(a, p, (10, 0, 0, 3), 443, seq: UInt32(truncatingIfNeeded: n &* 2_654_435_761))))
        }
        for s in stride(from: 5, through: 100, by: 5) { list.append((Int64(s), 0, filler())) }
        return frames(list)
    }

    /// `count` distinct DNS queries to 10.96.0.10:53 within the first second, never answered,
    /// then a filler packet every second to +10 s (each query is judged a timeout).
    public static func unansweredQueries(_ count: Int) -> [MemorySource.Frame] {
        var list: [(Int64, Int, [UInt8])] = []
        for n in 0..<count {
            let (a, p) = source(n)
            list.append((0, n * 1_000_000 / count, query(a, p, (10, 96, 0, 10), id: UInt16(n & 0xffff), "q\(n).flood.test")))
        }
        for s in 1...10 { list.append((Int64(s), 0, filler())) }
        return frames(list)
    }
}
