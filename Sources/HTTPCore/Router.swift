/// A handler that answers on the event-loop thread; use it for quick, non-blocking work.
public typealias SyncHandler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse
/// A handler that may suspend; it runs as a task and its response is sent when it returns.
public typealias AsyncHandler = @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse

/// A route's handler, synchronous (run inline on the event loop) or asynchronous (run as a task).
public enum RouteHandler: Sendable {
    /// Runs inline on the event loop.
    case sync(SyncHandler)
    /// Runs as a task.
    case async(AsyncHandler)
}

/// Per-request information that is not part of the message itself.
public struct RequestContext: Sendable {
    /// A server-unique id, also logged with any 500 the request causes.
    public let requestID: UInt64
    /// When the request was complete, in monotonic nanoseconds.
    public let startNanos: UInt64
    /// Values of the `:name` and `*name` segments of the matched route, percent-decoded.
    public var parameters: [String: String] = [:]
    /// The pattern of the route the path matched (e.g. `/experiments/:id`), set before any
    /// middleware runs; nil when no pattern matches the path. Bounded, unlike the raw path.
    public var route: String?
    /// The client address, e.g. `127.0.0.1:54321` or `[::1]:54321`.
    public let remoteAddress: String
    /// Free-form values middleware hands to handlers (e.g. the authenticated subject).
    public var values: [String: String] = [:]

    /// Creates a context; the server does this, tests calling handlers directly may too.
    public init(requestID: UInt64, startNanos: UInt64 = monotonicNow(), remoteAddress: String = "") {
        self.requestID = requestID
        self.startNanos = startNanos
        self.remoteAddress = remoteAddress
    }

    /// The request id as 16 hex digits, as it appears in logs and `X-Request-Id`.
    public var requestIDString: String {
        let hex = String(requestID, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// Time since the request was complete.
    public var elapsed: Duration { .nanoseconds(Int64(monotonicNow() &- startNanos)) }

    /// The named path parameter; throws 400 naming the field when absent.
    public func parameter(_ name: String) throws -> String {
        guard let v = parameters[name] else { throw HTTPError.badRequest("missing path parameter", field: name) }
        return v
    }
}

/// Monotonic nanoseconds, the clock of `RequestContext.startNanos`.
public func monotonicNow() -> UInt64 { monotonicNanos() }

/// Maps method and path patterns to handlers.
///
/// Patterns are `/`-separated; `:name` matches one segment and `*name` (last only) the rest
/// of the path. A path that matches no pattern is 404; one that matches only under other
/// methods is 405 with `Allow`. `HEAD` falls back to the `GET` route.
public struct Router: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case wildcard(String)
    }

    struct Route: Sendable {
        let method: HTTPMethod
        let segments: [Segment]
        let handler: RouteHandler
        let pattern: String
    }

    var routes: [Route] = []
    // Fast path: literal-only patterns keyed by path, looked up without splitting.
    var exact: [String: [HTTPMethod: RouteHandler]] = [:]
    /// Middleware in the order they run before the handler (and reverse order after).
    public private(set) var middleware: [any Middleware] = []

    /// Every registered route as its method and canonical pattern (`/experiments/:id`), in
    /// registration order; for checking a router against a written contract.
    public var registeredRoutes: [(method: HTTPMethod, pattern: String)] {
        routes.map { ($0.method, $0.pattern) }
    }

    /// Creates an empty router.
    public init() {}

    /// Adds middleware; it wraps every request, including those that end in 404 or 405.
    public mutating func use(_ m: any Middleware) { middleware.append(m) }

    /// Registers a handler for `method` and `pattern`; a later registration of the same pair wins.
    public mutating func on(_ method: HTTPMethod, _ pattern: String, handler: RouteHandler) {
        let segments = Self.compile(pattern)
        routes.removeAll { $0.method == method && $0.segments == segments }
        routes.append(Route(method: method, segments: segments, handler: handler, pattern: Self.canonical(segments)))
        if segments.allSatisfy({ if case .literal = $0 { return true } else { return false } }) {
            exact[Self.canonical(segments), default: [:]][method] = handler
        }
    }

    /// Registers a synchronous handler.
    public mutating func on(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping SyncHandler) {
        on(method, pattern, handler: .sync(handler))
    }

    /// Registers an asynchronous handler.
    public mutating func on(_ method: HTTPMethod, _ pattern: String, async handler: @escaping AsyncHandler) {
        on(method, pattern, handler: .async(handler))
    }

