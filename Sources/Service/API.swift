import Foundation
import HTTPCore
import JSON
import Jobs
import Storage

/// The REST API: experiments, metrics, checkpoints, environments, policy inference (`/act`,
/// `/sessions`), health endpoints, experiment event streams and Prometheus `/metrics`.
///
/// Handlers run as tasks (database calls may wait on SQLite's busy timeout) and map every
/// module's errors to statuses with the JSON error body (see `ErrorRendering`).
public struct API: Sendable {
    /// The database.
    public let store: Store
    /// The workers that train queued experiments.
    public let pool: WorkerPool
    /// The data folder holding `experiments/<id>/`.
    public let dataDirectory: URL
    /// The bearer token mutating endpoints require, if any.
    public let token: String?
    /// The `/act` sessions and the policies they run.
    public let policies: PolicySessions
    /// The collections of running external experiments (collection and evaluation steps).
    public let collections: CollectionHub
    /// Request counters and latencies for `GET /metrics`; installed as the first middleware.
    public let requestMetrics = MetricsMiddleware()
    /// When the API was created (the service's start, for `amago_uptime_seconds`).
    public let startedAt = Date()
    /// How often each open event stream polls the database for changes.
    public var eventPollInterval: Duration = .milliseconds(500)
    /// The open event streams' tasks (ended and awaited by `ServiceHost.shutdown`).
    let eventStreams = StreamTasks()
    /// How often an event stream sends a `: ping` comment.
    public var eventPingInterval: Duration = .seconds(15)

    /// Creates the API over its dependencies.
    /// - Parameters:
    ///   - sessionIdleTimeout: seconds after which an unused `/act` session expires.
    ///   - sessionCapacity: the most `/act` sessions open at once (oldest evicted beyond it).
    ///   - sessionHost: names this API host in `/act` session records (hosts sharing a database).
    public init(store: Store, pool: WorkerPool, dataDirectory: URL, token: String? = nil,
                sessionIdleTimeout: TimeInterval = 15 * 60, sessionCapacity: Int = 1024, collections: CollectionHub = CollectionHub(),
                sessionHost: String = "") {
        self.store = store
        self.collections = collections
        self.pool = pool
        self.dataDirectory = dataDirectory
        self.token = token
        policies = PolicySessions(store: store, dataDirectory: dataDirectory,
                                  idleTimeout: sessionIdleTimeout, capacity: sessionCapacity, host: sessionHost)
    }

    /// A router with every endpoint and, when a token is set, bearer auth on mutating requests.
    public func makeRouter() -> Router {
        var r = Router()
        // First, so that it also counts requests other middleware answers (e.g. 401).
        r.use(requestMetrics)
        if let token, !token.isEmpty { r.use(MutatingRequestAuth(token: token)) }
        r.get("/healthz") { _, _ in JSONBody.response(.object(["status": .string("ok")])) }
        r.get("/readyz", async: handle { _, _ in try readiness() })
        r.get("/metrics", async: handle { _, _ in try prometheusMetrics() })
        r.get("/envs", async: handle { _, _ in try EnvironmentCatalog.response() })
        r.post("/experiments", async: handle { req, _ in try createExperiment(req) })
        r.post("/experiments/validate", async: handle { req, _ in try validateExperiment(req) })
        r.get("/experiments", async: handle { req, _ in try listExperiments(req) })
        r.get("/experiments/:id", async: handle { req, ctx in try getExperiment(req, id: ctx.parameter("id")) })
        r.delete("/experiments/:id", async: handle { _, ctx in try deleteExperiment(id: ctx.parameter("id")) })
        r.post("/experiments/:id/stop", async: handle { _, ctx in try stopExperiment(id: ctx.parameter("id")) })
        r.post("/experiments/:id/resume", async: handle { _, ctx in try resumeExperiment(id: ctx.parameter("id")) })
        r.get("/experiments/:id/metrics", async: handle { _, ctx in try metricKeys(id: ctx.parameter("id")) })
        r.get("/experiments/:id/metrics/*key", async: handle { req, ctx in
            let key = try ctx.parameter("key")
            // `<key>.csv`: the series as a CSV download.
            return key.hasSuffix(".csv") && key.count > 4
                ? try metricCSV(req, id: ctx.parameter("id"), key: String(key.dropLast(4)))
                : try metricSeries(req, id: ctx.parameter("id"), key: key)
        })
        r.get("/experiments/:id/export", async: handle { req, ctx in try exportExperiment(req, id: ctx.parameter("id")) })
        r.post("/sweeps", async: handle { req, _ in try createSweep(req) })
        r.get("/sweeps/:id", async: handle { req, ctx in try getSweep(req, id: ctx.parameter("id")) })
        r.get("/groups", async: handle { _, _ in try listGroups() })
        r.get("/groups/:group", async: handle { req, ctx in try getGroup(req, group: ctx.parameter("group")) })
        r.get("/groups/:group/series/*key", async: handle { req, ctx in
            try groupSeries(req, group: ctx.parameter("group"), key: ctx.parameter("key"))
        })
        r.get("/tags", async: handle { _, _ in try listTags() })
        r.get("/experiments/:id/events", async: handle { req, ctx in try experimentEvents(req, id: ctx.parameter("id")) })
        r.get("/experiments/:id/checkpoints", async: handle { _, ctx in try checkpoints(id: ctx.parameter("id")) })
        r.get("/checkpoints/:id", async: handle { _, ctx in try downloadCheckpoint(id: ctx.parameter("id")) })
        r.post("/act", async: handle { req, _ in try await act(req) })
        r.post("/act/batch", async: handle { req, _ in try await actBatch(req) })
        r.post("/experiments/:id/episodes", async: handle { req, ctx in try uploadEpisodes(req, id: ctx.parameter("id")) })
        r.post("/sessions", async: handle { req, _ in try createSession(req) })
        r.get("/sessions/:id", async: handle { _, ctx in try getSession(id: ctx.parameter("id")) })
        r.delete("/sessions/:id", async: handle { _, ctx in try deleteSession(id: ctx.parameter("id")) })
        return r
    }

    /// Wraps a body as an async handler that renders known errors.
    func handle(_ body: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) -> AsyncHandler {
        { request, context in
            do {
                return try await body(request, context)
            } catch {
                // Unknown errors propagate so the server logs them and answers a bare 500.
                guard let response = ErrorRendering.response(for: error) else { throw error }
                return response
            }
        }
    }

    /// 200 when the database answers and every worker runs, else 503.
    func readiness() throws -> HTTPResponse {
        let databaseOK = (try? store.experimentCounts()) != nil
        let workersOK = pool.isRunning
        let body: [String: JSONValue] = [
            "status": .string(databaseOK && workersOK ? "ready" : "not_ready"),
            "database": .bool(databaseOK), "workers": .bool(workersOK),
        ]
        return JSONBody.response(.object(body), status: databaseOK && workersOK ? .ok : .serviceUnavailable)
    }
}
