// The analyser pipeline over a sequence of packets: IP fragment reassembly (IPReassembler),
// Diagnosis (trackers and every analyser) and CaptureState (tcp.stream, dns.time, HTTP heads), then the end-of-capture evaluation.
//
// Input: byte 0 picks the link type (and whether the live system's evidence is consulted while
// the packets run, 0x40, and at the end, 0x80); then records until the input ends, at most 512:
//   tag   1 byte: 0x80 set: an absolute time follows, 8 bytes of seconds (big-endian, two's
//                 complement: any Int64) and 4 of nanoseconds (taken mod 1e9);
//                 otherwise the time advances by ((tag & 0x3f) << 16 | next 2 bytes) units,
//                 milliseconds when 0x40 is set, else microseconds
//   len   2 bytes, then `len` bytes of frame
// Fuzz/seeds.py writes the committed captures in this form.
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis
import FuzzSupport

let live = LiveEvidence(listeners: [Endpoint(IPAddress(v4: 0), 80), Endpoint(IPAddress(v4: 0x0a00_0002), 8080)],
                        localAddresses: [IPAddress(v4: 0x0a00_0002)],
                        counterDeltas: ["TcpExt.ListenOverflows": 3, "conntrack.insert_failed": 1],
                        sysctls: ["net.core.somaxconn": "4096"], source: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    body(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

private func body(_ data: UnsafeRawBufferPointer) {
    var r = InputReader(data)
    guard !r.isAtEnd else { return }
    let sel = Int(r.u8())
    let link = supportedLinkTypes[sel % supportedLinkTypes.count]
    let dissector = Dissector(linkType: link)
    let reassembler = IPReassembler()
    var diagnosis = Diagnosis(vips: [IPAddress(v4: 0x0a00_0063)])
    if sel & 0x40 != 0 { diagnosis.liveEvidence = { live } }  // as during a live capture
    var state = CaptureState(tracking: .all)
    var now = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var n = 0
    while !r.isAtEnd && n < 512 {
        let tag = r.u8()
        if tag & 0x80 != 0 {
            let s = Int64(bitPattern: r.u64())
            now = Timestamp(seconds: s, nanoseconds: Int32(r.u32() % 1_000_000_000))
        } else {
            let amount = Int64(tag & 0x3f) << 16 | Int64(r.u16())
            let total = Int64(now.nanoseconds) + amount * (tag & 0x40 != 0 ? 1_000_000 : 1_000)
            let (s, overflow) = now.seconds.addingReportingOverflow(total / 1_000_000_000)
            now = Timestamp(seconds: overflow ? .max : s, nanoseconds: Int32(total % 1_000_000_000))
        }
        let len = Int(r.u16())
        let frame = r.take(len)
        n += 1
        var p = dissector.dissect(ByteView(frame), number: n, timestamp: now, originalLength: frame.count)
        reassembler.process(&p)
        diagnosis.observe(p)
        state.track(&p)
        _ = p.tracked.dnsTime
    }
    diagnosis.finish(live: sel & 0x80 != 0 ? live : nil)
    var total = 0
    for f in diagnosis.findings {
        total &+= f.summary.utf8.count &+ f.evidence.count &+ f.measurements.count
        for e in f.evidence { total &+= e.note.utf8.count &+ Int(truncatingIfNeeded: e.timestamp.seconds) }
    }
    _ = total
}
