import KnetcapWire

/// `frame.*`: the captured frame (Wireshark's frame dissector).
enum FrameFields {
    /// The frame's tree line (packet-frame.c, dissect_frame): `Frame 1: 74 bytes on wire (592
    /// bits), 74 bytes captured (592 bits)`, then ` on interface eth0, id 0` when the record
    /// has an interface (its `if_name`, else `if_description`, else `unknown`, as tshark's
    /// provider names it). A systemd journal entry: `Systemd Journal Entry 3: 130 bytes`. A
    /// pcapng custom block has none here: tshark's names its enterprise (PEN) from Wireshark's
    /// enterprises database, which knetcap does not have.
    static let text: ProtocolTextReader = { p, f in
        switch p.recordType {
        case 0:
            var s = "Frame \(p.number): \(p.originalLength) bytes on wire (\(p.originalLength * 8) bits), "
                + "\(p.capturedLength) bytes captured (\(p.capturedLength * 8) bits)"
            if let id = p.interfaceID { s += " on interface \(p.interface?.name ?? "unknown"), id \(id)" }
            return f(s)
        case 4: return f("Systemd Journal Entry \(p.number): \(p.originalLength) bytes")
        default: return false
        }
    }

    static let table: [FieldDescriptor] = [
        .init("frame", .proto, "the captured frame (its bytes for contains/matches)", tracking: .record, text: text) { p, f in f(.bytes(p.bytes.base)) },
        .init("frame.number", .unsigned, "1-based frame number", bits: 32) { p, f in f(.uint(UInt64(p.number))) },
        .init("frame.time_epoch", .time, "capture time, seconds since the epoch") { p, f in p.hasTimestamp && f(.time(p.timestamp)) },
        .init("frame.time_relative", .relativeTime, "seconds since the first frame of the capture", tracking: .time,
              json: { p, f in p.hasTimestamp && p.tracked.isTracked && f(.ns(p.tracked.timeRelative)) }) { p, f in p.hasTimestamp && f(.ns(p.tracked.timeRelative)) },
        .init("frame.time_delta", .relativeTime, "seconds since the previous captured frame", tracking: .time,
              json: { p, f in p.hasTimestamp && p.tracked.isTracked && f(.ns(p.tracked.timeDelta)) }) { p, f in p.hasTimestamp && f(.ns(p.tracked.timeDelta)) },
        .init("frame.len", .unsigned, "bytes on the wire", bits: 32) { p, f in f(.uint(UInt64(p.originalLength))) },
        .init("frame.cap_len", .unsigned, "bytes captured", bits: 32) { p, f in f(.uint(UInt64(p.capturedLength))) },
        .init("frame.interface_id", .unsigned, "pcapng interface of the frame, within its section (none in a pcap file)", bits: 32,
              tracking: .record) { p, f in p.interfaceID.map { f(.uint(UInt64($0))) } ?? false },
        .init("frame.interface_name", .string, "the pcapng interface's if_name (else its if_description, else unknown)", tracking: .record) { p, f in
            p.interface.map { withText($0.name, f) } ?? false },
        .init("frame.interface_description", .string, "the pcapng interface's if_description", tracking: .record) { p, f in
            p.interface?.description.map { withText($0, f) } ?? false },
        .init("frame.comment", .string, "a pcapng packet comment (opt_comment; knetcap's findings are written so)", repeated: true,
              tracking: .record) { p, f in p.comments.contains { c in c.withUnsafeBytes { f(.bytes($0)) } } },
    ]
}
