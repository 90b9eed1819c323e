/// Code that runs around every request: before routing (it may answer early or throw an
/// `HTTPError`) and after the response is produced (it may inspect or amend it).
///
/// Both hooks are synchronous so that synchronous routes stay on the event loop's fast path.
public protocol Middleware: Sendable {
    /// Runs before routing; return a response to answer without calling the handler.
    func willHandle(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse?
    /// Runs after the handler (or an earlier middleware) produced `response`.
    func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse)
}

extension Middleware {
    /// Does nothing.
    public func willHandle(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? { nil }
    /// Does nothing.
    public func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse) {}
}

/// Logs one line per request: request id, method, target, status and duration.
public struct LoggingMiddleware: Middleware {
    let sink: @Sendable (String) -> Void

    /// Creates the middleware; `sink` receives each line.
    public init(sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    /// Emits the log line.
    public func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse) {
        let micros = (monotonicNow() &- context.startNanos) / 1000
        sink("\(context.requestIDString) \(request.method) \(request.head.target) \(response.status.code) \(micros)us")
    }
}

/// Requires `Authorization: Bearer <token>` on every path except the listed public prefixes.
public struct BearerAuthMiddleware: Middleware {
    let tokens: Set<String>
    let publicPrefixes: [String]

    /// Accepts any of `tokens`; paths starting with one of `publicPrefixes` need none.
    public init(tokens: Set<String>, publicPrefixes: [String] = []) {
        self.tokens = tokens
        self.publicPrefixes = publicPrefixes
    }

    /// Answers 401 unless the request carries an accepted token; on success sets
    /// `context.values["auth"] = "bearer"` for handlers to see.
    public func willHandle(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
        if publicPrefixes.contains(where: { request.path.hasPrefix($0) }) { return nil }
        guard let auth = request.headers["Authorization"], auth.count > 7,
              auth.prefix(7).lowercased() == "bearer ",
              tokens.contains(String(auth.dropFirst(7)).trimmingSpacesAndTabs())
        else {
            var r = HTTPResponse.error(HTTPError(.unauthorized, message: "missing or invalid bearer token",
                                                 field: "Authorization"))
            // RFC 9110 §11.6.1: a 401 carries a challenge.
            r.headers.set("WWW-Authenticate", "Bearer")
            return r
        }
        context.values["auth"] = "bearer"
        return nil
    }
}

/// Counts requests by method, route pattern and status, and times them per route in a
/// histogram; read with `snapshot()`.
///
/// Labels come from the matched route pattern (`/experiments/:id`, or `unmatched`) and a fixed
/// set of methods, never from the raw path, so the number of series stays bounded.
public final class MetricsMiddleware: Middleware, @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.
    /// Upper bounds of the duration histogram's buckets, in seconds (`+Inf` is implied).
    public static let bucketBounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// One counter's labels: the method (`other` for unknown ones), route pattern and status.
    public struct Key: Hashable, Comparable, Sendable {
        /// The request method.
        public let method: String
        /// The matched route pattern, or `unmatched`.
        public let route: String
        /// The response status code.
        public let status: Int

        /// Orders by route, then method, then status.
        public static func < (a: Key, b: Key) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    /// Durations of one route: each observation counted in its smallest bucket (not cumulative).
    public struct Histogram: Sendable, Equatable {
        /// Observations per bucket of `bucketBounds`; slower ones only in `count`.
        public var buckets = [Int](repeating: 0, count: MetricsMiddleware.bucketBounds.count)
        /// Sum of the durations in seconds.
        public var sum = 0.0
        /// Number of observations.
        public var count = 0
    }

    /// Totals since creation.
    public struct Snapshot: Sendable, Equatable {
        /// Requests answered.
        public var requests: Int = 0
        /// Requests by status class: index 1 = 1xx … index 5 = 5xx.
        public var byClass: [Int] = [0, 0, 0, 0, 0, 0]
        /// Sum of handling durations in nanoseconds (complete request to response produced).
        public var totalNanos: UInt64 = 0
        /// Requests by method, route pattern and status.
        public var byKey: [Key: Int] = [:]
        /// Durations by route pattern.
        public var durations: [String: Histogram] = [:]
    }

    private let lock = Lock()
    private var totals = Snapshot()

    /// Creates zeroed counters.
    public init() {}

    /// The totals so far.
    public func snapshot() -> Snapshot { lock.withLock { totals } }

    /// Records the request once its response is produced (for a stream: when it starts).
    public func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse) {
        let nanos = monotonicNow() &- context.startNanos
        let seconds = Double(nanos) / 1e9
        let cls = min(5, max(0, response.status.code / 100))
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let key = Key(method: method, route: context.route ?? "unmatched", status: response.status.code)
        lock.withLock {
            totals.requests += 1
            totals.byClass[cls] += 1
            totals.totalNanos &+= nanos
            totals.byKey[key, default: 0] += 1
            var h = totals.durations[key.route] ?? Histogram()
            if let i = Self.bucketBounds.firstIndex(where: { seconds <= $0 }) { h.buckets[i] += 1 }
            h.sum += seconds
            h.count += 1
            totals.durations[key.route] = h
        }
    }
}
