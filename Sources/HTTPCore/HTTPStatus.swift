/// An HTTP response status code with its reason phrase (RFC 9110 §15).
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    /// The three-digit numeric code.
    public let code: Int
    /// The reason phrase sent on the status line.
    public let reasonPhrase: String

    /// Creates a status; the reason phrase defaults to the registered one for known codes.
    public init(_ code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? HTTPStatus.phrases[code] ?? "Status \(code)"
    }

    /// `code reason`, e.g. `404 Not Found`.
    public var description: String { "\(code) \(reasonPhrase)" }

    /// Whether a response with this status never has content (RFC 9110 §6.4.1: 1xx, 204, 304).
    public var forbidsBody: Bool { code < 200 || code == 204 || code == 304 }

    /// `100 Continue`.
    public static let `continue` = HTTPStatus(100)
    /// `200 OK`.
    public static let ok = HTTPStatus(200)
    /// `201 Created`.
    public static let created = HTTPStatus(201)
    /// `202 Accepted`.
    public static let accepted = HTTPStatus(202)
    /// `204 No Content`.
    public static let noContent = HTTPStatus(204)
    /// `301 Moved Permanently`.
    public static let movedPermanently = HTTPStatus(301)
    /// `304 Not Modified`.
    public static let notModified = HTTPStatus(304)
    /// `400 Bad Request`.
    public static let badRequest = HTTPStatus(400)
    /// `401 Unauthorized`.
    public static let unauthorized = HTTPStatus(401)
    /// `403 Forbidden`.
    public static let forbidden = HTTPStatus(403)
    /// `404 Not Found`.
    public static let notFound = HTTPStatus(404)
    /// `405 Method Not Allowed`.
    public static let methodNotAllowed = HTTPStatus(405)
    /// `408 Request Timeout`.
    public static let requestTimeout = HTTPStatus(408)
    /// `409 Conflict`.
    public static let conflict = HTTPStatus(409)
    /// `411 Length Required`.
    public static let lengthRequired = HTTPStatus(411)
    /// `413 Content Too Large`.
    public static let contentTooLarge = HTTPStatus(413)
    /// `414 URI Too Long`.
    public static let uriTooLong = HTTPStatus(414)
    /// `417 Expectation Failed`.
    public static let expectationFailed = HTTPStatus(417)
    /// `422 Unprocessable Content`.
    public static let unprocessableContent = HTTPStatus(422)
    /// `429 Too Many Requests`.
    public static let tooManyRequests = HTTPStatus(429)
    /// `431 Request Header Fields Too Large`.
    public static let requestHeaderFieldsTooLarge = HTTPStatus(431)
    /// `500 Internal Server Error`.
    public static let internalServerError = HTTPStatus(500)
    /// `501 Not Implemented`.
    public static let notImplemented = HTTPStatus(501)
    /// `503 Service Unavailable`.
    public static let serviceUnavailable = HTTPStatus(503)
    /// `505 HTTP Version Not Supported`.
    public static let httpVersionNotSupported = HTTPStatus(505)

    static let phrases: [Int: String] = [
        100: "Continue", 101: "Switching Protocols",
        200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
        301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
        307: "Temporary Redirect", 308: "Permanent Redirect",
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict",
        410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
        414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
        417: "Expectation Failed", 422: "Unprocessable Content", 429: "Too Many Requests",
        431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    ]
}
