// The display-filter pipeline: the input is a filter expression (UTF-8). It is lexed, parsed,
// checked against the field registry and compiled; when it compiles it is evaluated on a
// fixed set of packets (DNS query and answers, TCP handshake with options, HTTP request and
// response, IPv6, ICMP errors, Linux cooked), tracked by CaptureState like the CLI does.
import KnetcapWire
import KnetcapDissect
import KnetcapFilter
import FuzzSupport

func ether(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1] + Frames.be16(type) + payload
}

func dnsName(_ s: String) -> [UInt8] {
    s.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}

let qname = dnsName("api.knetcap.test")
let query: [UInt8] = [0x4d, 0x60, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1] + qname + [0, 1, 0, 1]
    + [0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]  // OPT, 1232 bytes, DO
let answer: [UInt8] = [0x4d, 0x60, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0] + qname + [0, 1, 0, 1]
    + [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x61, 0xc0, 12]       // CNAME a.api...
    + [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 96, 0, 10]       // A 10.96.0.10
let nx: [UInt8] = [0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0] + dnsName("x.svc.cluster.local") + [0, 28, 0, 1]
let synOptions: [UInt8] = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 3, 3, 7]
func tcpWithOptions(sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt16, _ data: [UInt8]) -> [UInt8] {
    Frames.be16(sport) + Frames.be16(dport) + Frames.be32(seq) + Frames.be32(ack)
        + [0xa0 | UInt8(flags >> 8 & 0x0f), UInt8(flags & 0xff), 0xfa, 0xf0, 0, 0, 0, 0] + synOptions + data
}
let get = Array("GET /mytest?q=1 HTTP/1.1\r\nHost: lbtest.example\r\nUser-Agent: curl/8.0\r\nContent-Length: 0\r\n\r\n".utf8)
let ok = Array("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnope".utf8)
let v6src: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
let v6dst: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]
func ipv6(_ next: UInt8, _ payload: [UInt8]) -> [UInt8] {
    [0x60, 0, 0, 0] + Frames.be16(UInt16(payload.count)) + [next, 64] + v6src + v6dst + payload
}

let frames: [(LinkType, [UInt8], Int64)] = [
    (.raw, Frames.ipv4(proto: 17, Frames.udp(sport: 43135, dport: 53, query)), 0),
    (.raw, Frames.ipv4(proto: 17, Frames.udp(sport: 53, dport: 43135, answer), src: 0x0a00_0002, dst: 0x0a00_0001), 1),
    (.ethernet, ether(0x0800, Frames.ipv4(proto: 17, Frames.udp(sport: 53, dport: 40001, nx), src: 0x0a00_0002, dst: 0x0a00_0001)), 2),
    (.ethernet, ether(0x0800, Frames.ipv4(proto: 6, tcpWithOptions(sport: 40000, dport: 80, seq: 100, ack: 0, flags: 0x02, []))), 3),
    (.ethernet, ether(0x0800, Frames.ipv4(proto: 6, tcpWithOptions(sport: 80, dport: 40000, seq: 500, ack: 101, flags: 0x12, []),
                                          src: 0x0a00_0002, dst: 0x0a00_0001)), 4),
    (.ethernet, ether(0x0800, Frames.ipv4(proto: 6, Frames.tcp(sport: 40000, dport: 80, seq: 101, ack: 501, flags: 0x18, get))), 5),
    (.ethernet, ether(0x0800, Frames.ipv4(proto: 6, Frames.tcp(sport: 80, dport: 40000, seq: 501, ack: 101 + UInt32(get.count), flags: 0x19, ok),
                                          src: 0x0a00_0002, dst: 0x0a00_0001)), 6),
    (.ethernet, ether(0x8100, [0, 5, 0x86, 0xdd] + ipv6(17, Frames.udp(sport: 5353, dport: 53, query))), 7),
    (.raw, Frames.ipv4(proto: 1, [3, 3, 0, 0, 0, 0, 0, 0] + Frames.ipv4(proto: 17, Frames.udp(sport: 40000, dport: 53, Array(query.prefix(12))))), 8),
    (.raw, ipv6(58, [128, 0, 0, 0, 0, 1, 0, 1, 0xde, 0xad]), 9),
    (.linuxSLL2, Frames.be16(0x0800) + [0, 0] + Frames.be32(3) + [0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]
        + Frames.ipv4(proto: 6, Frames.tcp(sport: 40002, dport: 443, seq: 7, ack: 9, flags: 0x04, [])), 10),
]

/// The packets, dissected once over buffers that live as long as the process.
let packets: [Packet] = {
    var state = CaptureState(tracking: .all)
    return frames.enumerated().map { i, f in
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: f.1.count, alignment: 8)
        buf.copyBytes(from: f.1)
        var p = Dissector(linkType: f.0).dissect(ByteView(UnsafeRawBufferPointer(buf)), number: i + 1,
                                                 timestamp: Timestamp(seconds: 1_700_000_000 + f.2 / 4, nanoseconds: Int32(f.2) * 1_000_003),
                                                 originalLength: f.1.count)
        state.track(&p)
        return p
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    body(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

private func body(_ data: UnsafeRawBufferPointer) {
    guard data.count <= 4096 else { return }
    let expression = String(decoding: data, as: UTF8.self)
    guard let filter = try? DisplayFilter(expression) else { return }
    for p in packets { _ = filter.matches(p) }
}
