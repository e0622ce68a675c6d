/// HTTP/1.x message heads: the start line and the header section (RFC 9112 §2–§5; methods
/// RFC 9110 §9 and RFC 5789 PATCH; status codes RFC 9110 §15).
///
/// Layout of a head (RFC 9112 §2.1): `start-line CRLF *( field-line CRLF ) CRLF`, where the
/// start line is `method SP request-target SP HTTP-version` (§3) or
/// `HTTP-version SP status-code SP [ reason-phrase ]` (§4). A bare LF is accepted as a line
/// terminator (§2.2). Everything here reads through bounds-checked `ByteView` accessors: no
/// read can trap, every loop advances at least one byte, and scans stop at `maxHeadLength`.
///
/// knetcap recognises HTTP by content on any TCP port (`startsMessage`); the head may arrive in
/// several TCP segments, which the stream tracker in KnetcapDissect joins before `parse`.
public enum HTTP {
    /// Longest head scanned or buffered, in bytes (header sections beyond this are not HTTP to
    /// knetcap; servers commonly refuse heads over 8–16 KiB).
    public static let maxHeadLength = 16_384

    /// Request methods recognised at the start of a TCP payload: RFC 9110 §9, PATCH (RFC 5789)
    /// and the WebDAV methods (RFC 4918) tcpdump also knows. Case-sensitive (RFC 9110 §9.1).
    public static let methods: [StaticString] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
    ]

    /// Whether `payload` starts an HTTP/1.x message: a known method followed by a space, or
    /// `HTTP/1.` (a status line). Reads at most 10 bytes.
    public static func startsMessage(_ payload: ByteView) -> Bool {
        guard let c0 = payload.u8(at: 0), c0 >= 0x41, c0 <= 0x5a else { return false }  // 'A'...'Z'
        if hasPrefix(payload, "HTTP/1.") { return true }
        for m in methods {
            let n = m.utf8CodeUnitCount
            if payload.u8(at: n) == 0x20, hasPrefix(payload, m) { return true }
        }
        return false
    }

    /// Whether `bytes` begins with the ASCII text `s`.
    static func hasPrefix(_ bytes: ByteView, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        return s.withUTF8Buffer { p in
            for i in 0..<n where bytes.u8(at: i) != p[i] { return false }
            return true
        }
    }

    /// The offset just past the empty line that ends the head (`CRLF CRLF`, or `LF LF`), or
    /// `nil` when it is not within the first `maxHeadLength` bytes of `bytes`.
    public static func headEnd(_ bytes: ByteView) -> Int? {
        let n = min(bytes.count, maxHeadLength)
        var i = 0
        var lineStart = 0
        while i < n {
            guard let c = bytes.u8(at: i) else { return nil }
            if c == 0x0a {
                // An empty line: LF right after the previous line's end, or CR LF there.
                let len = i - lineStart
                if len == 0 || (len == 1 && bytes.u8(at: lineStart) == 0x0d) {
                    return lineStart == 0 ? nil : i + 1  // the start line itself cannot be empty
                }
                lineStart = i + 1
            }
            i += 1
        }
        return nil
    }

    /// Parses a complete head (`bytes` starts with the start line; `headEnd(bytes)` must be
    /// non-nil). Returns `nil` when the start line is neither a request line nor a status line.
    /// Allocates the strings it keeps; header values are trimmed of spaces and tabs (RFC 9112
    /// §5.1). Obsolete line folding (§5.2) continues no value: folded lines are skipped.
    public static func parse(_ bytes: ByteView) -> HTTPMessage? {
        guard let end = headEnd(bytes) else { return nil }
        var lines = LineIterator(bytes: bytes, end: end)
        guard let first = lines.next(), let start = HTTPStartLine(first) else { return nil }
        var m = HTTPMessage(start: start)
        while let line = lines.next(), line.count > 0 {
            guard let c0 = line.u8(at: 0), c0 != 0x20, c0 != 0x09 else { continue }  // folded line
            guard let colon = index(of: 0x3a, in: line) else { continue }
            let name = line.prefix(colon)
            let value = trim(line.suffix(from: colon + 1))
            if equalsIgnoringCase(name, "host") { if m.host == nil { m.host = text(value) } }
            else if equalsIgnoringCase(name, "user-agent") { if m.userAgent == nil { m.userAgent = text(value) } }
            else if equalsIgnoringCase(name, "content-type") { if m.contentType == nil { m.contentType = text(value) } }
            else if equalsIgnoringCase(name, "connection") { if m.connection == nil { m.connection = text(value) } }
            else if equalsIgnoringCase(name, "content-length") { if m.contentLength == nil { m.contentLength = decimal(value) } }
        }
        return m
    }

    /// tcpdump's text after `length N` for a TCP payload that starts an HTTP message
    /// (util-print.c `txtproto_print` without `-v`): `: HTTP: ` and the first line without its
    /// line end, e.g. `: HTTP: GET /mytest HTTP/1.1`. When the line runs to the end of the
    /// captured bytes it is printed followed by ` [|http]`; a line holding a byte that is not
    /// printable ASCII (or tab), or a CR not followed by LF, is not printed (`: HTTP` only).
    /// Writes nothing when `payload` does not start an HTTP message.
    public static func writeSummary(_ payload: ByteView, to out: inout TextBuffer) {
        guard startsMessage(payload) else { return }
        out.append(": HTTP")
        var i = 0
        let n = payload.count
        while i < n {
            guard let c = payload.u8(at: i) else { return }
            if c == 0x0a { break }
            if c == 0x0d {
                if payload.u8(at: i + 1) == 0x0a { break }
                return
            }
            if (c < 0x20 && c != 0x09) || c > 0x7e { return }
            i += 1
        }
        out.append(": ")
        let line = payload.prefix(i)
        for j in 0..<line.count { if let c = line.u8(at: j) { out.append(byte: c) } }
        if i >= n { out.append(" [|http]") }
    }

    // MARK: helpers (all bounds-checked)

    /// Iterates the lines of `bytes[0..<end]`, without their CRLF or LF.
    struct LineIterator {
        let bytes: ByteView
        let end: Int
        var pos = 0
        mutating func next() -> ByteView? {
            guard pos < end else { return nil }
            var i = pos
            while i < end, let c = bytes.u8(at: i), c != 0x0a { i += 1 }
            var lineEnd = i
            if lineEnd > pos, bytes.u8(at: lineEnd - 1) == 0x0d { lineEnd -= 1 }
            let line = bytes.slice(from: pos, length: lineEnd - pos)
            pos = i + 1
            return line
        }
    }

    static func index(of byte: UInt8, in b: ByteView, from start: Int = 0) -> Int? {
        var i = start
        while i < b.count { if b.u8(at: i) == byte { return i }; i += 1 }
        return nil
    }

    static func trim(_ b: ByteView) -> ByteView {
        var s = 0, e = b.count
        while s < e, let c = b.u8(at: s), c == 0x20 || c == 0x09 { s += 1 }
        while e > s, let c = b.u8(at: e - 1), c == 0x20 || c == 0x09 { e -= 1 }
        return b.slice(from: s, length: e - s)
    }

    static func equalsIgnoringCase(_ b: ByteView, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard b.count == n else { return false }
        return s.withUTF8Buffer { p in
            for i in 0..<n {
                guard let c = b.u8(at: i) else { return false }
                let lower = c >= 0x41 && c <= 0x5a ? c | 0x20 : c
                if lower != p[i] { return false }
            }
            return true
        }
    }

    /// The bytes as a `String` (invalid UTF-8 is replaced, as Wireshark shows it).
    static func text(_ b: ByteView) -> String { String(decoding: b.base, as: UTF8.self) }

    /// A decimal number of at most 19 digits, or `nil`.
    static func decimal(_ b: ByteView) -> UInt64? {
        guard b.count > 0, b.count <= 19 else { return nil }
        var v: UInt64 = 0
        for i in 0..<b.count {
            guard let c = b.u8(at: i), c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v
    }
}

