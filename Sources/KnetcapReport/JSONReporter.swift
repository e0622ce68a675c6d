import Foundation
import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// `--json`: one JSON object per packet (Wireshark field names, in registry order; repeated
/// fields as arrays), then one `{"finding": ...}` per finding, then one `{"summary": ...}`.
/// Findings streamed during a live capture are written when made, and not again at the end.
public final class JSONReporter: Reporter {
    let out: TextOutput
    /// Write a line per packet (false with `-q` or `-w`: findings and summary only).
    let writesPackets: Bool
    /// `--stats`: its numbers go into the summary as `"stats"` (a `CaptureStats`).
    let stats: StatsCollector?

    public init(output: TextOutput, packets: Bool, stats: StatsCollector? = nil) {
        out = output
        writesPackets = packets
        self.stats = stats
    }

    public var wantsPackets: Bool { writesPackets }

    public func packet(_ p: Packet) {
        guard writesPackets else { return }
        Self.writePacketObject(p, into: &out.buffer)
        out.buffer.append(byte: 10)
        out.flushIfFull()
    }

    public func finding(_ f: Finding) {
        out.line(jsonLine(FindingLine(finding: f)))
        out.flush()
    }

    public func packetsDone() { out.flush() }

    public func finish(_ r: Report) {
        for f in r.findings.dropFirst(r.streamed) { out.line(jsonLine(FindingLine(finding: f))) }
        out.line(jsonLine(SummaryLine(r, stats: stats?.stats)))
        out.flush()
    }

    /// The packet's fields as one JSON object: `{"frame.number":1,...,"dns.qry.name":["a.b"]}`.
    /// A field that is not repeated but occurs more than once (the outer and inner IP of a
    /// tunnelled packet, listed outer first) is written once, with its last occurrence: the
    /// packet's own.
    public static func packetObject(_ p: Packet) -> String {
        var b = TextBuffer(capacity: 1024)
        writePacketObject(p, into: &b)
        return b.string
    }

    /// `packetObject` written straight into `b` (RFC 8259): no `String` per packet or value,
    /// numbers in decimal by `TextBuffer`, strings escaped by `appendJSONString`.
    public static func writePacketObject(_ p: Packet, into b: inout TextBuffer) {
        // The DNS questions and records walked once, not by every record field
        // (`learnAnswersOffset`, `DNSView.mayHold`).
        var p = p
        p.dns?.learnAnswersOffset()
        b.append(byte: 0x7b)  // {
        // The table read in place (no copy of a descriptor, its strings and closures, per field
        // and packet), in FieldRegistry's order, as Packet.forEachJSONField reads it.
        let layers = FieldLayer.mask(of: p)
        let end: Bool = jsonKeys.withUnsafeBytes { keys in
            jsonFields.withUnsafeBufferPointer { fields in
                withUnsafeMutablePointer(to: &b) { out in
                    var sink = JSONSink(out: out, keys: keys, fields: fields, valueStart: out.pointee.count)
                    return withUnsafeMutablePointer(to: &sink) { s in
                        // The reader's closure captures one pointer (its context is made per
                        // field and packet), the writer's state is in `sink`.
                        for g in jsonGroups where layers & g.layerBit != 0 {
                            for i in g.fields {
                                s.pointee.field = i
                                _ = fields[i].read(p) { v in s.pointee.value(v); return false }
                            }
                        }
                        return s.pointee.inArray
                    }
                }
            }
        }
        if end { b.append(byte: 0x5d) }
        b.append(byte: 0x7d)  // }
    }

    /// Where `writePacketObject` is: the field being read (its index in `fields`), the one
    /// last written, and where its value starts.
    struct JSONSink {
        let out: UnsafeMutablePointer<TextBuffer>
        let keys: UnsafeRawBufferPointer
        let fields: UnsafeBufferPointer<JSONField>
        var field = 0
        var current = -1, inArray = false
        var valueStart: Int

        init(out: UnsafeMutablePointer<TextBuffer>, keys: UnsafeRawBufferPointer, fields: UnsafeBufferPointer<JSONField>, valueStart: Int) {
            self.out = out; self.keys = keys; self.fields = fields; self.valueStart = valueStart
        }

