/// A token of Wireshark's display filter language (a faithful subset of Wireshark 4.0's
/// `epan/dfilter/scanner.l`), with its UTF-8 byte range in the expression.
struct Token: Equatable {
    enum Kind: Equatable {
        /// A run of `[A-Za-z0-9_.:/-]`: a field or protocol name, or an unquoted literal (a
        /// number, address, MAC, byte string, or bare text), resolved by the checker.
        case word(String)
        /// A quoted string; the value with escapes applied, as bytes.
        case string([UInt8])
        case lparen, rparen, lbrace, rbrace, comma, dotdot
        case compare(CompareOp)
        case and, or, not, `in`
        /// `&` / `bitwise_and`: a field's bits tested against a mask.
        case bitwiseAnd
        case end
    }
    var kind: Kind
    var range: Range<Int>
}

/// Comparison operators: `==`/`eq`/`any_eq`, `!=`/`ne`/`all_ne`, `===`/`all_eq`,
/// `!==`/`~=`/`any_ne`, `<`/`lt`, `>`/`gt`, `<=`/`le`, `>=`/`ge`, `contains`, `matches`/`~`.
enum CompareOp: Equatable {
    case eq, ne, allEq, anyNe, lt, gt, le, ge, contains, matches

    var symbol: String {
        switch self {
        case .eq: return "=="
        case .ne: return "!="
        case .allEq: return "==="
        case .anyNe: return "!=="
        case .lt: return "<"
        case .gt: return ">"
        case .le: return "<="
        case .ge: return ">="
        case .contains: return "contains"
        case .matches: return "matches"
        }
    }
}

/// Splits an expression into tokens. Errors: unterminated string, bad escape, unexpected
/// character (all with their location).
struct Lexer {
    let text: String
    let bytes: [UInt8]
    var pos = 0

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    static let keywords: [String: Token.Kind] = [
        "and": .and, "or": .or, "not": .not, "in": .in, "bitwise_and": .bitwiseAnd,
        "eq": .compare(.eq), "any_eq": .compare(.eq), "ne": .compare(.ne), "all_ne": .compare(.ne),
        "all_eq": .compare(.allEq), "any_ne": .compare(.anyNe),
        "lt": .compare(.lt), "gt": .compare(.gt), "le": .compare(.le), "ge": .compare(.ge),
        "contains": .compare(.contains), "matches": .compare(.matches),
    ]

