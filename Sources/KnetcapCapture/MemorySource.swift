import CPcap

/// Packets held in memory, delivered as a file source would deliver them (for tests and
/// tools that build packets): each frame with its capture time and length on the wire.
public final class MemorySource: PacketSource {
    public struct Frame: Sendable {
        public var seconds: Int64
        public var nanoseconds: Int32
        public var bytes: [UInt8]
        /// Length on the wire (at least `bytes.count`).
        public var originalLength: Int
        public init(seconds: Int64, nanoseconds: Int32, bytes: [UInt8], originalLength: Int? = nil) {
            self.seconds = seconds; self.nanoseconds = nanoseconds; self.bytes = bytes
            self.originalLength = max(originalLength ?? bytes.count, bytes.count)
        }
    }

    public let linkType: Int32
    public let frames: [Frame]
    public var isLive: Bool { false }

    public init(linkType: Int32, frames: [Frame]) {
        self.linkType = linkType
        self.frames = frames
    }

    public func forEach(_ body: (RawPacket) -> Bool) -> EndReason {
        for f in frames {
            var h = pcap_pkthdr()
            h.ts.tv_sec = Int(truncatingIfNeeded: f.seconds)
            h.ts.tv_usec = Int(f.nanoseconds / 1000)
            h.caplen = UInt32(truncatingIfNeeded: f.bytes.count)
            h.len = UInt32(truncatingIfNeeded: f.originalLength)
            let more = f.bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &h) { hp in
                    body(RawPacket(seconds: f.seconds, nanoseconds: f.nanoseconds, capturedLength: b.count,
                                   originalLength: f.originalLength, bytes: b, header: hp, linkType: linkType))
                }
            }
            if !more { return .stoppedByCaller }
        }
        return .endOfFile
    }

    public func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? { nil }
}
