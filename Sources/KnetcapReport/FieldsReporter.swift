import KnetcapWire
import KnetcapDissect
import KnetcapAnalysis

/// `-T fields -e FIELD ... [-E OPTION=VALUE]`: one line per packet with the values of the
/// named fields (Wireshark names, from `FieldRegistry`), formatted as tshark 4.0's `-T fields`:
/// unsigned integers in decimal, except the fields Wireshark displays in hex (`dns.id`
/// `0x4fe8`, `eth.type`, `ip.id`, `tcp.flags`, zero-padded to their width); booleans `1`/`0`;
/// addresses in text; capture times as seconds with nine decimals; text as it is; byte
/// sequences as lower-case hex; a protocol name (`ip`, `dns`) prints nothing. Several
/// occurrences of a field are joined by the aggregator. Only the field lines go to its output;
/// the diagnosis goes elsewhere (the command line sends it to standard error).
public final class FieldsReporter: Reporter {
    /// tshark's `-E` options this writer honours.
    public struct Options: Sendable, Equatable {
        /// Between fields (`separator=`: one character, `/t` tab and `/s` space as tshark; default tab).
        public var separator = "\t"
        /// Between occurrences of one field (`aggregator=`, default `,`).
        public var aggregator = ","
        /// `header=y`: a first line with the field names.
        public var header = false
        /// `occurrence=f|l|a`: first, last or all occurrences (default all).
        public var occurrence: Character = "a"
        /// `quote=d|s|n`: each value in double or single quotes, or none (default).
        public var quote: Character = "n"
        /// `bom=y`: a UTF-8 byte order mark (EF BB BF) before the first line.
        public var bom = false
        public init() {}

        /// The options, as `-E` takes them.
        static let names = "bom, header, separator, occurrence, aggregator, quote"

        /// Parses one `-E` argument (`separator=,`) as tshark 4.0 does (output_fields_set_option):
        /// every option reads the first character of its value and ignores the rest
        /// (`header=yes` is `y`); an empty value, or a first character the option does not take
        /// (`bom=x`, `header=Y`), is refused.
        /// - Throws: a message naming the option, as tshark's.
        public mutating func apply(_ arg: String) throws(FieldsError) {
            guard let eq = arg.firstIndex(of: "=") else { throw FieldsError("-E \(arg): expected OPTION=VALUE (\(Self.names))") }
            let key = String(arg[..<eq]), value = String(arg[arg.index(after: eq)...])
            func refused(_ takes: String) -> FieldsError {
                FieldsError("-E \(arg): \"\(key)\" is not a valid field output option=value pair (\(key) takes \(takes))")
            }
            // One character: `/s` a space, `/t` a tab (the separator only), any other `/x` a
            // backslash, else the first character.
            func special(_ v: String, tab: Bool) -> String {
                guard let c = v.first else { return "" }
                guard c == "/" else { return String(c) }
                switch v.dropFirst().first {
                case "s": return " "
                case "t" where tab: return "\t"
                default: return "\\"
                }
            }
            func oneOf(_ allowed: String, _ takes: String) throws(FieldsError) -> Character {
                guard let c = value.first, allowed.contains(c) else { throw refused(takes) }
                return c
            }
            switch key {
            case "separator":
                guard !value.isEmpty else { throw refused("one character, /t or /s") }
                separator = special(value, tab: true)
            case "aggregator":
                guard !value.isEmpty else { throw refused("one character or /s") }
                aggregator = special(value, tab: false)
            case "header": header = try oneOf("yn", "y or n") == "y"
            case "bom": bom = try oneOf("yn", "y or n") == "y"
            case "occurrence": occurrence = try oneOf("fla", "f, l or a")
            case "quote": quote = try oneOf("dsn", "d, s or n")
            default: throw FieldsError("-E \(arg): unknown option \(key) (\(Self.names))")
            }
        }
    }

    /// Why `-T fields` cannot run: one line for standard error.
    public struct FieldsError: Error, Sendable { public let message: String; init(_ m: String) { message = m } }

    let fields: [FieldDescriptor]
    let options: Options
    let out: TextOutput
    private var started = false

    /// - Throws: `FieldsError` for a name the registry does not know.
    public init(names: [String], options: Options, output: TextOutput) throws(FieldsError) {
        var fs: [FieldDescriptor] = []
        for n in names {
            guard let d = FieldRegistry.descriptor(named: n) else {
                throw FieldsError("-e \(n): unknown field (knetcap --fields lists them)")
            }
            fs.append(d)
        }
        if fs.isEmpty { throw FieldsError("-T fields needs at least one -e FIELD") }
        fields = fs
        self.options = options
        out = output
    }

