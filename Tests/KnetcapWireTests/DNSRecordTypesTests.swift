import Testing
import KnetcapWire

/// `DNSView.learnAnswersOffset()` walks the records once and keeps their types, so the JSON
/// writer skips a field's walk when its type is absent (`mayHold`, issue 11). It must never
/// say "absent" of a type a record walk would reach, nor before it walked.
@Suite struct DNSRecordTypesTests {
    /// A response to `a.b` A with a CNAME (`c.b`) then an A record 10.0.0.1; `cut` bytes off the end.
    func message(cut: Int = 0) -> [UInt8] {
        var m: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]
        m += [1, 0x61, 1, 0x62, 0, 0, 1, 0, 1]                             // question a.b A IN
        m += [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x63, 0xc0, 14]  // a.b CNAME c.b
        m += [0xc0, 31, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]        // c.b A 10.0.0.1
        return Array(m.dropLast(cut))
    }

    @Test func typesOfTheRecordsAWalkReaches() throws {
        try message().withUnsafeBytes { raw in
            var d = try DNSView(ByteView(raw))
            for t in [DNSType.a, .aaaa, .cname, .srv, .opt] { #expect(d.mayHold(t), "not walked: \(t.rawValue)") }
            d.learnAnswersOffset()
            #expect(d.mayHold(.a) && d.mayHold(.cname))
            #expect(!d.mayHold(.aaaa) && !d.mayHold(.srv) && !d.mayHold(.opt) && !d.mayHold(.mx) && !d.mayHold(.ptr))
            var seen: [UInt16] = []
            d.forEachRecord { seen.append($0.type.rawValue); return true }
            #expect(seen == [5, 1])
        }
        // The A record cut short: the walk stops at it, and so does what was learned.
        try message(cut: 2).withUnsafeBytes { raw in
            var d = try DNSView(ByteView(raw))
            d.learnAnswersOffset()
            #expect(d.mayHold(.cname))
            #expect(!d.mayHold(.a))
        }
    }
}