    /// Registers a synchronous `GET` handler.
    public mutating func get(_ pattern: String, _ handler: @escaping SyncHandler) { on(.get, pattern, handler) }
    /// Registers an asynchronous `GET` handler.
    public mutating func get(_ pattern: String, async handler: @escaping AsyncHandler) { on(.get, pattern, async: handler) }
    /// Registers a synchronous `POST` handler.
    public mutating func post(_ pattern: String, _ handler: @escaping SyncHandler) { on(.post, pattern, handler) }
    /// Registers an asynchronous `POST` handler.
    public mutating func post(_ pattern: String, async handler: @escaping AsyncHandler) { on(.post, pattern, async: handler) }
    /// Registers a synchronous `PUT` handler.
    public mutating func put(_ pattern: String, _ handler: @escaping SyncHandler) { on(.put, pattern, handler) }
    /// Registers an asynchronous `PUT` handler.
    public mutating func put(_ pattern: String, async handler: @escaping AsyncHandler) { on(.put, pattern, async: handler) }
    /// Registers a synchronous `DELETE` handler.
    public mutating func delete(_ pattern: String, _ handler: @escaping SyncHandler) { on(.delete, pattern, handler) }
    /// Registers an asynchronous `DELETE` handler.
    public mutating func delete(_ pattern: String, async handler: @escaping AsyncHandler) {
        on(.delete, pattern, async: handler)
    }

    /// The outcome of looking up a request.
    public enum Match: Sendable {
        /// A route matched; parameters are percent-decoded.
        case found(RouteHandler, parameters: [String: String])
        /// No pattern matches the path.
        case notFound
        /// Patterns match the path, but only for these methods.
        case methodNotAllowed(allowed: [HTTPMethod])
    }

    /// Finds the route for `method` and the percent-encoded `path`; throws 400 for a path
    /// whose escapes are malformed.
    public func match(_ method: HTTPMethod, path: String) throws -> Match {
        try lookup(method, path: path).match
    }

    /// Like `match(_:path:)`, also naming the pattern that matched the path: the route's for
    /// `.found`, the first pattern registered for the path for `.methodNotAllowed`, nil for `.notFound`.
    public func lookup(_ method: HTTPMethod, path: String) throws -> (match: Match, pattern: String?) {
        if !path.utf8.contains(UInt8(ascii: "%")), let byMethod = exact[path] {
            if let h = byMethod[method] ?? (method == .head ? byMethod[.get] : nil) {
                return (.found(h, parameters: [:]), path)
            }
        }
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let s = PercentDecoding.decode(raw) else {
                throw HTTPError.badRequest("malformed percent-encoding in path", field: "path")
            }
            segments.append(s)
        }
        var allowed: [HTTPMethod] = []
        var firstPattern: String?
        var getFallback: (RouteHandler, [String: String], String)?
        for route in routes {
            guard let params = Self.bind(route.segments, to: segments) else { continue }
            if route.method == method { return (.found(route.handler, parameters: params), route.pattern) }
            if method == .head && route.method == .get { getFallback = (route.handler, params, route.pattern) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
            if firstPattern == nil { firstPattern = route.pattern }
        }
        if let (h, p, pattern) = getFallback { return (.found(h, parameters: p), pattern) }
        if allowed.isEmpty { return (.notFound, nil) }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        return (.methodNotAllowed(allowed: allowed), firstPattern)
    }

    /// The pattern as registered segments joined again (`/a/:b/*c`).
    static func canonical(_ segments: [Segment]) -> String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let s): return s
            case .parameter(let name): return ":" + name
            case .wildcard(let name): return "*" + name
            }
        }.joined(separator: "/")
    }

    static func compile(_ pattern: String) -> [Segment] {
        pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { s in
            if s.hasPrefix(":") && s.count > 1 { return .parameter(String(s.dropFirst())) }
            if s.hasPrefix("*") { return .wildcard(String(s.dropFirst())) }
            return .literal(String(s))
        }
    }

    static func bind(_ pattern: [Segment], to path: [String]) -> [String: String]? {
        var params: [String: String] = [:]
        var i = 0
        for seg in pattern {
            switch seg {
            case .literal(let l):
                guard i < path.count, path[i] == l else { return nil }
            case .parameter(let name):
                guard i < path.count, !path[i].isEmpty else { return nil }
                params[name] = path[i]
            case .wildcard(let name):
                params[name] = path[i...].joined(separator: "/")
                return params
            }
            i += 1
        }
        return i == path.count ? params : nil
    }
}