        /// One value of `field`: its key first (`"name":`, and `[` when repeated) when it is the
        /// first, a `,` before a repeated one's next, and a non-repeated one's later occurrence
        /// in place of the earlier (the packet's own layer is read last).
        @inline(__always) mutating func value(_ v: FieldValue) {
            if current != field {
                if inArray { out.pointee.append(byte: 0x5d) }  // ]
                if current >= 0 { out.pointee.append(byte: 0x2c) }
                current = field
                inArray = fields[field].repeated
                out.pointee.append(bytes: UnsafeRawBufferPointer(rebasing: keys[fields[field].key]))  // "name":
                if inArray { out.pointee.append(byte: 0x5b) }  // [
                valueStart = out.pointee.count
            } else if inArray {
                out.pointee.append(byte: 0x2c)
            } else {
                out.pointee.removeSuffix(from: valueStart)
            }
            JSONReporter.writeScalar(v, into: &out.pointee)
        }
    }

    /// The fields `--json` writes (FieldRegistry's, not filter-only), each with its key as
    /// bytes (`"name":`) and its JSON reader.
    struct JSONField {
        /// Where its key (`"name":`) is in `jsonKeys`: one array for all, no reference per field.
        let key: Range<Int>
        let repeated: Bool
        /// `1 << FieldLayer.rawValue` of its table: skipped when the packet lacks that layer.
        let layerBit: UInt32
        let read: FieldReader
    }
    static let (jsonFields, jsonKeys): ([JSONField], [UInt8]) = {
        // A plain loop, not Optional.map/compactMap: a closure passed through a generic
        // function is stored reabstracted, and every call then copies the whole Packet.
        var out: [JSONField] = []
        var keys: [UInt8] = []
        for (layer, table) in FieldRegistry.tables {
            for d in table {
                guard let r = d.jsonReader else { continue }
                let start = keys.count
                keys += Array("\"\(d.name)\":".utf8)
                out.append(JSONField(key: start..<keys.count, repeated: d.repeated,
                                     layerBit: 1 << UInt32(layer.rawValue), read: r))
            }
        }
        return (out, keys)
    }()
    /// `jsonFields` in runs of one layer (`layerBit`): a packet without a layer skips its run
    /// with one test.
    static let jsonGroups: [(layerBit: UInt32, fields: Range<Int>)] = {
        var groups: [(layerBit: UInt32, fields: Range<Int>)] = []
        for (i, f) in jsonFields.enumerated() {
            if let last = groups.last, last.layerBit == f.layerBit { groups[groups.count - 1].fields = last.fields.lowerBound..<(i + 1) }
            else { groups.append((f.layerBit, i..<(i + 1))) }
        }
        return groups
    }()

    static func writeScalar(_ v: FieldValue, into b: inout TextBuffer) {
        switch v {
        case .uint(let u): b.append(decimal: u)
        case .bool(let x): x ? b.append("true" as StaticString) : b.append("false" as StaticString)
        case .ip(let a): b.append(byte: 0x22); b.append(a); b.append(byte: 0x22)
        case .ether(let m):  // aa:bb:cc:dd:ee:ff, as MACAddress.description
            b.append(byte: 0x22); b.append(mac: m); b.append(byte: 0x22)
        case .ns(let n):
            // Seconds with 9 decimals, from the integer (as "%.9f" of n / 1e9, without a Double).
            if n < 0 { b.append(byte: 0x2d) }
            let m = n.magnitude
            b.append(decimal: m / 1_000_000_000); b.append(byte: 0x2e); b.append(decimal: m % 1_000_000_000, width: 9)
        case .time(let t):
            b.append(decimal: t.seconds); b.append(byte: 0x2e); b.append(decimal: t.nanoseconds, width: 9)
        case .bytes(let raw): appendJSONString(raw, into: &b)
        }
    }
}

/// `bytes` as a JSON string (RFC 8259 §7): `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00XX`, `/` and everything else as is; bytes that are not UTF-8
/// become U+FFFD, as `String(decoding:as:)` makes them.
func appendJSONString(_ bytes: UnsafeRawBufferPointer, into b: inout TextBuffer) {
    b.append(byte: 0x22)
    // Nearly every string (a name, an address, a header value) is ASCII with nothing to
    // escape: one scan says which, then its bytes go as they are.
    var ascii = true, escapes = false
    for c in bytes {
        if c >= 0x80 { ascii = false; break }
        if c < 0x20 || c == 0x22 || c == 0x5c { escapes = true }
    }
    if ascii && !escapes {
        b.append(bytes: bytes)
    } else if ascii {
        escapeJSON(bytes, into: &b)
    } else {
        var s = String(decoding: bytes, as: UTF8.self)
        s.withUTF8 { escapeJSON(UnsafeRawBufferPointer($0), into: &b) }
    }
    b.append(byte: 0x22)
}

