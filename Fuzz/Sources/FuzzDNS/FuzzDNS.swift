// The DNS message parser and renderer: the input is one DNS message. Its header, questions,
// records, names (every spelling), EDNS0 OPT and tcpdump summary are read in place; then the
// message is carried over UDP and over TCP (length prefix) to port 53 and the packet line
// printer and the dns.* fields render it.
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
    if let d = try? DNSView(view) {
        var out = TextBuffer()
        d.summary(into: &out, length: data.count)
        d.forEachQuestion { q in
            _ = d.name(at: q.nameOffset)
            _ = d.name(at: q.nameOffset, lowercased: true)
            _ = d.withName(at: q.nameOffset) { ($0?.count ?? 0) > 0 }
            d.writeName(at: q.nameOffset, to: &out, trailingDot: false)
        }
        d.forEachRecord { r in
            d.writeRecord(r, to: &out)
            _ = d.name(at: r.nameOffset)
            _ = d.withName(at: r.nameOffset) { ($0?.count ?? 0) > 0 }
            return true
        }
        _ = d.opt
        _ = d.answersOffset
        _ = d.firstQuestion
    }
    let msg = Array(data.prefix(65_000))
    let udp = Frames.ipv4(proto: 17, Frames.udp(sport: 53, dport: 40000, msg))
    withPacket(udp) { p in
        readEveryField(p)
        _ = printLine(p, style: .epoch)
    }
    let tcp = Frames.ipv4(proto: 6, Frames.tcp(sport: 40000, dport: 53, seq: 1, ack: 1, flags: 0x18,
                                               Frames.be16(UInt16(msg.count)) + msg))
    withPacket(tcp) { p in
        readEveryField(p)
        _ = printLine(p, style: .epoch)
    }
}