    static func isWordByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
            || c == 0x5f || c == 0x2e || c == 0x3a || c == 0x2f || c == 0x2d  // _ . : / -
    }

    func byte(_ i: Int) -> UInt8? { i < bytes.count ? bytes[i] : nil }

    func error(_ kind: FilterError.Kind, _ message: String, _ range: Range<Int>) -> FilterError {
        FilterError(kind, message, range, in: text)
    }

    mutating func tokens() throws(FilterError) -> [Token] {
        var out: [Token] = []
        while true {
            let t = try next()
            out.append(t)
            if t.kind == .end { return out }
        }
    }

    mutating func next() throws(FilterError) -> Token {
        while let c = byte(pos), c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { pos += 1 }
        let start = pos
        guard let c = byte(pos) else { return Token(kind: .end, range: pos..<pos) }
        func op(_ k: Token.Kind, _ n: Int) -> Token { pos += n; return Token(kind: k, range: start..<pos) }
        let c1 = byte(pos + 1), c2 = byte(pos + 2)
        switch c {
        case 0x28: return op(.lparen, 1)
        case 0x29: return op(.rparen, 1)
        case 0x7b: return op(.lbrace, 1)
        case 0x7d: return op(.rbrace, 1)
        case 0x2c: return op(.comma, 1)
        case 0x3d:  // =
            if c1 == 0x3d { return c2 == 0x3d ? op(.compare(.allEq), 3) : op(.compare(.eq), 2) }
            throw error(.syntax, "\"=\" is not an operator (use == to compare)", start..<start + 1)
        case 0x21:  // !
            if c1 == 0x3d { return c2 == 0x3d ? op(.compare(.anyNe), 3) : op(.compare(.ne), 2) }
            return op(.not, 1)
        case 0x3c: return c1 == 0x3d ? op(.compare(.le), 2) : op(.compare(.lt), 1)
        case 0x3e: return c1 == 0x3d ? op(.compare(.ge), 2) : op(.compare(.gt), 1)
        case 0x7e: return c1 == 0x3d ? op(.compare(.anyNe), 2) : op(.compare(.matches), 1)
        case 0x26:
            return c1 == 0x26 ? op(.and, 2) : op(.bitwiseAnd, 1)
        case 0x7c:
            if c1 == 0x7c { return op(.or, 2) }
            throw error(.syntax, "\"|\" is not an operator knetcap supports (use || for or)", start..<start + 1)
        case 0x22: return try string()
        case 0x2e where c1 == 0x2e: return op(.dotdot, 2)
        default:
            guard Self.isWordByte(c) else {
                // One whole character (it may be several UTF-8 bytes).
                var end = pos + 1
                while let b = byte(end), b & 0xc0 == 0x80 { end += 1 }
                let ch = String(decoding: bytes[pos..<end], as: UTF8.self)
                throw error(.syntax, "unexpected character \"\(ch)\"", start..<end)
            }
            // A word ends before ".." so that `1..1024` is a range.
            while let b = byte(pos), Self.isWordByte(b), !(b == 0x2e && byte(pos + 1) == 0x2e) { pos += 1 }
            let w = String(decoding: bytes[start..<pos], as: UTF8.self)
            return Token(kind: Self.keywords[w] ?? .word(w), range: start..<pos)
        }
    }

    /// A double-quoted string with C escapes (Wireshark's set): `\\ \" \' \a \b \f \n \r \t
    /// \v`, `\xHH` (1–2 hex digits) and `\ooo` (1–3 octal digits).
    mutating func string() throws(FilterError) -> Token {
        let start = pos
        pos += 1
        var value: [UInt8] = []
        while true {
            guard let c = byte(pos) else {
                throw error(.unterminatedString, "unterminated string (the closing quote is missing)", start..<bytes.count)
            }
            if c == 0x22 { pos += 1; return Token(kind: .string(value), range: start..<pos) }
            if c != 0x5c { value.append(c); pos += 1; continue }
            let escStart = pos
            guard let e = byte(pos + 1) else {
                throw error(.unterminatedString, "unterminated string (the closing quote is missing)", start..<bytes.count)
            }
            pos += 2
            switch e {
            case 0x5c, 0x22, 0x27: value.append(e)
            case 0x61: value.append(7)
            case 0x62: value.append(8)
            case 0x66: value.append(12)
            case 0x6e: value.append(10)
            case 0x72: value.append(13)
            case 0x74: value.append(9)
            case 0x76: value.append(11)
            case 0x78:  // \xHH
                var v = 0, n = 0
                while n < 2, let h = byte(pos), let d = hexDigit(h) { v = v * 16 + d; pos += 1; n += 1 }
                guard n > 0 else {
                    throw error(.badEscape, "\\x needs one or two hex digits", escStart..<pos)
                }
                value.append(UInt8(v))
            case 0x30...0x37:  // \ooo
                var v = Int(e - 0x30), n = 1
                while n < 3, let o = byte(pos), o >= 0x30, o <= 0x37 { v = v * 8 + Int(o - 0x30); pos += 1; n += 1 }
                guard v <= 255 else { throw error(.badEscape, "octal escape \\\(String(v, radix: 8)) is more than 255", escStart..<pos) }
                value.append(UInt8(v))
            default:
                var end = pos
                while let b = byte(end), b & 0xc0 == 0x80 { end += 1 }
                let shown = String(decoding: bytes[escStart..<end], as: UTF8.self)
                throw error(.badEscape, "\(shown) is not a valid escape sequence (use \\\\ for a backslash)", escStart..<end)
            }
        }
    }
}

func hexDigit(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: return Int(c - 0x30)
    case 0x41...0x46: return Int(c - 0x41 + 10)
    case 0x61...0x66: return Int(c - 0x61 + 10)
    default: return nil
    }
}
