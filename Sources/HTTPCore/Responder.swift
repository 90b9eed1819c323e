/// Runs middleware, routing and the handler for one request, and turns errors into responses:
/// the one request pipeline. The server calls it for every request it parses; in-process callers
/// (tests, tools) call `respond(to:remoteAddress:)`, which is the same path without the socket.
///
/// ```swift
/// let responder = Responder(router: router)
/// let response = await responder.respond(to: HTTPRequest(method: .get, target: "/healthz"))
/// ```
public struct Responder: Sendable {
    /// The routes and middleware it answers with.
    public let router: Router
    let log: @Sendable (String) -> Void
    private let requestIDs = RequestCounter()

    /// Creates the pipeline over `router`; `log` receives the details of requests that failed with a 500.
    public init(router: Router, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.router = router
        self.log = log
    }

    /// Answers one request in-process, exactly as the server would before writing it to a socket:
    /// middleware on both sides, routing (404, 405 with `Allow`), the handler, error rendering.
    public func respond(to request: HTTPRequest, remoteAddress: String = "in-process") async -> HTTPResponse {
        let context = RequestContext(requestID: requestIDs.next(), startNanos: monotonicNanos(), remoteAddress: remoteAddress)
        switch respond(to: request, context: context) {
        case .response(let response): return response
        case .pending(let pending): return await run(pending)
        }
    }

    /// An async handler still to run; `depth` middleware have had `willHandle` called.
    struct Pending: Sendable {
        let handler: AsyncHandler
        let request: HTTPRequest
        let context: RequestContext
        let depth: Int
    }

    enum Outcome {
        case response(HTTPResponse)
        case pending(Pending)
    }

    func respond(to request: HTTPRequest, context initial: RequestContext) -> Outcome {
        var context = initial
        var depth = 0
        var response: HTTPResponse
        // Routing is pure, so it runs first: middleware sees the matched pattern. A malformed
        // path is still reported only after middleware had its say.
        let lookup = Result { try router.lookup(request.method, path: request.path) }
        if case .success(let found) = lookup { context.route = found.pattern }
        do {
            var early: HTTPResponse?
            for m in router.middleware {
                let r = try m.willHandle(request, context: &context)
                depth += 1
                if let r { early = r; break }
            }
            if let early {
                response = early
            } else {
                switch try lookup.get().match {
                case .found(let handler, let parameters):
                    context.parameters = parameters
                    switch handler {
                    case .sync(let f):
                        response = try f(request, context)
                    case .async(let f):
                        return .pending(Pending(handler: f, request: request, context: context, depth: depth))
                    }
                case .notFound:
                    response = .error(.notFound())
                case .methodNotAllowed(let allowed):
                    response = .error(HTTPError(.methodNotAllowed, message: "method not allowed"))
                    // RFC 9110 §15.5.6: a 405 lists the supported methods in Allow.
                    response.headers.set("Allow", allowed.map(\.rawValue).joined(separator: ", "))
                }
            }
        } catch {
            response = errorResponse(error, context: context)
        }
        return .response(finish(request, context: context, response: response, depth: depth))
    }

    func run(_ p: Pending) async -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await p.handler(p.request, p.context)
        } catch {
            response = errorResponse(error, context: p.context)
        }
        return finish(p.request, context: p.context, response: response, depth: p.depth)
    }

    func finish(_ request: HTTPRequest, context: RequestContext, response: HTTPResponse, depth: Int) -> HTTPResponse {
        var response = response
        var i = depth
        while i > 0 {
            i -= 1
            router.middleware[i].didHandle(request, context: context, response: &response)
        }
        return response
    }

    /// HTTPError → its JSON; anything else → a bare 500, with the details only in the log.
    func errorResponse(_ error: Error, context: RequestContext) -> HTTPResponse {
        if let e = error as? HTTPError { return .error(e) }
        log("request \(context.requestIDString) failed: \(error)")
        var r = HTTPResponse.error(.internalError)
        r.headers.set("X-Request-Id", context.requestIDString)
        return r
    }
}

/// Request ids for in-process requests (the server's loops number their own).
final class RequestCounter: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = Lock()
    private var value: UInt64 = 0

    func next() -> UInt64 {
        lock.withLock {
            value &+= 1
            return value << 8 | 0xFF  // low byte 0xFF: never equal to an id of a server loop
        }
    }
}