/// The start line of an HTTP/1.x message (RFC 9112 §3, §4).
public enum HTTPStartLine: Sendable, Equatable {
    /// `GET /mytest HTTP/1.1`: `http.request.method`, `http.request.uri`, `http.request.version`.
    case request(method: String, uri: String, version: String)
    /// `HTTP/1.1 200 OK`: `http.response.version`, `http.response.code`, `http.response.phrase`.
    case response(version: String, code: UInt16, phrase: String)
}

extension HTTPStartLine {
    /// Parses a start line (without its line end). A request line is `method SP target SP
    /// version` with a method from `HTTP.methods` and a version starting `HTTP/`; a status line
    /// is `HTTP/1.x SP 3DIGIT [SP reason]`. Anything else is `nil`.
    init?(_ line: ByteView) {
        guard let sp1 = HTTP.index(of: 0x20, in: line) else { return nil }
        let first = line.prefix(sp1)
        if HTTP.hasPrefix(first, "HTTP/1.") {
            let rest = line.suffix(from: sp1 + 1)
            guard rest.count >= 3, rest.count == 3 || rest.u8(at: 3) == 0x20 else { return nil }
            guard let code = HTTP.decimal(rest.prefix(3)) else { return nil }
            self = .response(version: HTTP.text(first), code: UInt16(code),
                             phrase: HTTP.text(rest.suffix(from: 4)))
            return
        }
        guard HTTP.methods.contains(where: { m in HTTP.hasPrefix(first, m) && first.count == m.utf8CodeUnitCount }) else { return nil }
        let rest = line.suffix(from: sp1 + 1)
        guard let sp2 = HTTP.index(of: 0x20, in: rest) else { return nil }
        let version = rest.suffix(from: sp2 + 1)
        guard HTTP.hasPrefix(version, "HTTP/") else { return nil }
        self = .request(method: HTTP.text(first), uri: HTTP.text(rest.prefix(sp2)), version: HTTP.text(version))
    }
}

/// An HTTP/1.x message head as values (owned, `Sendable`): what the filter and JSON read,
/// with Wireshark's field names.
public struct HTTPMessage: Sendable, Equatable {
    public var start: HTTPStartLine
    /// `http.host`: the Host header (RFC 9110 §7.2).
    public var host: String?
    /// `http.user_agent`: the User-Agent header (RFC 9110 §10.1.5).
    public var userAgent: String?
    /// `http.content_type`: the Content-Type header (RFC 9110 §8.3).
    public var contentType: String?
    /// `http.content_length`: the Content-Length header, in bytes (RFC 9110 §8.6).
    public var contentLength: UInt64?
    /// `http.connection`: the Connection header (RFC 9110 §7.6.1).
    public var connection: String?

    public init(start: HTTPStartLine) { self.start = start }

    public var isRequest: Bool { if case .request = start { return true } else { return false } }
    /// `http.request.method` (requests only).
    public var method: String? { if case .request(let m, _, _) = start { return m } else { return nil } }
    /// `http.request.uri` (requests only), the request target as sent.
    public var uri: String? { if case .request(_, let u, _) = start { return u } else { return nil } }
    /// `http.response.code` (responses only).
    public var statusCode: UInt16? { if case .response(_, let c, _) = start { return c } else { return nil } }
}
