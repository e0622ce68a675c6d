import Foundation
import CPCRE2

/// The regular-expression engine behind `matches`: PCRE2 with 8-bit code units, as Wireshark
/// (`epan/dfilter/semcheck.c`, `wsutil/regex.c`): the pattern is compiled once with
/// `PCRE2_CASELESS | PCRE2_NEVER_UTF` and matched against the field's bytes, not text. So `.`
/// and `\xHH` are one byte each (`\xff` is the byte 0xff), `.` matches CR but not LF, `$`
/// matches at the end or before a final LF, and only ASCII letters fold case (`(?-i)` turns
/// that off). PCRE2's interpreter is used, not its JIT, as Wireshark does.
///
/// Unlike Wireshark every match runs with limits set on a match context, and a match that
/// reaches one is counted (`RegexRuntime.limitHitPackets`) and taken as no match; tshark takes
/// it as no match silently. The compiled pattern, match context and match data (which keeps
/// PCRE2's backtracking frames between calls) are made once per `matches` test and reused for
/// every packet.
final class ByteRegex {
    /// PCRE2's built-in default (`pcre2_config(PCRE2_CONFIG_MATCHLIMIT)`), which tshark runs
    /// with: any match tshark completes completes here too. About 0.2 s of work when reached.
    static let matchLimit: UInt32 = 10_000_000
    /// Nested backtracking points (PCRE2's default is the match limit). Each one is a heap frame
    /// of ~130 bytes plus 16 per capture group, so this bounds the memory a match can take to
    /// about 150 MB for a pattern with a few groups; a pattern repeating a group once per byte
    /// needs about two per byte, which a 262144-byte packet stays well under.
    static let depthLimit: UInt32 = 1_000_000

    private let code: OpaquePointer
    private let context: OpaquePointer
    private let matchData: OpaquePointer
    private let runtime: RegexRuntime

    /// Compiles `pattern` (raw bytes: the quoted string after its escapes, NULs included).
    /// - Throws: `RegexSyntaxError` with PCRE2's message and the byte offset in `pattern`.
    init(_ pattern: [UInt8], runtime: RegexRuntime) throws(RegexSyntaxError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = pattern.withUnsafeBufferPointer { p in
            pcre2_compile_8(p.baseAddress ?? ByteRegex.empty, p.count, PCRE2_CASELESS | PCRE2_NEVER_UTF,
                            &errorCode, &errorOffset, nil)
        }
        guard let code = compiled else {
            throw RegexSyntaxError(message: Self.message(errorCode), offset: errorOffset)
        }
        guard let context = pcre2_match_context_create_8(nil),
              let matchData = pcre2_match_data_create_8(1, nil) else {  // one pair: the whole match, unused
            fatalError("PCRE2: out of memory for a match context")
        }
        pcre2_set_match_limit_8(context, Self.matchLimit)
        pcre2_set_depth_limit_8(context, Self.depthLimit)
        self.code = code
        self.context = context
        self.matchData = matchData
        self.runtime = runtime
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_match_context_free_8(context)
        pcre2_code_free_8(code)
    }

    /// Whether `subject` contains a match. A match that reaches a limit (or any other PCRE2
    /// error) is no match, recorded on the runtime. Call with `runtime.lock` held (the match
    /// data is shared): `DisplayFilter.matches` holds it around the whole filter.
    func matches(_ subject: UnsafeRawBufferPointer) -> Bool {
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? ByteRegex.empty
        let rc = pcre2_match_8(code, base, subject.count, 0, 0, matchData, context)
        if rc >= 0 { return true }
        if rc != PCRE2_ERROR_NOMATCH { runtime.limitHit = true }
        return false
    }

    /// A readable address for empty patterns and subjects (PCRE2 wants a pointer even for 0 bytes).
    nonisolated(unsafe) private static let empty: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    /// PCRE2's text for an error code ("missing closing parenthesis").
    static func message(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(code, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[..<Int(n)], as: UTF8.self) : "error \(code)"
    }
}

/// A pattern PCRE2 does not compile: its message and the byte offset where it stopped.
struct RegexSyntaxError: Error {
    let message: String
    let offset: Int
}

/// State shared by the `matches` tests of one filter: the lock that serialises use of their
/// match data, and how many packets reached a PCRE2 limit.
final class RegexRuntime: @unchecked Sendable {
    let lock = NSLock()
    /// Set by a `matches` test that reached a limit while the current packet is evaluated.
    var limitHit = false
    /// Packets on which some `matches` test reached a limit (counted once per packet).
    var limitHitPackets = 0

    /// Evaluates `body` for one packet under the lock, counting the packet if a limit was hit.
    @inline(__always) func evaluate(_ body: () -> Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        limitHit = false
        let r = body()
        if limitHit { limitHitPackets += 1 }
        return r
    }

    var packets: Int {
        lock.lock()
        defer { lock.unlock() }
        return limitHitPackets
    }
}
