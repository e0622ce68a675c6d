import Foundation
import KnetcapWire
import KnetcapDissect

/// A compiled test on one packet.
typealias Predicate = (Packet) -> Bool

/// Checks a syntax tree against the field registry and compiles it to a tree of closures,
/// once. Literals are parsed here, for the type of the field on the other side of the
/// operator (Wireshark's "unparsed" values), so evaluation never parses or allocates.
///
/// Semantics for fields that occur several times (Wireshark 4.0): `==`, `<`, `contains`,
/// `matches` and `in` hold when any occurrence does; `!=` (`all_ne`) when the field is present
/// and no occurrence equals; `===` (`all_eq`) when present and every occurrence equals;
/// `!==`/`~=` (`any_ne`) when some occurrence differs. An absent field makes every comparison
/// false (so `!=` is not the same as `!(… == …)`).
struct Compiler {
    let text: String
    private(set) var tracking: CaptureState.Tracking = []
    /// Shared by the filter's `matches` tests; nil when it has none.
    private(set) var regexRuntime: RegexRuntime?

    init(_ text: String) { self.text = text }

    func error(_ kind: FilterError.Kind, _ message: String, _ range: Range<Int>) -> FilterError {
        FilterError(kind, message, range, in: text)
    }

    func source(_ range: Range<Int>) -> String {
        let u = Array(text.utf8)
        return String(decoding: u[range.clamped(to: 0..<u.count)], as: UTF8.self)
    }

    mutating func compile(_ node: Node) throws(FilterError) -> Predicate {
        switch node {
        case .or(let a, let b):
            let x = try compile(a), y = try compile(b)
            return { p in x(p) || y(p) }
        case .and(let a, let b):
            let x = try compile(a), y = try compile(b)
            return { p in x(p) && y(p) }
        case .not(let a):
            let x = try compile(a)
            return { p in !x(p) }
        case .exists(let o):
            let (_, access) = try field(o, role: "a test")
            return { p in access(p) { _ in true } }
        case .compare(let l, let op, let r, let opRange):
            return try compileCompare(l, op, r, opRange)
        case .bitwiseAnd(let l, let r, let opRange):
            let (d, access) = try field(l, role: "the left side of \"\(source(opRange))\"")
            // As Wireshark 4.0: an unsigned integer field only (`FT_BOOLEAN cannot &`).
            guard ValueKind(d.type) == .unsigned else {
                throw error(.typeMismatch, "\(d.name) is a\(article(d.type)) \(d.type.rawValue): \"\(source(opRange))\" needs an unsigned integer field", opRange)
            }
            if let w = r.word, FieldRegistry.descriptor(named: w) != nil {
                throw error(.typeMismatch, "the mask after \"\(source(opRange))\" must be a number, not the field \(w)", r.range)
            }
            guard case .uint(let mask) = try literal(r, for: d, op: .eq) else {
                throw error(.badValue, "\(source(r.range)) is not a number for \(d.name)", r.range)
            }
            return { p in access(p) { v in if case .uint(let x) = v { return x & mask != 0 } else { return false } } }
        case .member(let o, let elements, let negated):
            let (d, access) = try field(o, role: "the left side of \"in\"")
            let kind = ValueKind(d.type)
            guard kind != .proto, kind != .boolean || elements.allSatisfy({ $0.upper == nil }) else {
                throw error(.typeMismatch, "\(d.name) is a \(d.type.rawValue): it cannot be tested with \"in\"", o.range)
            }
            var tests: [(FieldValue) -> Bool] = []
            for e in elements {
                let lo = try literal(e.lower, for: d, op: .eq)
                if let u = e.upper {
                    guard kind == .unsigned || kind == .ipv4 || kind == .ipv6 || kind == .time || kind == .ether else {
                        throw error(.typeMismatch, "a range needs numbers, addresses or times; \(d.name) is a \(d.type.rawValue)",
                                    e.lower.range.lowerBound..<u.range.upperBound)
                    }
                    let hi = try literal(u, for: d, op: .eq)
                    tests.append { v in (lo.compare(v).map { $0 >= 0 } ?? false) && (hi.compare(v).map { $0 <= 0 } ?? false) }
                } else {
                    tests.append { v in lo.equals(v) }
                }
            }
            let inSet: Predicate = { p in access(p) { v in tests.contains { $0(v) } } }
            return negated ? { p in !inSet(p) } : inSet
        }
    }

