/// An operand as written: a word (field, protocol or unquoted literal) or a quoted string.
struct Operand: Equatable {
    enum Kind: Equatable {
        case word(String)
        case string([UInt8])
    }
    var kind: Kind
    var range: Range<Int>

    var word: String? { if case .word(let w) = kind { return w } else { return nil } }
}

/// One element of a set: a value, or an inclusive range `lower..upper`.
struct SetElement: Equatable {
    var lower: Operand
    var upper: Operand?
}

/// The syntax tree of a display filter. Every node keeps the source range the checker points
/// at when it reports an error.
indirect enum Node: Equatable {
    case or(Node, Node)
    case and(Node, Node)
    case not(Node)
    /// A field or protocol alone: true when present.
    case exists(Operand)
    /// `lhs op rhs`; `opRange` locates the operator.
    case compare(Operand, CompareOp, Operand, opRange: Range<Int>)
    /// `lhs in {…}` or `lhs not in {…}`.
    case member(Operand, [SetElement], negated: Bool)
    /// `field & mask` (`bitwise_and`): true when any occurrence has a bit of the mask set.
    case bitwiseAnd(Operand, Operand, opRange: Range<Int>)
}

/// Recursive-descent parser. Precedence, loosest first: `or`/`||`, `and`/`&&`, `not`/`!`,
/// then a parenthesised expression or a test (Wireshark 4.0: `and` binds tighter than `or`).
///
///     expr    := and ( ("or" | "||") and )*
///     and     := unary ( ("and" | "&&") unary )*
///     unary   := ("not" | "!") unary | "(" expr ")" | test
///     test    := operand [ relop operand | ["not"] "in" set | ("&" | "bitwise_and") operand ]
///     set     := "{" element ( [","] element )* "}"      element := operand [ ".." operand ]
struct Parser {
    let text: String
    let tokens: [Token]
    var i = 0

    init(_ text: String) throws(FilterError) {
        self.text = text
        var lexer = Lexer(text)
        tokens = try lexer.tokens()
    }

    var current: Token { tokens[min(i, tokens.count - 1)] }

    func error(_ kind: FilterError.Kind, _ message: String, _ range: Range<Int>) -> FilterError {
        FilterError(kind, message, range, in: text)
    }

    func shown(_ t: Token) -> String {
        let u = Array(text.utf8)
        return String(decoding: u[t.range.clamped(to: 0..<u.count)], as: UTF8.self)
    }

    func unexpected(_ t: Token) -> FilterError {
        if t.kind == .end {
            // Name what was left waiting: `tcp.port == 80 &&`, `tcp.port ==`.
            if i > 0, i - 1 < tokens.count {
                let last = tokens[i - 1]
                switch last.kind {
                case .and, .or, .not: return error(.syntax, "the filter ends after \"\(shown(last))\", which needs a test after it", t.range)
                case .compare, .bitwiseAnd: return error(.syntax, "the filter ends after \"\(shown(last))\", which needs a value after it", t.range)
                default: break
                }
            }
            return error(.syntax, "unexpected end of filter", t.range)
        }
        return error(.syntax, "unexpected \"\(shown(t))\"", t.range)
    }

    private var depth = 0
    private var tests = 0

    /// Parses the whole expression; `nil` for an empty one (no filter).
    mutating func parse() throws(FilterError) -> Node? {
        if current.kind == .end { return nil }
        let n = try parseOr()
        guard current.kind == .end else {
            if current.kind == .rparen { throw error(.syntax, "\")\" without a matching \"(\"", current.range) }
            throw unexpected(current)
        }
        return n
    }

