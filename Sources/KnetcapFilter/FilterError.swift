/// A display filter that cannot be compiled: what is wrong and where (DESIGN.md, example 7).
///
/// `range` is a range of UTF-8 byte offsets into `expression`; `column` and `width` count
/// characters, for the caret line. `rendered` gives the two lines knetcap prints:
///
///     -Y dns.qry.nme == "x": unknown field "dns.qry.nme" (did you mean "dns.qry.name"?)
///        ^~~~~~~~~~~
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The expression does not follow the grammar (an unexpected or missing token).
        case syntax
        /// A name that is neither a field nor a protocol knetcap knows.
        case unknownField
        /// An operator or value that does not fit the field's type.
        case typeMismatch
        /// A literal that is not a valid value of the field's type (`1.2.3` for `ip.src`).
        case badValue
        /// A quoted string without its closing quote.
        case unterminatedString
        /// A backslash escape that is not one of `\\ \" \' \a \b \f \n \r \t \v \xHH \ooo`.
        case badEscape
        /// A `matches` operand that is not a valid regular expression.
        case badRegex
    }

    public let kind: Kind
    public let message: String
    /// UTF-8 byte offsets into `expression`.
    public let range: Range<Int>
    public let expression: String

    public init(_ kind: Kind, _ message: String, _ range: Range<Int>, in expression: String) {
        self.kind = kind; self.message = message; self.range = range; self.expression = expression
    }

    /// 1-based character column where the offending text starts.
    public var column: Int { characters(upTo: range.lowerBound) + 1 }

    /// The offending text's width in characters (at least 1, for a caret at the end).
    public var width: Int { max(1, characters(upTo: range.upperBound) - characters(upTo: range.lowerBound)) }

    private func characters(upTo offset: Int) -> Int {
        let u = expression.utf8
        let end = u.index(u.startIndex, offsetBy: min(max(offset, 0), u.count))
        return expression[..<end].count
    }

    /// `-Y EXPR: MESSAGE` and a caret line under the offending text (`^~~~`). `prefix` is
    /// written before the expression; `indent` counts columns printed before `prefix` by
    /// someone else (the `knetcap: ` of the CLI), so the caret lines up. Tabs and line breaks in
    /// the expression are shown as spaces so columns stay aligned.
    public func rendered(prefix: String = "-Y ", indent: Int = 0) -> String {
        let shown = String(expression.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        let pad = String(repeating: " ", count: indent + prefix.count + column - 1)
        return "\(prefix)\(shown): \(message)\n\(pad)^\(String(repeating: "~", count: width - 1))"
    }

    public var description: String { rendered() }
}
