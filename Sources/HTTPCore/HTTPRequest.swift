/// An HTTP request method (RFC 9110 §9); any token is allowed, common ones are predefined.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method token exactly as sent (methods are case-sensitive).
    public let rawValue: String
    /// Wraps a method token.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a method token.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The token itself.
    public var description: String { rawValue }

    /// `GET`.
    public static let get = HTTPMethod("GET")
    /// `HEAD`.
    public static let head = HTTPMethod("HEAD")
    /// `POST`.
    public static let post = HTTPMethod("POST")
    /// `PUT`.
    public static let put = HTTPMethod("PUT")
    /// `PATCH`.
    public static let patch = HTTPMethod("PATCH")
    /// `DELETE`.
    public static let delete = HTTPMethod("DELETE")
    /// `OPTIONS`.
    public static let options = HTTPMethod("OPTIONS")
    /// `CONNECT`.
    public static let connect = HTTPMethod("CONNECT")
}

/// The protocol version from the request line.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    /// The major version; only 1 is accepted.
    public var major: Int
    /// The minor version.
    public var minor: Int
    /// Creates a version.
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    /// `HTTP/major.minor`.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// How the request body is delimited (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    /// No body.
    case none
    /// Exactly this many bytes (`Content-Length`).
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// A parsed request line and header block.
public struct HTTPRequestHead: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The request target exactly as sent.
    public var target: String
    /// The path component of the target, still percent-encoded.
    public var path: String
    /// The query component after `?`, still percent-encoded, or nil when absent.
    public var rawQuery: String?
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields in order.
    public var headers: HTTPHeaders
    /// Whether the connection may be reused after this request (version default plus `Connection`).
    public var keepAlive: Bool
    /// Whether the client sent `Expect: 100-continue`.
    public var expectsContinue: Bool
    /// How the body is delimited.
    public var framing: BodyFraming
}

/// A complete request: its head and its (de-chunked) body.
public struct HTTPRequest: Sendable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The body bytes; empty when there is none.
    public var body: [UInt8]

    /// Creates a request from a head and a body.
    public init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    /// Creates a request by hand, e.g. to call a router directly in tests.
    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        let q = target.firstIndex(of: "?")
        head = HTTPRequestHead(
            method: method, target: target,
            path: q.map { String(target[..<$0]) } ?? target,
            rawQuery: q.map { String(target[target.index(after: $0)...]) },
            version: .http1_1, headers: headers, keepAlive: true, expectsContinue: false,
            framing: body.isEmpty ? .none : .length(body.count))
        self.body = body
    }

    /// The method.
    public var method: HTTPMethod { head.method }
    /// The percent-encoded path.
    public var path: String { head.path }
    /// The header fields.
    public var headers: HTTPHeaders { head.headers }
    /// The decoded query parameters (`+` and percent-escapes decoded).
    public var query: QueryParameters { QueryParameters(head.rawQuery ?? "") }
    /// The body decoded as UTF-8 (invalid sequences replaced).
    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}
