import Testing
import KnetcapWire
@testable import KnetcapFilter

/// The language itself: bad expressions and their exact error text and column (Wireshark's
/// `test/suite_dfilter` style: expression → error), the grammar's precedence, and literals.
@Suite struct FilterSyntaxTests {
    struct Bad: CustomStringConvertible, Sendable {
        let expression: String
        let kind: FilterError.Kind
        let message: String
        /// 1-based column of the caret, and how many columns it underlines.
        let column: Int
        let width: Int
        var description: String { expression }
    }

    static let bad: [Bad] = [
        // What tshark 4.0 refuses (issue 12 review): commas without an element between, a byte
        // written with one hex digit, the lower-case boolean.
        Bad(expression: "tcp.port in {80,,443}", kind: .syntax, message: "a set element must follow \",\"", column: 17, width: 1),
        Bad(expression: "tcp.port in {80, 443,}", kind: .syntax, message: "a set element must follow \",\"", column: 22, width: 1),
        Bad(expression: "tcp contains 47:45:5", kind: .badValue,
            message: "47:45:5 is neither a field nor a byte string (write bytes as aa:bb:cc, text in quotes)", column: 14, width: 7),
        Bad(expression: "dns.flags.response == true", kind: .badValue,
            message: "true is not a boolean (1, 0, True or False), as dns.flags.response needs", column: 23, width: 4),
        Bad(expression: "dns.qry.nme == \"x\"", kind: .unknownField,
            message: "unknown field \"dns.qry.nme\" (did you mean \"dns.qry.name\"?); knetcap --fields lists them", column: 1, width: 11),
        Bad(expression: "tcp.port == 80 && htp.host", kind: .unknownField,
            message: "unknown field \"htp.host\" (did you mean \"http.host\"?); knetcap --fields lists them", column: 19, width: 8),
        Bad(expression: "ip.src == ip.dsst", kind: .unknownField,
            message: "unknown field \"ip.dsst\" (did you mean \"ip.dst\"?); knetcap --fields lists them", column: 11, width: 7),
        Bad(expression: "tcp.port == \"80\"", kind: .typeMismatch,
            message: "tcp.port is an unsigned integer, not a string: write the value without quotes", column: 13, width: 4),
        Bad(expression: "ip.src == tcp.port", kind: .typeMismatch,
            message: "ip.src (IPv4 address) and tcp.port (unsigned integer) cannot be compared", column: 11, width: 8),
        Bad(expression: "tcp.port contains 80", kind: .typeMismatch,
            message: "\"contains\" needs a string, byte or protocol field; tcp.port is an unsigned integer", column: 10, width: 8),
        Bad(expression: "tcp == 1", kind: .typeMismatch,
            message: "tcp is a protocol: test it alone, or with \"contains\" or \"matches\"", column: 5, width: 2),
        Bad(expression: "tcp.flags.syn > 0", kind: .typeMismatch,
            message: "tcp.flags.syn is a boolean: \">\" does not apply (use == or !=)", column: 15, width: 1),
        Bad(expression: "http.request.uri == \"/mytest", kind: .unterminatedString,
            message: "unterminated string (the closing quote is missing)", column: 21, width: 8),
        Bad(expression: "dns.qry.name == \"a\\zb\"", kind: .badEscape,
            message: "\\z is not a valid escape sequence (use \\\\ for a backslash)", column: 19, width: 2),
        Bad(expression: "dns.qry.name matches \"(cluster\"", kind: .badRegex,
            message: "bad regular expression: missing closing parenthesis", column: 22, width: 10),
        Bad(expression: "http.host matches \"[a-\"", kind: .badRegex,
            message: "bad regular expression: missing terminating ] for character class", column: 19, width: 5),
        Bad(expression: "tcp.port == 80 && tcp matches \"a**\"", kind: .badRegex,
            message: "bad regular expression: quantifier does not follow a repeatable item", column: 31, width: 5),
        Bad(expression: "ip.addr == 10.0.0.0/33", kind: .badValue,
            message: "the prefix length of 10.0.0.0/33 must be 0 to 32 bits", column: 12, width: 11),
        Bad(expression: "ip.src == 1.2.3", kind: .badValue,
            message: "1.2.3 is not an IPv4 address (a.b.c.d) or network (a.b.c.d/bits), as ip.src needs", column: 11, width: 5),
        Bad(expression: "ip.dst == kube-dns", kind: .badValue,
            message: "kube-dns is not an IPv4 address (a.b.c.d) or network (a.b.c.d/bits), as ip.dst needs (knetcap does not resolve host names)",
            column: 11, width: 8),
        Bad(expression: "tcp.port == 99999999999", kind: .badValue,
            message: "99999999999 is too big for tcp.port (at most 65535)", column: 13, width: 11),
        Bad(expression: "eth.src == 00:13:72", kind: .badValue,
            message: "00:13:72 is not a MAC address (aa:bb:cc:dd:ee:ff), as eth.src needs", column: 12, width: 8),
        Bad(expression: "tcp.port == 80 &&", kind: .syntax,
            message: "the filter ends after \"&&\", which needs a test after it", column: 18, width: 1),
        Bad(expression: "tcp.flags &", kind: .syntax,
            message: "the filter ends after \"&\", which needs a value after it", column: 12, width: 1),
        Bad(expression: "tcp.flags.syn & 1", kind: .typeMismatch,
            message: "tcp.flags.syn is a boolean: \"&\" needs an unsigned integer field", column: 15, width: 1),
        Bad(expression: "tcp.flags & tcp.port", kind: .typeMismatch,
            message: "the mask after \"&\" must be a number, not the field tcp.port", column: 13, width: 8),
        Bad(expression: "(tcp.port == 80 or udp", kind: .syntax,
            message: "\"(\" is never closed (missing \")\")", column: 1, width: 1),
        Bad(expression: "tcp.port == 80 80", kind: .syntax, message: "unexpected \"80\"", column: 16, width: 2),
        Bad(expression: "tcp.port = 80", kind: .syntax, message: "\"=\" is not an operator (use == to compare)", column: 10, width: 1),
        Bad(expression: "tcp.port in 80", kind: .syntax,
            message: "\"in\" needs a set in braces, e.g. {80 443} or {1..1024}", column: 13, width: 2),
        Bad(expression: "80 == tcp.port", kind: .syntax,
            message: "the left side of \"==\" must be a field or protocol, not 80", column: 1, width: 2),
        Bad(expression: "dns.qry.name == «x»", kind: .syntax, message: "unexpected character \"«\"", column: 17, width: 1),
    ]

