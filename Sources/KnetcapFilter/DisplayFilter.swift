import KnetcapWire
import KnetcapDissect

/// A compiled Wireshark display filter (`-Y`): a faithful subset of Wireshark 4.0's language.
///
/// - Fields by their Wireshark names (`FieldRegistry.all`; `knetcap --fields`), protocols as
///   bare names (`dns`, `tcp`, `http`, ...): a field or protocol alone is true when present.
/// - Comparisons `== != === !== < > <= >=` (and `eq ne all_eq any_ne lt gt le ge`, `~=`),
///   `contains` (bytes or text), `matches` (a PCRE2 regular expression on the bytes, as
///   Wireshark's; case-insensitive unless it says `(?-i)`), `in {a b c}` / `in {a, b}` with
///   ranges `{1..1024}`, `not in`;
///   `and or not && || !` and parentheses (`and` binds tighter than `or`).
/// - Literals: numbers (decimal, `0x` hex, `0` octal), quoted strings with C escapes, IPv4 and
///   IPv6 addresses and networks (`10.0.0.0/8`), MAC addresses, byte strings (`aa:bb:cc`),
///   times in seconds; unquoted text for string fields (`http.request.method == GET`).
///
/// Repeated fields follow Wireshark 4.0: `==` when any occurrence matches, `!=` when the field
/// is present and every occurrence differs. Compile once; `matches(_:)` does no parsing and no
/// heap allocation (a `matches` test reuses its compiled pattern and match data; PCRE2 grows
/// its backtracking frames only when a pattern needs more than ever before).
/// Fields that need earlier packets (`tcp.stream`, `dns.time`, `http.*`, ...) read
/// `Packet.tracked`: feed every packet to a `CaptureState(tracking: filter.tracking)` first.
///
/// A `matches` that reaches PCRE2's match or depth limit (`ByteRegex`) is no match, as in tshark;
/// `regexLimitHits` counts those packets so the caller can say so (the library never prints).
///
/// Sendable: after `init` only the regex state changes, under a lock held while a filter with
/// `matches` tests one packet (so several threads may share one filter).
public struct DisplayFilter: @unchecked Sendable {
    /// The expression as given.
    public let expression: String
    /// The per-capture state the filter reads (empty when it needs none).
    public let tracking: CaptureState.Tracking
    private let predicate: Predicate?
    /// The `matches` tests' shared state; nil when the filter has none.
    private let regexRuntime: RegexRuntime?

    /// Compiles `expression`. An empty (or blank) expression matches every packet.
    /// - Throws: `FilterError` with the location of the first problem.
    public init(_ expression: String) throws(FilterError) {
        self.expression = expression
        var parser = try Parser(expression)
        guard let tree = try parser.parse() else {
            predicate = nil
            tracking = []
            regexRuntime = nil
            return
        }
        var compiler = Compiler(expression)
        predicate = try compiler.compile(tree)
        tracking = compiler.tracking
        regexRuntime = compiler.regexRuntime
    }

    /// Whether the packet passes the filter.
    public func matches(_ p: Packet) -> Bool {
        guard let predicate else { return true }
        guard let regexRuntime else { return predicate(p) }
        return regexRuntime.evaluate { predicate(p) }
    }

    /// Packets tested so far on which a `matches` regular expression reached PCRE2's match or
    /// depth limit and so was taken as no match (0 for filters without `matches`). Each packet
    /// counts once however many of its values or `matches` tests hit a limit.
    public var regexLimitHits: Int { regexRuntime?.packets ?? 0 }

    /// The fields and protocols a filter can name, with their types and descriptions, in
    /// protocol order (the registry's order).
    public static var supportedFields: [FieldDescriptor] {
        FieldRegistry.all
    }
}
