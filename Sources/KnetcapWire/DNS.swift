/// DNS message (RFC 1035 §4.1) read in place: header, questions and resource records with
/// name compression (§4.1.4), EDNS0 OPT (RFC 6891).
///
/// Validated at init: the 12-byte header. Sections are walked on demand, every read
/// bounds-checked: compression pointers must point strictly backwards (so a walk cannot loop),
/// names are at most 255 bytes, and record walks stop at the first record that does not fit
/// (then `isTruncated` style results are reported by the walkers, never a trap).
public struct DNSView {
    public static let headerLength = 12
    /// Longest name in wire form (RFC 1035 §2.3.4).
    public static let maxNameLength = 255
    /// Most records walked per message (guards against counts of 65535 on tiny packets).
    public static let maxRecords = 512

    public let bytes: ByteView
    /// `answersOffset` once `learnAnswersOffset()` walked the questions: -1 not walked, -2
    /// the questions do not fit. A writer of many fields (`--json`, `-T fields`) walks them
    /// once per packet instead of once per field that reads a record (issue 11).
    var knownAnswersOffset: Int32 = -1
    /// The record types the message holds (`typeBit`, with 0x8000 set) once
    /// `learnAnswersOffset()` walked its records too; 0 not walked. A writer of many fields
    /// skips the walk of a field whose type is absent (`mayHold`).
    @usableFromInline var knownRecordTypes: UInt16 = 0

    /// - Throws: `WireError` truncated when fewer than 12 bytes were captured.
    public init(_ bytes: ByteView) throws(WireError) {
        guard bytes.count >= Self.headerLength else {
            throw WireError("dns", .truncated, need: Self.headerLength, have: bytes.count)
        }
        self.bytes = bytes
    }

    /// `dns.id`
    public var id: UInt16 { bytes.be16(0) }
    public var flags: UInt16 { bytes.be16(2) }
    /// `dns.flags.response`: QR bit.
    public var isResponse: Bool { flags & 0x8000 != 0 }
    /// `dns.flags.opcode`
    public var opcode: UInt8 { UInt8(truncatingIfNeeded: flags >> 11) & 0x0f }
    public var authoritative: Bool { flags & 0x0400 != 0 }
    /// `dns.flags.truncated`: TC bit.
    public var truncatedFlag: Bool { flags & 0x0200 != 0 }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var recursionAvailable: Bool { flags & 0x0080 != 0 }
    public var authenticData: Bool { flags & 0x0020 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }
    /// `dns.flags.rcode` (header RCODE, 4 bits).
    public var rcode: DNSRCode { DNSRCode(rawValue: UInt16(flags & 0x000f)) }
    /// `dns.count.queries`, `dns.count.answers`, `dns.count.auth_rr`, `dns.count.add_rr`
    public var questionCount: Int { Int(bytes.be16(4)) }
    public var answerCount: Int { Int(bytes.be16(6)) }
    public var authorityCount: Int { Int(bytes.be16(8)) }
    public var additionalCount: Int { Int(bytes.be16(10)) }

    // MARK: Names

    /// Walks the name at `offset`, calling `label` for each label (its offset and length).
    /// Returns the offset just after the name at its original position, or `nil` when the
    /// name runs past the message, a pointer does not go strictly backwards, a label type is
    /// reserved, or the name exceeds 255 bytes.
    public func walkName(at offset: Int, label: (Int, Int) -> Void = { _, _ in }) -> Int? {
        var pos = offset
        var end: Int? = nil
        var total = 1
        var limit = bytes.count  // pointers must go below this
        while true {
            guard let len = bytes.u8(at: pos) else { return nil }
            switch len & 0xc0 {
            case 0x00:
                if len == 0 { return end ?? pos + 1 }
                let l = Int(len)
                guard pos + 1 + l <= bytes.count else { return nil }
                total += l + 1
                guard total <= Self.maxNameLength else { return nil }
                label(pos + 1, l)
                pos += 1 + l
            case 0xc0:
                guard let lo = bytes.u8(at: pos + 1) else { return nil }
                let target = Int(len & 0x3f) << 8 | Int(lo)
                guard target < pos, target < limit else { return nil }
                if end == nil { end = pos + 2 }
                limit = target
                pos = target
            default:
                return nil  // 0x40 extended / 0x80 reserved label types (RFC 6891 §5)
            }
        }
    }

