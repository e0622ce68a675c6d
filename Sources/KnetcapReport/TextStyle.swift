import KnetcapAnalysis

/// Terminal colour (`--color=auto|always|never`, `NO_COLOR`): ANSI SGR sequences around text,
/// or the text alone. `auto` colours only when the output is a terminal and `NO_COLOR` is unset
/// or empty (no-color.org), so piped output and the golden reports never carry escapes.
public struct TextStyle: Sendable {
    public let enabled: Bool
    public static let plain = TextStyle(enabled: false)

    public init(enabled: Bool) { self.enabled = enabled }

    /// `--color` WHEN: `always`, `never`, or `auto` (a terminal, and `NO_COLOR` unset or empty).
    public init(when: String, isTerminal: Bool, noColor: String?) {
        switch when {
        case "always": enabled = true
        case "never": enabled = false
        default: enabled = isTerminal && (noColor ?? "").isEmpty
        }
    }

    func sgr(_ code: String, _ s: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    public func bold(_ s: String) -> String { sgr("1", s) }
    public func red(_ s: String) -> String { sgr("1;31", s) }
    public func yellow(_ s: String) -> String { sgr("33", s) }
    public func cyan(_ s: String) -> String { sgr("36", s) }
    public func dim(_ s: String) -> String { sgr("2", s) }
    /// Critical red, warning yellow, info cyan.
    func severity(_ s: Severity, _ text: String) -> String {
        switch s { case .critical: return red(text); case .warning: return yellow(text); case .info: return cyan(text) }
    }
}

/// Characters `s` takes on a terminal: its length without ANSI SGR sequences.
func visibleWidth(_ s: String) -> Int {
    var n = 0, inEscape = false
    for c in s.unicodeScalars {
        if inEscape { if c == "m" { inEscape = false }; continue }
        if c == "\u{1B}" { inEscape = true; continue }
        n += 1
    }
    return n
}
