// The dissector over every supported link type: input byte 0 picks the link type (and how
// much longer than captured the frame was on the wire), the rest is the frame. Each packet
// is dissected, every registry field read, tracked by a fresh CaptureState and printed.
import KnetcapWire
import KnetcapDissect
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    body(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

private func body(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 1 else { return }
    let sel = Int(data[0])
    let link = supportedLinkTypes[sel % supportedLinkTypes.count]
    let extra = (sel / supportedLinkTypes.count) * 97  // 0: captured whole; else a snaplen cut
    let frame = ByteView(UnsafeRawBufferPointer(rebasing: data[1...]))
    var p = Dissector(linkType: link).dissect(frame, number: 1, timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: 5),
                                              originalLength: frame.count + extra)
    _ = p.isTruncated
    _ = p.tcpSegmentLength
    _ = p.ipPayloadLength
    readEveryField(p)
    var state = CaptureState(tracking: .all)
    state.track(&p)
    readEveryField(p)
    _ = printLine(p, style: allTimestampStyles[sel % allTimestampStyles.count], nano: sel & 1 == 1, absolute: sel & 2 == 2)
}
