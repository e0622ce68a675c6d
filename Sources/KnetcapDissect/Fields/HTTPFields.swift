import KnetcapWire

/// HTTP/1.x message heads (`http.*`, RFC 9112), reassembled across segments by `CaptureState`.
enum HTTPFields {
    static func text(_ pick: @escaping @Sendable (HTTPMessage) -> String?) -> FieldReader {
        { p, f in
            guard let m = p.tracked.http, let s = pick(m) else { return false }
            return withText(s, f)
        }
    }

    static let table: [FieldDescriptor] = [
        .init("http", .proto, "HTTP/1.x message head, recognised by content on any TCP port", tracking: .http, textIsName: true) { p, f in
            guard p.tracked.http != nil else { return false }
            return f(.bytes((p.tcp?.payload ?? p.bytes).base))
        },
        .init("http.request", .boolean, "the message is a request", tracking: .http) { p, f in
            guard let m = p.tracked.http else { return false }
            return m.isRequest && f(.bool(true))
        },
        .init("http.response", .boolean, "the message is a response", tracking: .http) { p, f in
            guard let m = p.tracked.http else { return false }
            return !m.isRequest && f(.bool(true))
        },
        .init("http.request.method", .string, "HTTP request method (GET, POST, ...)", tracking: .http,
              text { m in if case .request(let v, _, _) = m.start { return v } else { return nil } }),
        .init("http.request.uri", .string, "HTTP request target, as sent", tracking: .http,
              text { m in if case .request(_, let v, _) = m.start { return v } else { return nil } }),
        .init("http.request.version", .string, "HTTP version of a request (HTTP/1.1)", tracking: .http,
              text { m in if case .request(_, _, let v) = m.start { return v } else { return nil } }),
        .init("http.response.version", .string, "HTTP version of a response", tracking: .http,
              text { m in if case .response(let v, _, _) = m.start { return v } else { return nil } }),
        .init("http.response.code", .unsigned, "HTTP status code", bits: 16, tracking: .http) { p, f in
            guard let code = p.tracked.http?.statusCode else { return false }
            return f(.uint(UInt64(code)))
        },
        .init("http.response.phrase", .string, "HTTP reason phrase", tracking: .http,
              text { m in if case .response(_, _, let v) = m.start { return v } else { return nil } }),
        .init("http.host", .string, "HTTP Host header", tracking: .http, text { $0.host }),
        .init("http.user_agent", .string, "HTTP User-Agent header", tracking: .http, text { $0.userAgent }),
        .init("http.content_type", .string, "HTTP Content-Type header", tracking: .http, text { $0.contentType }),
        .init("http.content_length", .unsigned, "HTTP Content-Length header, bytes", tracking: .http) { p, f in
            guard let length = p.tracked.http?.contentLength else { return false }
            return f(.uint(length))
        },
        .init("http.connection", .string, "HTTP Connection header", tracking: .http, text { $0.connection }),
    ]
}