    /// Appends the name at `offset` as tcpdump prints it (`www.example.com.`, `.` for the
    /// root), escaping `.`/`\` inside labels and non-printable bytes as `\DDD`.
    /// Returns the end offset, or `nil` (with `[|domain]` appended) when the name is bad.
    @discardableResult
    public func writeName(at offset: Int, to out: inout TextBuffer, trailingDot: Bool = true) -> Int? {
        var any = false
        let base = bytes
        let end = walkName(at: offset) { start, len in
            if any || trailingDot == false { if any { out.append(byte: 46) } }
            any = true
            for i in start..<(start + len) {
                let c = base.b(i)
                if c == 46 || c == 92 { out.append(byte: 92); out.append(byte: c) }
                else if c > 32 && c < 127 { out.append(byte: c) }
                else { out.append(byte: 92); out.append(decimal: c, width: 3) }
            }
        }
        guard let e = end else { out.append("[|domain]"); return nil }
        if trailingDot || !any { out.append(byte: 46) }
        return e
    }

    /// Longest text `withName` can produce: 255 wire bytes, each at most
    /// `WiresharkText.maxExpansion` characters (`\001`).
    public static let maxNameTextLength = WiresharkText.maxExpansion * maxNameLength

    /// Calls `body` with the name at `offset` as Wireshark 4.0 stores it in `dns.qry.name` and
    /// the other name fields: the labels joined by `.`, through `format_text` (`WiresharkText`:
    /// a TAB in a label is `\t`, a 0x01 `\001`, a `.` or space as it is; `<Root>` for the root),
    /// written into a stack buffer (no heap allocation; the pointer is valid only inside
    /// `body`), or with `nil` when the name is bad.
    /// Not generic: every caller is a field reader answering Bool, and a generic body made
    /// each call instantiate `withUnsafeTemporaryAllocation`'s metadata (issue 11).
    public func withName(at offset: Int, _ body: (UnsafeRawBufferPointer?) -> Bool) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: Self.maxNameTextLength, alignment: 1) { buf in
            guard let (n, _) = copyName(at: offset, into: buf, wireshark: true, fold: 0) else { return body(nil) }
            return Self.text(n, buf, body)
        }
    }

    /// `body` with the first `n` bytes of `buf`, or `<Root>` when `n` is -1 (`copyName`).
    @inline(__always)
    static func text(_ n: Int, _ buf: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        if n < 0 { let root: StaticString = "<Root>"; return body(UnsafeRawBufferPointer(start: root.utf8Start, count: root.utf8CodeUnitCount)) }
        return body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
    }

    /// Calls `body` with each question's name as `withName` writes it (`dns.qry.name`), in
    /// order, until `body` answers true (then true) or a question does not fit (its name is
    /// bad, or its type and class are cut off: false, as `forEachQuestion` stops there). One
    /// walk per name and one stack buffer for all (issue 11).
    public func anyQuestionName(_ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: Self.maxNameTextLength, alignment: 1) { buf in
            var off = Self.headerLength
            for _ in 0..<min(questionCount, Self.maxRecords) {
                guard let (n, end) = copyName(at: off, into: buf, wireshark: true, fold: 0), end + 4 <= bytes.count else { return false }
                if Self.text(n, buf, body) { return true }
                off = end + 4
            }
            return false
        }
    }

    /// The name at `offset` as Wireshark shows it in `dns.qry.name` (no trailing dot;
    /// `<Root>` for the root), or `nil` when it is bad; ASCII letters folded to lower case when
    /// `lowercased` (DNS names compare case-insensitively, RFC 4343). A byte outside `!`…`~`
    /// is written `\DDD` (decimal, as tcpdump). Allocates.
    public func name(at offset: Int, lowercased: Bool = false) -> String? {
        withUnsafeTemporaryAllocation(byteCount: 4 * Self.maxNameLength, alignment: 1) { buf -> String? in
            guard let (n, _) = copyName(at: offset, into: buf, wireshark: false, fold: lowercased ? 0x20 : 0) else { return nil }
            return n < 0 ? "<Root>" : String(decoding: UnsafeRawBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
        }
    }

    /// The walk of `walkName` written out without a closure, copying the labels joined by `.`
    /// into `buf` in one pass (a label of plain bytes copied and checked in one loop; only a
    /// label with a byte to escape is written again byte by byte): Wireshark's `format_text`
    /// when `wireshark`, else `\DDD` for bytes outside `!`…`~` with ASCII letters or-ed with
    /// `fold`. Returns the bytes written (-1 for the root name) and the offset just after the name
    /// at its original position, or `nil` for a bad name (both as `walkName`). `buf` holds at
    /// least `WiresharkText.maxExpansion * maxNameLength` bytes.
    @inline(__always)
    func copyName(at offset: Int, into buf: UnsafeMutableRawBufferPointer, wireshark: Bool, fold: UInt8) -> (Int, Int)? {
        let base = bytes.base, count = base.count, cap = buf.count
        // Plain bytes: 0x20...0x7e for Wireshark, 0x21...0x7e for tcpdump's escaping.
        let low: UInt8 = wireshark ? 0x20 : 0x21
        if let fast = copyContiguousName(at: offset, into: buf, low: low, fold: fold) { return fast }
        var w = 0, labels = 0, pos = offset, total = 1, limit = count, end = -1
        while true {
            guard pos >= 0, pos < count else { return nil }
            let len = base[pos]
            switch len & 0xc0 {
            case 0x00:
                if len == 0 { return (labels == 0 ? -1 : w, end >= 0 ? end : pos + 1) }
                let l = Int(len)
                guard pos + 1 + l <= count else { return nil }
                total += l + 1
                guard total <= Self.maxNameLength else { return nil }
                if labels > 0, w < cap { buf[w] = 46; w += 1 }
                labels += 1
                let start = pos + 1, stop = start + l
                var plain = w + l <= cap
                if plain {
                    let src = base.baseAddress! + start, dst = buf.baseAddress! + w
                    var bad: UInt8 = 0
                    for k in 0..<l {
                        let c = src.load(fromByteOffset: k, as: UInt8.self)
                        bad |= (c &- low) >= 0x7f &- low ? 1 : 0
                        dst.storeBytes(of: c &- 65 < 26 ? c | fold : c, toByteOffset: k, as: UInt8.self)
                    }
                    plain = bad == 0
                    if plain { w += l }
                }
                if !plain && wireshark {
                    WiresharkText.format(base[start..<stop]) { c in if w < cap { buf[w] = c; w += 1 } }
                } else if !plain {
                    for i in start..<stop where w + 4 <= cap {
                        let c = base[i]
                        if c > 32 && c < 127 { buf[w] = c &- 65 < 26 ? c | fold : c; w += 1 }
                        else { buf[w] = 92; buf[w + 1] = 48 + c / 100; buf[w + 2] = 48 + c / 10 % 10; buf[w + 3] = 48 + c % 10; w += 4 }
                    }
                }
                pos = stop
            case 0xc0:
                guard pos + 1 < count else { return nil }
                let target = Int(len & 0x3f) << 8 | Int(base[pos + 1])
                guard target < pos, target < limit else { return nil }
                if end < 0 { end = pos + 2 }
                limit = target
                pos = target
            default:
                return nil  // 0x40 extended / 0x80 reserved label types (RFC 6891 §5)
            }
        }
    }

    /// `copyName`'s fast path, for nearly every question name: no compression pointer and
    /// nothing to escape. The labels sit one after another on the wire, so the text is the
    /// bytes from the first label on, copied at once, with a `.` over each length byte but
    /// the first; then checked (and folded) eight bytes a step ("Bit Twiddling Hacks"
    /// hasless/hasmore: a byte below `low` or above `~` sets its high bit). `nil` sends the
    /// name to the label-by-label walk (a pointer, a byte to escape, the root, a bad name).
    @inline(__always)
    func copyContiguousName(at offset: Int, into buf: UnsafeMutableRawBufferPointer, low: UInt8, fold: UInt8) -> (Int, Int)? {
        let base = bytes.base, count = base.count
        guard offset >= 0 else { return nil }
        var pos = offset
        while pos < count {
            let len = Int(base[pos])
            if len == 0 { break }
            guard len < 0x40 else { return nil }
            pos += 1 + len
        }
        // pos: the terminating zero; the text runs from offset + 1 to it.
        let n = pos - offset - 1
        // walkName's length: the labels, their length bytes and the zero (n + 2), at most 255.
        guard pos < count, n > 0, n + 2 <= Self.maxNameLength, n + 8 <= buf.count else { return nil }
        let dst = buf.baseAddress!
        dst.copyMemory(from: base.baseAddress! + offset + 1, byteCount: n)
        var at = offset + 1 + Int(base[offset])
        while at < pos { dst.storeBytes(of: 0x2e, toByteOffset: at - offset - 1, as: UInt8.self); at += 1 + Int(base[at]) }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let lows = ones &* UInt64(low), fold8 = ones &* UInt64(fold)
        var bad: UInt64 = 0, k = 0
        // The last word may run past the text (into the 8 spare bytes): those bytes are
        // masked off, never judged.
        while k < n {
            var x = UInt64(littleEndian: dst.loadUnaligned(fromByteOffset: k, as: UInt64.self))  // byte i in bits 8i
            let valid = n - k
            let mask: UInt64 = valid >= 8 ? .max : (UInt64(1) << UInt64(valid * 8)) &- 1
            x = (x & mask) | (0x4141_4141_4141_4141 & ~mask)  // 'A's past the end: plain, never folded out
            bad |= ((x &- lows) & ~x & highs) | (((x &+ ones) | x) & highs)
            if fold != 0 {
                let h = x & ~highs
                let upper = ((h &+ ones &* (0x80 - 65)) ^ (h &+ ones &* (0x80 - 91))) & ~x & highs
                let y = x | (upper >> 2 & fold8)
                if valid >= 8 { dst.storeBytes(of: y.littleEndian, toByteOffset: k, as: UInt64.self) }
                else { for i in 0..<valid { dst.storeBytes(of: UInt8(truncatingIfNeeded: y >> UInt64(i * 8)), toByteOffset: k + i, as: UInt8.self) } }
            }
            k += 8
        }
        return bad == 0 ? (n, pos + 1) : nil
    }

    /// Whether a UDP payload on a port that is not DNS's is a DNS message, for DNS on any
    /// port (a resolver on 1053, a NodePort in front of CoreDNS), as tshark's DNS-over-UDP
    /// heuristic finds it: a standard query or its response (opcode 0, Z bit clear), exactly
    /// one question of class IN (1), CH (3) or ANY (255), at most 64 records, every record
    /// within the message and nothing after the last one; in a response, the first answer
    /// (if any) names the question (a pointer to it or the same name).
    public var isPlausibleMessage: Bool {
        guard opcode == 0, flags & 0x0040 == 0, questionCount == 1,
              answerCount + authorityCount + additionalCount <= 64,
              let q = firstQuestion, [1, 3, 255].contains(q.qclass), q.type.rawValue != 0 else { return false }
        var off = q.end
        var first = true, namesQuestion = true
        for s in 0..<3 {
            let count = s == 0 ? answerCount : (s == 1 ? authorityCount : additionalCount)
            for _ in 0..<count {
                guard let r = record(at: off, section: .answer) else { return false }
                if first && s == 0 {
                    first = false
                    namesQuestion = bytes.u16(at: off) == 0xc00c || name(at: off, lowercased: true) == name(at: q.nameOffset, lowercased: true)
                }
                off = r.rdataOffset + r.rdataLength
            }
        }
        if !isResponse && answerCount > 0 { return false }
        return off == bytes.count && namesQuestion
    }

    // MARK: Sections

    /// The first question, or `nil` when there is none or it does not fit.
    public var firstQuestion: DNSQuestion? {
        guard questionCount > 0 else { return nil }
        return question(at: Self.headerLength)
    }

    func question(at offset: Int) -> DNSQuestion? {
        guard let e = walkName(at: offset), let t = bytes.u16(at: e), let c = bytes.u16(at: e + 2) else { return nil }
        return DNSQuestion(nameOffset: offset, type: DNSType(rawValue: t), qclass: c, end: e + 4)
    }

    /// Calls `body` for each question in order. Returns false when the section was cut short.
    @discardableResult
    public func forEachQuestion(_ body: (DNSQuestion) -> Void) -> Bool {
        var off = Self.headerLength
        for _ in 0..<min(questionCount, Self.maxRecords) {
            guard let q = question(at: off) else { return false }
            body(q)
            off = q.end
        }
        return true
    }

    /// Offset where the answer section starts, or `nil` when the questions do not fit.
    public var answersOffset: Int? {
        if knownAnswersOffset >= 0 { return Int(knownAnswersOffset) }
        if knownAnswersOffset == -2 { return nil }
        return walkQuestions()
    }

    /// Walks the questions once and keeps where the answers start (`answersOffset`), then the
    /// records once and keeps which types they are (`mayHold`; the records `forEachRecord`
    /// reaches: up to one that does not fit, at most `maxRecords`).
    public mutating func learnAnswersOffset() {
        knownAnswersOffset = walkQuestions().map { Int32(truncatingIfNeeded: $0) } ?? -2
        var types: UInt16 = 0x8000
        forEachRecord { r in types |= Self.typeBit(r.type); return true }
        knownRecordTypes = types
    }

    /// Whether a record of `type` may be in the message: false only when `learnAnswersOffset()`
    /// walked the records and found none.
    @inlinable public func mayHold(_ type: DNSType) -> Bool {
        knownRecordTypes == 0 || knownRecordTypes & Self.typeBit(type) != 0
    }

    /// One bit for each type a field reads (A, AAAA, CNAME, PTR, NS, MX, SRV, OPT), one for all others.
    @inlinable static func typeBit(_ t: DNSType) -> UInt16 {
        switch t.rawValue {
        case DNSType.a.rawValue: return 1
        case DNSType.aaaa.rawValue: return 2
        case DNSType.cname.rawValue: return 4
        case DNSType.ptr.rawValue: return 8
        case DNSType.ns.rawValue: return 16
        case DNSType.mx.rawValue: return 32
        case DNSType.srv.rawValue: return 64
        case DNSType.opt.rawValue: return 128
        default: return 256
        }
    }

    func walkQuestions() -> Int? {
        var off = Self.headerLength
        for _ in 0..<min(questionCount, Self.maxRecords) {
            guard let q = question(at: off) else { return nil }
            off = q.end
        }
        return off
    }

    func record(at offset: Int, section: DNSSection) -> DNSRecord? {
        guard let e = walkName(at: offset), let t = bytes.u16(at: e), let c = bytes.u16(at: e + 2),
              let ttl = bytes.u32(at: e + 4), let rdl = bytes.u16(at: e + 8) else { return nil }
        let rdOff = e + 10
        guard rdOff + Int(rdl) <= bytes.count else { return nil }
        return DNSRecord(section: section, nameOffset: offset, type: DNSType(rawValue: t), rrclass: c, ttl: ttl,
                         rdataOffset: rdOff, rdataLength: Int(rdl))
    }

    /// Calls `body` for each resource record of the answer, authority and additional
    /// sections in order; `body` returns false to stop. Returns false when a record did not fit
    /// (the message was cut by the snaplen or is malformed).
    @discardableResult
    public func forEachRecord(_ body: (DNSRecord) -> Bool) -> Bool {
        guard var off = answersOffset else { return false }
        var walked = 0
        for s in 0..<3 {
            let section: DNSSection = s == 0 ? .answer : (s == 1 ? .authority : .additional)
            let count = s == 0 ? answerCount : (s == 1 ? authorityCount : additionalCount)
            for _ in 0..<count {
                guard walked < Self.maxRecords else { return true }
                guard let r = record(at: off, section: section) else { return false }
                walked += 1
                if !body(r) { return true }
                off = r.rdataOffset + r.rdataLength
            }
        }
        return true
    }

    /// Writes the rdata of `r` as tcpdump does without `-v`: `A 1.2.3.4`, `CNAME x.y.`,
    /// `MX mail.example. 10`, `SRV host.:443 0 5`, `TXT "..."`, otherwise the type name only.
    public func writeRecord(_ r: DNSRecord, to out: inout TextBuffer) {
        r.type.write(to: &out)
        if r.rrclass != 1 && r.type != .opt { out.append(" "); writeClass(r.rrclass, to: &out) }
        let d = r.rdataOffset
        switch r.type {
        case .a where r.rdataLength == 4:
            out.append(" "); out.append(IPAddress(v4: bytes.be32(d)))
        case .aaaa where r.rdataLength == 16:
            if let a = IPAddress(v6In: bytes, at: d) { out.append(" "); out.append(a) }
        case .cname, .ns, .ptr, .dname:
            out.append(" "); writeName(at: d, to: &out)
        case .mx where r.rdataLength >= 3:
            out.append(" "); writeName(at: d + 2, to: &out); out.append(" "); out.append(decimal: bytes.be16(d))
        case .srv where r.rdataLength >= 7:
            out.append(" "); writeName(at: d + 6, to: &out); out.append(":"); out.append(decimal: bytes.be16(d + 4))
            out.append(" "); out.append(decimal: bytes.be16(d)); out.append(" "); out.append(decimal: bytes.be16(d + 2))
        case .txt:
            var i = d
            let end = d + r.rdataLength
            var first = true
            while i < end {
                let l = Int(bytes.b(i))
                guard i + 1 + l <= end else { break }
                out.append(first ? " \"" : " \"")
                first = false
                for j in (i + 1)..<(i + 1 + l) {
                    let c = bytes.b(j)
                    if c >= 32 && c < 127 && c != 34 { out.append(byte: c) } else { out.append(byte: 92); out.append(decimal: c, width: 3) }
                }
                out.append("\"")
                i += 1 + l
            }
        default:
            break
        }
    }

    private func writeClass(_ c: UInt16, to out: inout TextBuffer) {
        switch c & 0x7fff {
        case 1: out.append("IN")
        case 3: out.append("CHAOS")
        case 4: out.append("HS")
        case 255: out.append("ANY")
        default: out.append("CLASS"); out.append(decimal: c)
        }
    }

    /// The EDNS0 OPT record of the additional section, if any: (UDP payload size, extended
    /// RCODE high bits, version, DO bit) (RFC 6891 §6.1.3).
    public var opt: (udpSize: UInt16, extendedRCode: UInt8, version: UInt8, dnssecOK: Bool)? {
        var found: (UInt16, UInt8, UInt8, Bool)? = nil
        forEachRecord { r in
            if r.section == .additional && r.type == .opt {
                found = (r.rrclass, UInt8(truncatingIfNeeded: r.ttl >> 24), UInt8(truncatingIfNeeded: r.ttl >> 16),
                         r.ttl & 0x8000 != 0)
                return false
            }
            return true
        }
        return found
    }

    /// tcpdump's one-line DNS summary (print-domain.c, no `-v`), without the leading space:
    /// queries `4242+ [1au] A? api.example.com. (33)`, responses
    /// `4242 NXDomain 0/1/0 (94)` or `4242 2/0/0 CNAME a.b., A 1.2.3.4 (70)`.
    /// `length` is the DNS message length (UDP payload, or the TCP length prefix's value).
    public func summary(into out: inout TextBuffer, length: Int) {
        let f = flags
        out.append(decimal: id)
        writeOpcode(to: &out)
        if isResponse {
            // RFC 6891 §6.1.3: the OPT record's TTL holds the upper 8 bits of a 12-bit RCODE.
            var rc = rcode
            if additionalCount > 0, let o = opt { rc = DNSRCode(rawValue: UInt16(o.extendedRCode) << 4 | rc.rawValue) }
            rc.writeTcpdump(to: &out)
            if authoritative { out.append("*") }
            if !recursionAvailable { out.append("-") }
            if truncatedFlag { out.append("|") }
            if authenticData { out.append("$") }
            if questionCount != 1 { out.append(" ["); out.append(decimal: questionCount); out.append("q]") }
            out.append(" "); out.append(decimal: answerCount); out.append("/")
            out.append(decimal: authorityCount); out.append("/"); out.append(decimal: additionalCount)
            var remaining = answerCount
            if remaining > 0 {
                var first = true
                let complete = forEachRecord { r in
                    guard r.section == .answer else { return false }
                    out.append(first ? " " : ", ")
                    first = false
                    self.writeRecord(r, to: &out)
                    remaining -= 1
                    return true
                }
                if !complete || remaining > 0 { out.append(" [|domain]"); return }
            }
        } else {
            if recursionDesired { out.append("+") }
            if checkingDisabled { out.append("%") }
            if f & 0x6cf != 0 { out.append(" [b2&3=0x"); out.append(hex: f); out.append("]") }
            if answerCount > 0 { out.append(" ["); out.append(decimal: answerCount); out.append("a]") }
            if questionCount != 1 { out.append(" ["); out.append(decimal: questionCount); out.append("q]") }
            if authorityCount > 0 { out.append(" ["); out.append(decimal: authorityCount); out.append("n]") }
            if additionalCount > 0 { out.append(" ["); out.append(decimal: additionalCount); out.append("au]") }
            var ok = true
            let complete = forEachQuestion { q in
                guard ok else { return }
                out.append(" ")
                q.type.write(to: &out)
                if q.qclass & 0x7fff != 1 { out.append(" "); self.writeClass(q.qclass, to: &out) }
                out.append("? ")
                if self.writeName(at: q.nameOffset, to: &out) == nil { ok = false }
            }
            if !complete || !ok { out.append(" [|domain]"); return }
        }
        out.append(" ("); out.append(decimal: length); out.append(")")
    }

    private func writeOpcode(to out: inout TextBuffer) {
        switch opcode {
        case 0: break
        case 1: out.append(" inv_q")
        case 2: out.append(" stat")
        case 4: out.append(" notify")
        case 5: out.append(" update")
        default: out.append(" op"); out.append(decimal: opcode)
        }
    }
}