@inline(__always) private func escapeJSON(_ bytes: UnsafeRawBufferPointer, into b: inout TextBuffer) {
    for c in bytes {
        switch c {
        case 0x22: b.append(byte: 0x5c); b.append(byte: 0x22)
        case 0x5c: b.append(byte: 0x5c); b.append(byte: 0x5c)
        case 0x08: b.append(byte: 0x5c); b.append(byte: 0x62)
        case 0x0c: b.append(byte: 0x5c); b.append(byte: 0x66)
        case 0x0a: b.append(byte: 0x5c); b.append(byte: 0x6e)
        case 0x0d: b.append(byte: 0x5c); b.append(byte: 0x72)
        case 0x09: b.append(byte: 0x5c); b.append(byte: 0x74)
        case 0..<0x20:
            b.append("\\u00" as StaticString)
            b.append(byte: 0x30 &+ (c >> 4)); b.append(byte: (c & 15) < 10 ? 0x30 &+ (c & 15) : 0x57 &+ (c & 15))
        default: b.append(byte: c)
        }
    }
}

let jsonEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return e
}()

/// `v` as one line of JSON (sorted keys, slashes unescaped).
public func jsonLine<T: Encodable>(_ v: T) -> String {
    guard let d = try? jsonEncoder.encode(v) else { return "{}" }
    return String(decoding: d, as: UTF8.self)
}

/// `{"finding": {...}}` — one line per finding.
public struct FindingLine: Encodable {
    public let finding: Finding
    public init(finding: Finding) { self.finding = finding }
}

/// `{"summary": {...}}` — the last JSON line: packets, seconds of capture, and per finding
/// kind the number of findings, occurrences, first and last time and the top endpoints; with
/// `--stats`, the `CaptureStats` as `"stats"`.
struct SummaryLine: Encodable {
    struct Kind: Encodable {
        let findings: Int
        let occurrences: Int
        let severity: String
        let first_time: Double
        let last_time: Double
        let top_endpoints: [String: Int]
        /// Findings kept in the output when more were made (`findings` counts all).
        let kept: Int?
    }
    struct Body: Encodable {
        let packets: Int
        let capture_seconds: Double
        let findings: [String: Int]
        let kinds: [String: Kind]
        let stats: CaptureStats?
        /// What the state limits dropped from tracking; absent when nothing was.
        let state_limits: [StateLimit]?
        /// Why reading stopped part-way (a cut or corrupt file); absent when it did not: the
        /// numbers above cover the packets before it.
        let read_error: String?
    }
    struct StateLimit: Encodable {
        let table: String
        let dropped: Int
        let max_entries: Int
        let budget_bytes: Int
        let note: String
    }
    let summary: Body

    init(_ r: Report, stats: CaptureStats? = nil) {
        var kinds: [String: Kind] = [:]
        var counts: [String: Int] = [:]
        for (kind, g) in Dictionary(grouping: r.findings, by: \.kind) {
            let extra = r.suppressed[kind] ?? 0
            counts[kind] = g.count + extra
            kinds[kind] = Kind(findings: g.count + extra, occurrences: g.reduce(0) { $0 + $1.occurrences } + extra,
                               severity: g[0].severity.rawValue, first_time: r.span(of: kind)?.lowerBound ?? 0,
                               last_time: r.span(of: kind)?.upperBound ?? 0,
                               top_endpoints: Dictionary(top(g.compactMap(\.endpoint), 5), uniquingKeysWith: +),
                               kept: extra > 0 ? g.count : nil)
        }
        let limits = zip(r.limits, r.limitLines).map {
            StateLimit(table: $0.0.what, dropped: $0.0.dropped, max_entries: $0.0.maxEntries, budget_bytes: $0.0.budgetBytes, note: $0.1)
        }
        summary = Body(packets: r.packets, capture_seconds: r.captureSeconds, findings: counts, kinds: kinds, stats: stats,
                       state_limits: limits.isEmpty ? nil : limits, read_error: r.readError)
    }
}

/// The `n` most frequent values with their counts, most frequent first (ties by name).
func top(_ values: [String], _ n: Int) -> [(String, Int)] {
    var counts: [String: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    let sorted: [(String, Int)] = counts.map { ($0.key, $0.value) }.sorted { a, b in a.1 == b.1 ? a.0 < b.0 : a.1 > b.1 }
    return Array(sorted.prefix(n))
}