    mutating func parseOr() throws(FilterError) -> Node {
        var left = try parseAnd()
        while current.kind == .or {
            i += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(FilterError) -> Node {
        var left = try parseUnary()
        while current.kind == .and {
            i += 1
            left = .and(left, try parseUnary())
        }
        return left
    }

    /// Limits that keep compiling and evaluating a filter within the stack: nesting of `(` and
    /// `not`, and the number of tests (an `or` chain compiles to a chain of that depth).
    static let maxDepth = 256
    static let maxTests = 1024

    mutating func parseUnary() throws(FilterError) -> Node {
        if current.kind == .not || current.kind == .lparen {
            depth += 1
            if depth > Self.maxDepth {
                throw error(.syntax, "the filter nests \"(\" and \"not\" deeper than \(Self.maxDepth) levels", current.range)
            }
        }
        switch current.kind {
        case .not:
            i += 1
            let n = Node.not(try parseUnary())
            depth -= 1
            return n
        case .lparen:
            let open = current
            i += 1
            let inner = try parseOr()
            guard current.kind == .rparen else {
                if current.kind == .end { throw error(.syntax, "\"(\" is never closed (missing \")\")", open.range) }
                throw unexpected(current)
            }
            i += 1
            depth -= 1
            return inner
        default:
            tests += 1
            if tests > Self.maxTests {
                throw error(.syntax, "the filter has more than \(Self.maxTests) tests", current.range)
            }
            return try parseTest()
        }
    }

    mutating func parseOperand() throws(FilterError) -> Operand {
        let t = current
        switch t.kind {
        case .word(let w): i += 1; return Operand(kind: .word(w), range: t.range)
        case .string(let s): i += 1; return Operand(kind: .string(s), range: t.range)
        default: throw unexpected(t)
        }
    }

    mutating func parseTest() throws(FilterError) -> Node {
        let lhs = try parseOperand()
        switch current.kind {
        case .compare(let op):
            let opRange = current.range
            i += 1
            let rhs = try parseOperand()
            return .compare(lhs, op, rhs, opRange: opRange)
        case .in:
            i += 1
            return .member(lhs, try parseSet(), negated: false)
        case .bitwiseAnd:
            let op = current
            i += 1
            let mask = try parseOperand()
            // Wireshark 4.0 takes `tcp.flags & 0x12 == 0x12` and matches nothing: refused here.
            if case .compare = current.kind {
                throw error(.syntax, "\"\(shown(op))\" tests FIELD & MASK alone (true when any bit of MASK is set); "
                            + "it cannot be compared: for all bits, test each (tcp.flags.syn && tcp.flags.ack)", current.range)
            }
            return .bitwiseAnd(lhs, mask, opRange: op.range)
        case .not where i + 1 < tokens.count && tokens[i + 1].kind == .in:
            i += 2
            return .member(lhs, try parseSet(), negated: true)
        default:
            return .exists(lhs)
        }
    }

    mutating func parseSet() throws(FilterError) -> [SetElement] {
        guard current.kind == .lbrace else {
            throw error(.syntax, "\"in\" needs a set in braces, e.g. {80 443} or {1..1024}", current.range)
        }
        let open = current
        i += 1
        var elements: [SetElement] = []
        var afterComma = false
        while true {
            switch current.kind {
            case .rbrace:
                if elements.isEmpty { throw error(.syntax, "empty set", open.range.lowerBound..<current.range.upperBound) }
                i += 1
                return elements
            case .end:
                throw error(.syntax, "\"{\" is never closed (missing \"}\")", open.range)
            case .comma where !elements.isEmpty && !afterComma:
                i += 1
                afterComma = true
                // A comma separates two elements: `{80,,443}` and `{80, 443,}` are errors, as in tshark.
                if current.kind == .rbrace || current.kind == .comma {
                    throw error(.syntax, "a set element must follow \",\"", current.range)
                }
                continue
            default:
                let lower = try parseOperand()
                var upper: Operand?
                if current.kind == .dotdot {
                    i += 1
                    upper = try parseOperand()
                }
                elements.append(SetElement(lower: lower, upper: upper))
                afterComma = false
            }
        }
    }
}