/// Which section a record came from.
public enum DNSSection: Sendable, Equatable { case answer, authority, additional }

/// A question entry: where its name starts, QTYPE, QCLASS, and the offset after it.
public struct DNSQuestion: Sendable, Equatable {
    public var nameOffset: Int
    public var type: DNSType
    public var qclass: UInt16
    public var end: Int
}

/// A resource record's fixed fields and where its rdata lies in the message.
public struct DNSRecord: Sendable, Equatable {
    public var section: DNSSection
    public var nameOffset: Int
    public var type: DNSType
    public var rrclass: UInt16
    /// Time to live, in seconds.
    public var ttl: UInt32
    public var rdataOffset: Int
    public var rdataLength: Int
}

/// DNS RR TYPE / QTYPE (IANA "Resource Record (RR) TYPEs"). Open: unknown values are data.
public struct DNSType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let a = Self(rawValue: 1)
    public static let ns = Self(rawValue: 2)
    public static let cname = Self(rawValue: 5)
    public static let soa = Self(rawValue: 6)
    public static let ptr = Self(rawValue: 12)
    public static let hinfo = Self(rawValue: 13)
    public static let mx = Self(rawValue: 15)
    public static let txt = Self(rawValue: 16)
    public static let aaaa = Self(rawValue: 28)
    public static let srv = Self(rawValue: 33)
    public static let naptr = Self(rawValue: 35)
    public static let dname = Self(rawValue: 39)
    public static let opt = Self(rawValue: 41)
    public static let ds = Self(rawValue: 43)
    public static let rrsig = Self(rawValue: 46)
    public static let nsec = Self(rawValue: 47)
    public static let dnskey = Self(rawValue: 48)
    public static let svcb = Self(rawValue: 64)
    public static let https = Self(rawValue: 65)
    public static let any = Self(rawValue: 255)

    static let names: [UInt16: StaticString] = [
        1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
        11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
        19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP_PTR", 24: "SIG", 25: "KEY", 26: "PX",
        27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA",
        35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL",
        43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID",
        50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY",
        61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO",
        101: "UID", 102: "GID", 103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP",
        108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
        254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA",
    ]

    /// The mnemonic (`A`, `AAAA`, ...), or `Type<n>` like tcpdump for unknown values.
    public func write(to out: inout TextBuffer) {
        switch rawValue {  // the hot ones without a dictionary lookup
        case 1: out.append("A")
        case 28: out.append("AAAA")
        case 5: out.append("CNAME")
        case 12: out.append("PTR")
        case 6: out.append("SOA")
        case 33: out.append("SRV")
        default:
            if let n = Self.names[rawValue] { out.append(n) } else { out.append("Type"); out.append(decimal: rawValue) }
        }
    }

    /// The mnemonic as a `String`.
    public var name: String { var t = TextBuffer(capacity: 16); write(to: &t); return t.string }
}