    /// The per-capture state the fields need (`tcp.stream`, `dns.time`).
    public var tracking: CaptureState.Tracking { fields.reduce(into: []) { $0.formUnion($1.tracking) } }

    /// A record that is not a packet prints its line as a packet's: its frame fields, no
    /// protocol fields (tshark's).
    public func otherRecord(_ p: Packet) { packet(p) }

    /// The byte order mark and the header line, once: before the first packet, or at the end
    /// when no packet was printed (tshark writes both for a file or filter with none).
    private func start() {
        guard !started else { return }
        started = true
        if options.bom { out.buffer.append("\u{FEFF}") }
        if options.header { out.line(fields.map(\.name).joined(separator: options.separator)) }
    }

    public func packet(_ p: Packet) {
        start()
        var b = lineBytes(p)
        b.append(10)
        out.buffer.append(bytes: b)
        out.flushIfFull()
    }

    /// One packet's line, as text (a value that is not valid UTF-8 with U+FFFD).
    public func line(_ p: Packet) -> String { String(decoding: lineBytes(p), as: UTF8.self) }

    /// One packet's line, as tshark writes it: the bytes of text values as they are (a
    /// comment that is not valid UTF-8 too, as tshark 4.0 prints it).
    public func lineBytes(_ p: Packet) -> [UInt8] {
        var line: [UInt8] = []
        let separator = Array(options.separator.utf8), aggregator = Array(options.aggregator.utf8)
        let q: [UInt8] = options.quote == "d" ? [34] : (options.quote == "s" ? [39] : [])
        for (i, d) in fields.enumerated() {
            if i > 0 { line += separator }
            var values: [[UInt8]] = []
            if let text = d.text {  // a protocol: its tree line
                _ = text(p) { t in
                    values.append(Self.escaped(Array(t.utf8)))
                    return options.occurrence == "f"
                }
            } else if d.type != .proto {
                _ = d.read(p) { v in
                    values.append(Self.escaped(Self.formatBytes(v, d)))
                    return options.occurrence == "f"
                }
            }
            if options.occurrence == "l", let l = values.last { values = [l] }
            // tshark quotes a column's occurrences together, and an empty column not at all.
            if values.isEmpty { continue }
            line += q
            for (k, v) in values.enumerated() {
                if k > 0 { line += aggregator }
                line += v
            }
            line += q
        }
        return line
    }

    public func packetsDone() { start(); out.flush() }
    public func finish(_ report: Report) { start(); out.flush() }

    /// A value with TAB, LF and CR written `\t`, `\n`, `\r`, as tshark 4.0's `-T fields`
    /// writes every value (print.c, print_escaped_bare; other bytes, `\\` and quotes as they
    /// are), so that each packet stays one line of columns.
    static func escaped(_ s: [UInt8]) -> [UInt8] {
        guard s.contains(where: { $0 == 9 || $0 == 10 || $0 == 13 }) else { return s }
        var r: [UInt8] = []
        r.reserveCapacity(s.count + 8)
        for c in s {
            switch c {
            case 9: r += [92, 116]
            case 10: r += [92, 110]
            case 13: r += [92, 114]
            default: r.append(c)
            }
        }
        return r
    }

    /// One value's bytes as tshark's `-T fields` prints it: text as its bytes.
    static func formatBytes(_ v: FieldValue, _ d: FieldDescriptor) -> [UInt8] {
        if case .bytes(let b) = v, d.type != .bytes { return Array(b) }
        return Array(format(v, d).utf8)
    }

    /// One value as tshark's `-T fields` prints it.
    static func format(_ v: FieldValue, _ d: FieldDescriptor) -> String {
        switch v {
        case .uint(let u):
            if d.hexDigits > 0 {
                let w = d.hexDigits
                let h = String(u, radix: 16)
                return "0x" + String(repeating: "0", count: max(0, w - h.count)) + h
            }
            return String(u)
        case .bool(let b): return b ? "1" : "0"
        case .ip(let a): return a.description
        case .ether(let m): return MACAddress(m).description
        case .ns(let n): return nineDecimals(n)
        case .time(let t): return t.description
        case .bytes(let b):
            if d.type == .bytes {
                return b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            }
            return String(decoding: b, as: UTF8.self)
        }
    }

    /// Nanoseconds as seconds with nine decimals (`0.000255204`, `-1.5` as `-1.500000000`).
    static func nineDecimals(_ n: Int64) -> String {
        let neg = n < 0
        let m = n.magnitude
        let frac = String(m % 1_000_000_000)
        return (neg ? "-" : "") + String(m / 1_000_000_000) + "." + String(repeating: "0", count: 9 - frac.count) + frac
    }
}