    @Test(arguments: bad)
    func badExpression(_ b: Bad) {
        do {
            _ = try DisplayFilter(b.expression)
            Issue.record("\(b.expression) compiled")
        } catch {
            #expect(error.kind == b.kind)
            #expect(error.message == b.message)
            #expect(error.column == b.column, "column")
            #expect(error.width == b.width, "width")
        }
    }

    @Test("at least 10 bad expressions") func enoughBadExpressions() { #expect(Self.bad.count >= 10) }

    @Test func renderedWithCaret() throws {
        let e = try #require(throws: FilterError.self) { try DisplayFilter("ip.addr == 10.0.0.0/8 && dns.qry.nme contains \"x\"") }
        // "knetcap: " (9 columns, written by the CLI) + "-Y " + the 25 characters before the field.
        #expect(e.rendered(prefix: "-Y ", indent: 9) == "-Y ip.addr == 10.0.0.0/8 && dns.qry.nme contains \"x\": unknown field "
            + "\"dns.qry.nme\" (did you mean \"dns.qry.name\"?); knetcap --fields lists them\n"
            + String(repeating: " ", count: 9 + 3 + 25) + "^~~~~~~~~~~")
        // Columns count characters, not bytes; tabs show as spaces so the caret lines up.
        let u = try #require(throws: FilterError.self) { try DisplayFilter("http.host == \"é\"\t&& tcp.prt") }
        #expect(u.column == 21 && u.width == 7)
        #expect(u.rendered() == "-Y http.host == \"é\" && tcp.prt: unknown field \"tcp.prt\" (did you mean \"tcp.port\"?); knetcap --fields lists them\n"
            + String(repeating: " ", count: 3 + 20) + "^~~~~~~")
    }

    @Test func precedence() throws {
        // and binds tighter than or (Wireshark 4.0); not binds tighter than both.
        var p = try Parser("a or b and not c")
        let w = { (s: String, at: Int) in Node.exists(Operand(kind: .word(s), range: at..<at + 1)) }
        #expect(try p.parse() == .or(w("a", 0), .and(w("b", 5), .not(w("c", 15)))))
        var q = try Parser("(a or b) && c")
        #expect(try q.parse() == .and(.or(w("a", 1), w("b", 6)), w("c", 12)))
    }

    @Test func emptyFilterMatchesAll() throws {
        #expect(try DisplayFilter("").tracking.isEmpty)
        #expect(try DisplayFilter("   ").expression == "   ")
    }

    @Test func trackingIsWhatTheFilterReads() throws {
        #expect(try DisplayFilter("dns.qry.name contains \"cluster\"").tracking.isEmpty)
        #expect(try DisplayFilter("tcp.stream == 1 || dns.time > 1").tracking == [.tcp, .dns])
        #expect(try DisplayFilter("http.request.uri == \"/mytest\"").tracking == .http)
        #expect(try DisplayFilter("frame.time_delta > 0.5").tracking == .time)
    }

    @Test func setsAndRanges() throws {
        // Whitespace or commas between elements; ranges of numbers, addresses and times.
        for e in ["tcp.port in {80 443}", "tcp.port in {80, 443}", "tcp.port in {1..1024, 8080}", "frame.number in {1 .. 5}",
                  "ip.addr in {10.0.0.0/8 192.168.0.1..192.168.0.9}", "frame.time_relative in {0..0.5}", "tcp.port not in {22}"] {
            _ = try DisplayFilter(e)
        }
        #expect(throws: FilterError.self) { try DisplayFilter("tcp.port in {}") }
        #expect(throws: FilterError.self) { try DisplayFilter("http.host in {a..b}") }
    }

    @Test func literals() throws {
        #expect(LiteralParse.unsigned("0x50") == 80 && LiteralParse.unsigned("010") == 8 && LiteralParse.unsigned("0b101") == 5)
        #expect(LiteralParse.unsigned("08") == nil && LiteralParse.unsigned("-1") == nil)
        #expect(LiteralParse.seconds("0.25") == 250_000_000 && LiteralParse.seconds("2") == 2_000_000_000)
        #expect(LiteralParse.seconds(".5") == 500_000_000 && LiteralParse.seconds("1s") == nil && LiteralParse.seconds(".") == nil)
        #expect(LiteralParse.ipv4("10.1.2.3")?.0 == IPAddress(v4: 0x0a01_0203))
        #expect(LiteralParse.ipv4("10.0.0.0/8")?.1 == 8 && LiteralParse.ipv4("256.1.1.1") == nil && LiteralParse.ipv4("1.2.3") == nil)
        #expect(LiteralParse.ipv6("2001:db8::1")?.0 == IPAddress(v6hi: 0x2001_0db8_0000_0000, lo: 1))
        #expect(LiteralParse.ipv6("::ffff:10.0.0.1")?.0 == IPAddress(v6hi: 0, lo: 0x0000_ffff_0a00_0001))
        #expect(LiteralParse.ipv6("::")?.0 == IPAddress(v6hi: 0, lo: 0) && LiteralParse.ipv6("fe80::/10")?.1 == 10)
        #expect(LiteralParse.ipv6("1::2::3") == nil && LiteralParse.ipv6("1:2:3:4:5:6:7:8:9") == nil && LiteralParse.ipv6("12345::") == nil)
        #expect(LiteralParse.ether("00:13:72:89:fb:2c") == 0x0013_7289_fb2c)
        #expect(LiteralParse.ether("00-13-72-89-fb-2c") == 0x0013_7289_fb2c && LiteralParse.ether("0013.7289.fb2c") == 0x0013_7289_fb2c)
        #expect(LiteralParse.ether("00:13:72") == nil)
        #expect(LiteralParse.hexBytes("47:45:54") == [0x47, 0x45, 0x54] && LiteralParse.hexBytes("ab") == [0xab])
        #expect(LiteralParse.hexBytes("abc") == nil && LiteralParse.hexBytes("a::b") == nil)
        // Escapes in strings.
        var lexer = Lexer(#""a\x41\101\n\"\\""#)
        #expect(try lexer.next().kind == .string(Array("aAA\n\"\\".utf8)))
    }

    @Test func networkMatch() {
        let net = Literal.ip(IPAddress(v4: 0x0a00_0000), prefix: 8)
        #expect(net.equals(.ip(IPAddress(v4: 0x0aff_0001))) && !net.equals(.ip(IPAddress(v4: 0x0b00_0001))))
        let v6 = Literal.ip(IPAddress(v6hi: 0x2001_0db8_0000_0000, lo: 0), prefix: 32)
        #expect(v6.equals(.ip(IPAddress(v6hi: 0x2001_0db8_ffff_0000, lo: 9))) && !v6.equals(.ip(IPAddress(v6hi: 0x2001_0db9_0000_0000, lo: 0))))
        #expect(!net.equals(.ip(IPAddress(v6hi: 0, lo: 0x0a00_0001))), "an IPv6 address is never in an IPv4 network")
    }

    @Test func suggestions() {
        #expect(Compiler.suggestion(for: "tcp.prot") == "tcp.port")
        #expect(Compiler.suggestion(for: "http.request.url") == "http.request.uri")
        #expect(Compiler.suggestion(for: "frame.time_relativ") == "frame.time_relative")
        #expect(Compiler.suggestion(for: "zz") == nil, "no far-fetched suggestion for short words")
    }
}