/// DNS RCODE (RFC 1035 §4.1.1, RFC 6895). Open type.
public struct DNSRCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = Self(rawValue: 0)
    public static let formErr = Self(rawValue: 1)
    public static let servFail = Self(rawValue: 2)
    public static let nxDomain = Self(rawValue: 3)
    public static let notImp = Self(rawValue: 4)
    public static let refused = Self(rawValue: 5)

    /// tcpdump's rcode word with its leading space (` NXDomain`), empty for NoError.
    public func writeTcpdump(to out: inout TextBuffer) {
        switch rawValue {
        case 0: break
        case 1: out.append(" FormErr")
        case 2: out.append(" ServFail")
        case 3: out.append(" NXDomain")
        case 4: out.append(" NotImp")
        case 5: out.append(" Refused")
        case 6: out.append(" YXDomain")
        case 7: out.append(" YXRRSet")
        case 8: out.append(" NXRRSet")
        case 9: out.append(" NotAuth")
        case 10: out.append(" NotZone")
        case 16: out.append(" BadVers")
        case 17: out.append(" BadKey")
        case 18: out.append(" BadTime")
        case 19: out.append(" BadMode")
        case 20: out.append(" BadName")
        case 21: out.append(" BadAlg")
        case 22: out.append(" BadTrunc")
        case 23: out.append(" BadCookie")
        default: out.append(" Resp"); out.append(decimal: rawValue)
        }
    }

    /// Name as Wireshark and RFCs spell it: `NoError`, `NXDomain`, ...
    public var name: String {
        switch rawValue {
        case 0: return "NoError"
        case 1: return "FormErr"
        case 2: return "ServFail"
        case 3: return "NXDomain"
        case 4: return "NotImp"
        case 5: return "Refused"
        default: return "RCode\(rawValue)"
        }
    }
}
