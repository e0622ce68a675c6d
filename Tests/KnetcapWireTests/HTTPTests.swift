import Testing
import KnetcapWire

/// HTTP/1.x heads (RFC 9112): recognition by content, start lines, the header fields knetcap
/// keeps, tcpdump's one-line summary, and every prefix of a head read without a trap.
@Suite struct HTTPTests {
    static func withView<R>(_ s: String, _ body: (ByteView) -> R) -> R {
        Array(s.utf8).withUnsafeBytes { body(ByteView($0)) }
    }

    static func summary(_ s: String) -> String {
        var out = TextBuffer()
        withView(s) { HTTP.writeSummary($0, to: &out) }
        return out.string
    }

    @Test func recognisedByContent() {
        #expect(Self.withView("GET /mytest HTTP/1.1\r\n") { HTTP.startsMessage($0) })
        #expect(Self.withView("HTTP/1.0 304 Not Modified\r\n") { HTTP.startsMessage($0) })
        #expect(Self.withView("PATCH /x HTTP/1.1\r\n") { HTTP.startsMessage($0) })
        #expect(!Self.withView("GETX / HTTP/1.1\r\n") { HTTP.startsMessage($0) })
        #expect(!Self.withView("get / HTTP/1.1\r\n") { HTTP.startsMessage($0) }, "methods are case-sensitive (RFC 9110 §9.1)")
        #expect(!Self.withView("HTTP/2 200\r\n") { HTTP.startsMessage($0) })
        #expect(!Self.withView("GE") { HTTP.startsMessage($0) })
        #expect(!Self.withView("") { HTTP.startsMessage($0) })
    }

    @Test func request() throws {
        let head = "GET /mytest?a=1 HTTP/1.1\r\nHost:  lbtest.example \r\nUser-Agent: curl/8.5.0\r\n"
            + "content-length: 0\r\nConnection: keep-alive\r\nX-Other: y\r\n\r\nbody"
        let m = try #require(Self.withView(head) { HTTP.parse($0) })
        #expect(m.start == .request(method: "GET", uri: "/mytest?a=1", version: "HTTP/1.1"))
        #expect(m.host == "lbtest.example" && m.userAgent == "curl/8.5.0" && m.contentLength == 0 && m.connection == "keep-alive")
        #expect(m.contentType == nil && m.isRequest && m.method == "GET" && m.uri == "/mytest?a=1" && m.statusCode == nil)
    }

    @Test func response() throws {
        let m = try #require(Self.withView("HTTP/1.0 304 Not Modified\nContent-Type: text/html\n\n") { HTTP.parse($0) })
        #expect(m.start == .response(version: "HTTP/1.0", code: 304, phrase: "Not Modified"))
        #expect(m.contentType == "text/html" && m.statusCode == 304 && !m.isRequest)
        let bare = try #require(Self.withView("HTTP/1.1 204\r\n\r\n") { HTTP.parse($0) })
        #expect(bare.start == .response(version: "HTTP/1.1", code: 204, phrase: ""))
    }

    @Test func incompleteOrNotHTTP() {
        #expect(Self.withView("GET / HTTP/1.1\r\nHost: a\r\n") { HTTP.headEnd($0) } == nil)
        #expect(Self.withView("GET / HTTP/1.1\r\nHost: a\r\n") { HTTP.parse($0) } == nil)
        #expect(Self.withView("GET / HTTP/1.1\r\n\r\n") { HTTP.headEnd($0) } == 18)
        #expect(Self.withView("\r\n\r\n") { HTTP.headEnd($0) } == nil, "the start line cannot be empty")
        #expect(Self.withView("GET /nover\r\n\r\n") { HTTP.parse($0) } == nil)
        #expect(Self.withView("HTTP/1.1 20x OK\r\n\r\n") { HTTP.parse($0) } == nil)
        #expect(Self.withView("BREW /pot HTTP/1.1\r\n\r\n") { HTTP.parse($0) } == nil)
        // Folded (obsolete) lines and lines without a colon are skipped, never misread.
        let m = Self.withView("GET / HTTP/1.1\r\nHost: a\r\n  folded: b\r\nnocolon\r\n\r\n") { HTTP.parse($0) }
        #expect(m?.host == "a")
        // A head longer than the bound is not searched past it.
        let long = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTP.maxHeadLength) + "\r\n\r\n"
        #expect(Self.withView(long) { HTTP.headEnd($0) } == nil)
    }

    /// tcpdump 4.99 (util-print.c txtproto_print) without -v.
    @Test func tcpdumpSummary() {
        #expect(Self.summary("GET /mytest HTTP/1.1\r\nHost: a\r\n\r\n") == ": HTTP: GET /mytest HTTP/1.1")
        #expect(Self.summary("HTTP/1.1 200 OK\r\n") == ": HTTP: HTTP/1.1 200 OK")
        #expect(Self.summary("GET /a\tb HTTP/1.1\n") == ": HTTP: GET /a\tb HTTP/1.1")
        #expect(Self.summary("GET /cut-by-the-snap") == ": HTTP: GET /cut-by-the-snap [|http]")
        #expect(Self.summary("GET /\u{7f} HTTP/1.1\r\n") == ": HTTP", "a line with a non-printable byte is not printed")
        #expect(Self.summary("GET / HTTP/1.1\rX") == ": HTTP", "CR without LF")
        #expect(Self.summary("SSH-2.0-OpenSSH\r\n") == "")
    }

    @Test func everyPrefixIsSafe() {
        let head = Array("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 12345\r\nContent-Type: a/b\r\n\r\n".utf8)
        for n in 0...head.count {
            head.withUnsafeBytes { raw in
                let v = ByteView(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
                var out = TextBuffer()
                HTTP.writeSummary(v, to: &out)
                let m = HTTP.parse(v)
                #expect((m != nil) == (n == head.count), "prefix \(n)")
                if let m { #expect(m.contentLength == 12345 && m.contentType == "a/b") }
            }
        }
        // Hostile bytes: NULs, high bytes, lone CRs, huge Content-Length.
        let hostile: [UInt8] = Array("GET ".utf8) + [0, 0xff, 0x0d, 0x0d, 0x0a] + Array("Content-Length: 99999999999999999999999\r\n\r\n".utf8)
        hostile.withUnsafeBytes { raw in
            var out = TextBuffer()
            HTTP.writeSummary(ByteView(raw), to: &out)
            #expect(HTTP.parse(ByteView(raw)) == nil)
        }
    }
}