    // MARK: Operands

    /// Resolves an operand that must be a field or protocol.
    mutating func field(_ o: Operand, role: String) throws(FilterError) -> (FieldDescriptor, FieldReader) {
        guard let w = o.word else {
            throw error(.syntax, "\(role) must be a field or protocol, not the string \(source(o.range))", o.range)
        }
        guard let d = FieldRegistry.descriptor(named: w) else {
            if Self.looksLikeField(w) { throw unknownField(w, o.range) }
            throw error(.syntax, "\(role) must be a field or protocol, not \(w)", o.range)
        }
        tracking.formUnion(d.tracking)
        return (d, d.read)
    }

    static func looksLikeField(_ w: String) -> Bool {
        guard let f = w.unicodeScalars.first, f.properties.isAlphabetic || f == "_" else { return false }
        return w.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "." || $0 == "-") }
    }

    func unknownField(_ w: String, _ range: Range<Int>) -> FilterError {
        var message = "unknown field \"\(w)\""
        if let s = Self.suggestion(for: w) { message += " (did you mean \"\(s)\"?)" }
        message += "; knetcap --fields lists them"
        return error(.unknownField, message, range)
    }

    /// The registry name nearest to `w` by edit distance, if it is near enough to be a typo.
    static func suggestion(for w: String) -> String? {
        let lw = w.lowercased()
        var best: (String, Int)?
        for d in FieldRegistry.all {
            let dist = editDistance(lw, d.name)
            if best == nil || dist < best!.1 { best = (d.name, dist) }
        }
        guard let (name, dist) = best else { return nil }
        return dist <= (w.count <= 4 ? 1 : max(2, min(4, w.count / 4))) ? name : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x.isEmpty { return y.count }
        var prev = Array(0...y.count), cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...max(1, y.count) where j <= y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }

    // MARK: Comparisons

    mutating func compileCompare(_ l: Operand, _ op: CompareOp, _ r: Operand, _ opRange: Range<Int>) throws(FilterError) -> Predicate {
        let role = "the left side of \"\(source(opRange))\""
        let (d, access) = try field(l, role: role)
        let kind = ValueKind(d.type)
        try checkOperator(op, d, kind, opRange)

        // Field against field.
        if let w = r.word, let rd = FieldRegistry.descriptor(named: w) {
            let raccess = rd.read
            tracking.formUnion(rd.tracking)
            let rkind = ValueKind(rd.type)
            guard rkind == kind || (kind.isByteLike && rkind.isByteLike && op == .contains) else {
                throw error(.typeMismatch, "\(d.name) (\(d.type.rawValue)) and \(rd.name) (\(rd.type.rawValue)) cannot be compared", r.range)
            }
            guard op != .matches else {
                throw error(.typeMismatch, "\"matches\" needs a quoted regular expression, not the field \(rd.name)", r.range)
            }
            let test: (FieldValue, FieldValue) -> Bool
            switch op {
            case .contains:
                test = { a, b in
                    guard case .bytes(let h) = a, case .bytes(let n) = b else { return false }
                    return containsBytes(h, Array(n))
                }
            default:
                let order = Self.orderTest(op)
                test = { a, b in compareValues(a, b).map(order) ?? false }
            }
            return { p in Self.fieldPair(op, access, raccess, test, p) }
        }

        // Field against a literal.
        if op == .matches {
            guard case .string(let pattern) = r.kind else {
                throw error(.typeMismatch, "\"matches\" needs a quoted regular expression", r.range)
            }
            let regex = try compileRegex(pattern, r.range)
            return { p in
                access(p) { v in
                    guard case .bytes(let b) = v else { return false }
                    return regex.matches(b)
                }
            }
        }
        if op == .contains {
            let needle: [UInt8]
            switch r.kind {
            case .string(let s): needle = s
            case .word(let w):
                if kind == .string { needle = Array(w.utf8) }
                else if let b = LiteralParse.hexBytes(w) { needle = b }
                else {
                    if Self.looksLikeField(w) && w.contains(".") { throw unknownField(w, r.range) }
                    throw error(.badValue, "\(w) is neither a field nor a byte string (write bytes as aa:bb:cc, text in quotes)", r.range)
                }
            }
            return { p in
                access(p) { v in
                    guard case .bytes(let b) = v else { return false }
                    return containsBytes(b, needle)
                }
            }
        }
        let lit = try literal(r, for: d, op: op)
        let test: (FieldValue) -> Bool
        switch op {
        case .eq, .ne, .allEq, .anyNe: test = { v in lit.equals(v) }
        default:
            let order = Self.orderTest(op)
            test = { v in lit.compare(v).map(order) ?? false }
        }
        return combine(op, access, test)
    }

    static func fieldPair(_ op: CompareOp, _ a: FieldReader, _ b: @escaping FieldReader, _ test: @escaping (FieldValue, FieldValue) -> Bool, _ p: Packet) -> Bool {
        switch op {
        case .ne:
            var any = false
            let hit = a(p) { x in b(p) { y in any = true; return test(x, y) } }
            return any && !hit
        case .allEq:
            var any = false
            let miss = a(p) { x in b(p) { y in any = true; return !test(x, y) } }
            return any && !miss
        case .anyNe:
            return a(p) { x in b(p) { y in !test(x, y) } }
        default:
            return a(p) { x in b(p) { y in test(x, y) } }
        }
    }

    /// The any/all combination of a per-occurrence test for `op`.
    func combine(_ op: CompareOp, _ access: @escaping FieldReader, _ test: @escaping (FieldValue) -> Bool) -> Predicate {
        switch op {
        case .ne:
            return { p in
                var any = false
                let hit = access(p) { v in any = true; return test(v) }
                return any && !hit
            }
        case .allEq:
            return { p in
                var any = false
                let miss = access(p) { v in any = true; return !test(v) }
                return any && !miss
            }
        case .anyNe:
            return { p in access(p) { v in !test(v) } }
        default:
            return { p in access(p, test) }
        }
    }

    /// For an ordering operator, the test on `value compared with the other side`.
    static func orderTest(_ op: CompareOp) -> (Int) -> Bool {
        switch op {
        case .lt: return { $0 < 0 }
        case .gt: return { $0 > 0 }
        case .le: return { $0 <= 0 }
        case .ge: return { $0 >= 0 }
        default: return { $0 == 0 }
        }
    }

    func checkOperator(_ op: CompareOp, _ d: FieldDescriptor, _ kind: ValueKind, _ opRange: Range<Int>) throws(FilterError) {
        let sym = source(opRange)
        switch op {
        case .contains, .matches:
            guard kind.isByteLike else {
                throw error(.typeMismatch, "\"\(sym)\" needs a string, byte or protocol field; \(d.name) is a\(article(d.type)) \(d.type.rawValue)", opRange)
            }
        case .eq, .ne, .allEq, .anyNe:
            guard kind != .proto else {
                throw error(.typeMismatch, "\(d.name) is a protocol: test it alone, or with \"contains\" or \"matches\"", opRange)
            }
        case .lt, .gt, .le, .ge:
            guard kind != .proto, kind != .boolean else {
                throw error(.typeMismatch, "\(d.name) is a\(article(d.type)) \(d.type.rawValue): \"\(sym)\" does not apply (use == or !=)", opRange)
            }
        }
    }

    func article(_ t: FieldType) -> String {
        guard let c = t.rawValue.first else { return "" }
        return "aeiouAEIOU".contains(c) ? "n" : ""
    }

    // MARK: Literals

    /// Parses the right-hand operand as a value of `d`'s type.
    func literal(_ o: Operand, for d: FieldDescriptor, op: CompareOp) throws(FilterError) -> Literal {
        let kind = ValueKind(d.type)
        switch o.kind {
        case .string(let s):
            switch kind {
            case .string, .bytes: return .bytes(s)
            default:
                throw error(.typeMismatch, "\(d.name) is a\(article(d.type)) \(d.type.rawValue), not a string: write the value without quotes", o.range)
            }
        case .word(let w):
            if let v = parseWord(w, kind: kind, d: d) { return v }
            if let rd = FieldRegistry.descriptor(named: w) {
                throw error(.typeMismatch, "\(d.name) (\(d.type.rawValue)) and \(rd.name) (\(rd.type.rawValue)) cannot be compared", o.range)
            }
            if kind == .unsigned, let big = LiteralParse.unsigned(w), big > d.maxValue {
                throw error(.badValue, "\(w) is too big for \(d.name) (at most \(d.maxValue))", o.range)
            }
            if kind == .ipv4 || kind == .ipv6, let slash = w.firstIndex(of: "/") {
                let max = kind == .ipv4 ? 32 : 128
                let addr = String(w[..<slash])
                if (kind == .ipv4 ? LiteralParse.ipv4(addr) : LiteralParse.ipv6(addr)) != nil {
                    throw error(.badValue, "the prefix length of \(w) must be 0 to \(max) bits", o.range)
                }
            }
            if Self.looksLikeField(w) && w.contains("."), !Self.looksLikeAddress(w) { throw unknownField(w, o.range) }
            var message = "\(w) is not \(Self.describe(kind)), as \(d.name) needs"
            if (kind == .ipv4 || kind == .ipv6) && w.contains(where: { $0.isLetter && !$0.isHexDigit }) {
                message += " (knetcap does not resolve host names)"
            }
            throw error(.badValue, message, o.range)
        }
    }

    static func looksLikeAddress(_ w: String) -> Bool {
        w.unicodeScalars.allSatisfy { ($0.isASCII && $0.properties.isASCIIHexDigit) || $0 == "." || $0 == ":" || $0 == "/" }
    }

    static func describe(_ k: ValueKind) -> String {
        switch k {
        case .unsigned: return "an unsigned number"
        case .boolean: return "a boolean (1, 0, True or False)"
        case .string: return "a string"
        case .ipv4: return "an IPv4 address (a.b.c.d) or network (a.b.c.d/bits)"
        case .ipv6: return "an IPv6 address (x:x::x) or network (x:x::/bits)"
        case .ether: return "a MAC address (aa:bb:cc:dd:ee:ff)"
        case .bytes: return "a byte string (aa:bb:cc)"
        case .time: return "a time in seconds (such as 0.25)"
        case .proto: return "a value"
        }
    }

    func parseWord(_ w: String, kind: ValueKind, d: FieldDescriptor) -> Literal? {
        switch kind {
        case .unsigned:
            // Numbers only: tshark 4.0 does not take names such as AAAA for dns.qry.type.
            if let v = LiteralParse.unsigned(w) { return v <= d.maxValue ? .uint(v) : nil }
            return nil
        case .boolean:
            switch w {
            case "True", "TRUE": return .bool(true)  // not "true": tshark 4.0 refuses it
            case "False", "FALSE": return .bool(false)
            default: return LiteralParse.unsigned(w).map { .bool($0 != 0) }
            }
        case .string: return .bytes(Array(w.utf8))
        case .ipv4: return LiteralParse.ipv4(w).map { .ip($0.0, prefix: $0.1) }
        case .ipv6: return LiteralParse.ipv6(w).map { .ip($0.0, prefix: $0.1) }
        case .ether: return LiteralParse.ether(w).map { .ether($0) }
        case .bytes: return LiteralParse.hexBytes(w).map { .bytes($0) }
        case .time: return LiteralParse.seconds(w).map { .ns($0) }
        case .proto: return nil
        }
    }

    /// Compiles a `matches` pattern with PCRE2 as Wireshark does (`ByteRegex`); every regex of
    /// one filter shares `regexRuntime`.
    mutating func compileRegex(_ pattern: [UInt8], _ range: Range<Int>) throws(FilterError) -> ByteRegex {
        let runtime = regexRuntime ?? RegexRuntime()
        regexRuntime = runtime
        do {
            return try ByteRegex(pattern, runtime: runtime)
        } catch {
            // tshark: "Regex compilation error: missing closing parenthesis."
            throw self.error(.badRegex, "bad regular expression: \(error.message)", range)
        }
    }
}
