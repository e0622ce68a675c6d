import KnetcapWire

/// A TCP connection's sequence bases, one per direction (`FlowKey.a` → `b` and back), for
/// sequence and acknowledgment numbers relative to them: tcpdump's without `-S`
/// (`PacketLinePrinter`) and tshark's `tcp.seq`/`tcp.ack` (`CaptureState`). The two learn the
/// bases differently; the arithmetic (modulo 2^32, RFC 9293 §3.4) is this one.
struct SequenceBases {
    /// Base of the sequence numbers sent from `a` and from `b`.
    var a: UInt32 = 0
    var b: UInt32 = 0

    /// A segment's numbers relative to the bases; `fromA` when it runs from `a` to `b`.
    @inline(__always) func relative(seq: UInt32, ack: UInt32, fromA: Bool) -> (seq: UInt32, ack: UInt32) {
        fromA ? (seq &- a, ack &- b) : (seq &- b, ack &- a)
    }
}
