/// The content of a response.
public enum ResponseBody: Sendable {
    /// No content (`Content-Length: 0` unless the status forbids content).
    case empty
    /// Fixed content sent with `Content-Length`.
    case bytes([UInt8])
    /// Content produced over time and sent chunked (RFC 9112 §7.1); the closure runs once the
    /// head is queued and may keep the writer to write from any thread later.
    case stream(@Sendable (BodyStreamWriter) -> Void)
}

/// A response: status, headers and body. `Content-Length`, `Transfer-Encoding`, `Connection`
/// and `Date` are set by the server; values set by handlers for those names are replaced.
public struct HTTPResponse: Sendable {
    /// The status.
    public var status: HTTPStatus
    /// Header fields added by the handler or middleware.
    public var headers: HTTPHeaders
    /// The content.
    public var body: ResponseBody

    /// Creates a response.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: ResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array(text.utf8)))
    }

    /// An `application/json` response from already-encoded JSON.
    public static func json(_ bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .bytes(bytes))
    }

    /// An `application/json` response from a JSON string.
    public static func json(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        json(Array(text.utf8), status: status)
    }

    /// The JSON error response for `error`: `{"error":{"code","message","field"}}`.
    public static func error(_ error: HTTPError) -> HTTPResponse {
        json(error.jsonBody, status: error.status)
    }

    /// A chunked streaming response; `start` receives the writer once the head is queued.
    public static func stream(status: HTTPStatus = .ok, contentType: String = "application/octet-stream",
                              _ start: @escaping @Sendable (BodyStreamWriter) -> Void) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .stream(start))
    }

    /// A Server-Sent Events response (`text/event-stream`); `start` receives an event writer
    /// that stays usable, from any thread, until the client leaves or `finish()` is called.
    public static func eventStream(_ start: @escaping @Sendable (EventStreamWriter) -> Void) -> HTTPResponse {
        HTTPResponse(status: .ok,
                     headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache"],
                     body: .stream { start(EventStreamWriter($0)) })
    }

    /// A Server-Sent Events response fed by an async sequence of events; the stream ends when
    /// the sequence does, and iteration is cancelled when the client disconnects.
    public static func eventStream(_ events: AsyncStream<ServerSentEvent>) -> HTTPResponse {
        eventStream { writer in
            let task = Task {
                for await event in events {
                    if !writer.send(event) { break }
                }
                writer.finish()
            }
            writer.onClose { task.cancel() }
        }
    }
}
