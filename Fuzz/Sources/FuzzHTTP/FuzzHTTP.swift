// The HTTP/1.x head parser: the input is the start of a TCP stream. It is parsed whole
// (start line, headers, tcpdump's summary), then cut into 1-8 segments (byte 0 says how
// many) sent in order on one connection, so CaptureState joins a head split across segments
// and the http.* fields read it.
import KnetcapWire
import KnetcapDissect
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    body(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

private func body(_ data: UnsafeRawBufferPointer) {
    let view = ByteView(data)
    _ = HTTP.startsMessage(view)
    _ = HTTP.headEnd(view)
    if let m = HTTP.parse(view) { _ = (m.method, m.uri, m.statusCode, m.host, m.contentLength) }
    var out = TextBuffer()
    HTTP.writeSummary(view, to: &out)

    guard data.count >= 1 else { return }
    let segments = Int(data[0] & 7) + 1
    let stream = Array(data.dropFirst())
    let size = max(1, (stream.count + segments - 1) / segments)
    var state = CaptureState(tracking: .all)
    var seq: UInt32 = 1000
    var start = 0
    var n = 0
    while start < stream.count || n == 0 {
        let piece = Array(stream[start..<min(stream.count, start + size)])
        n += 1
        let frame = Frames.ipv4(proto: 6, Frames.tcp(sport: 40000, dport: 8080, seq: seq, ack: 1, flags: 0x18, piece))
        withPacket(frame, number: n) { p in
            state.track(&p)
            readEveryField(p)
        }
        seq &+= UInt32(piece.count)
        start += size
        if piece.isEmpty { break }
    }
}
