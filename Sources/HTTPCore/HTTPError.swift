/// The one error type of HTTPCore: an HTTP status plus a machine-readable code and a message.
///
/// Handlers throw it to answer with that status; the server renders it as
/// `{"error":{"code":…,"message":…,"field":…}}`. Any other error thrown by a handler
/// becomes a 500 whose details are logged, never sent to the client.
public struct HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The status the response carries.
    public var status: HTTPStatus
    /// A short stable identifier, e.g. `"bad_request"` or `"not_found"`.
    public var code: String
    /// A human-readable explanation that is safe to show to the client.
    public var message: String
    /// The request field (header, parameter, body key) the error is about, if any.
    public var field: String?

    /// Creates an error with an explicit status, code, message and optional field.
    public init(_ status: HTTPStatus, code: String? = nil, message: String? = nil, field: String? = nil) {
        self.status = status
        self.code = code ?? HTTPError.defaultCode(for: status)
        self.message = message ?? status.reasonPhrase
        self.field = field
    }

    /// A textual form for logs: `400 bad_request: message (field)`.
    public var description: String {
        "\(status.code) \(code): \(message)" + (field.map { " (\($0))" } ?? "")
    }

    /// `400 Bad Request` with a message and optional field.
    public static func badRequest(_ message: String, field: String? = nil) -> HTTPError {
        HTTPError(.badRequest, message: message, field: field)
    }

    /// `404 Not Found`.
    public static func notFound(_ message: String = "not found") -> HTTPError {
        HTTPError(.notFound, message: message)
    }

    /// `401 Unauthorized`.
    public static func unauthorized(_ message: String = "authentication required") -> HTTPError {
        HTTPError(.unauthorized, message: message)
    }

    /// `409 Conflict`.
    public static func conflict(_ message: String, field: String? = nil) -> HTTPError {
        HTTPError(.conflict, message: message, field: field)
    }

    /// `422 Unprocessable Content` for a well-formed request whose values are invalid.
    public static func unprocessable(_ message: String, field: String? = nil) -> HTTPError {
        HTTPError(.unprocessableContent, message: message, field: field)
    }

    /// The generic `500` sent to clients when a handler fails with a non-HTTP error.
    public static let internalError = HTTPError(.internalServerError, code: "internal", message: "internal server error")

    /// A snake_case code derived from the reason phrase, e.g. `request_header_fields_too_large`.
    static func defaultCode(for status: HTTPStatus) -> String {
        var out = ""
        for ch in status.reasonPhrase.lowercased() {
            if ch.isLetter || ch.isNumber { out.append(ch) } else if !out.hasSuffix("_") { out.append("_") }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "error" : out
    }

    /// The JSON body `{"error":{"code","message","field"}}` for this error.
    public var jsonBody: [UInt8] {
        var s = "{\"error\":{\"code\":"
        JSONEscaping.append(code, to: &s)
        s += ",\"message\":"
        JSONEscaping.append(message, to: &s)
        if let field {
            s += ",\"field\":"
            JSONEscaping.append(field, to: &s)
        }
        s += "}}"
        return Array(s.utf8)
    }
}

/// Minimal JSON string escaping (RFC 8259 §7) so error bodies need no encoder.
enum JSONEscaping {
    static func append(_ value: String, to out: inout String) {
        out.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}
