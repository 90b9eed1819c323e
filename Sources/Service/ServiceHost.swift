import Foundation
import HTTPCore
import Jobs
import Storage

/// Settings of a running service (the `amago serve` flags).
public struct ServiceOptions: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port; 0 picks a free one.
    public var port: Int
    /// The data folder: `amago.sqlite` (unless `database` names another) and `experiments/<id>/`.
    public var dataDirectory: URL
    /// The database (`Store(database:)`): nil for `amago.sqlite` in the data folder, or a
    /// `postgres://` URL shared by several hosts.
    public var database: String?
    /// This API host's name in `/act` session records when the database is shared (nil: the
    /// machine's host name and the port).
    public var hostName: String?
    /// Jobs trained at once; 0 makes an API-only host.
    public var workers: Int
    /// Seconds a claimed job's lease holds without a heartbeat (heartbeats come three times per
    /// lease); nil: the pool's default (60 s, heartbeats every 10 s).
    public var lease: TimeInterval?
    /// The bearer token for mutating endpoints; required off loopback.
    public var token: String?
    /// Seconds between queue polls of idle workers.
    public var pollInterval: TimeInterval
    /// The dashboard's folder (`Public/`), served at `/` and `/ui/`; nil serves no dashboard.
    public var publicDirectory: URL?
    /// Seconds after which an unused `/act` session expires.
    public var sessionIdleTimeout: TimeInterval
    /// The most `/act` sessions open at once; the least recently used is evicted beyond it.
    public var sessionCapacity: Int

    /// Creates options; every argument has the documented default.
    public init(host: String = "127.0.0.1", port: Int = 8080, dataDirectory: URL = URL(fileURLWithPath: "data"),
                database: String? = nil, hostName: String? = nil,
                workers: Int = ProcessInfo.processInfo.activeProcessorCount, token: String? = nil,
                pollInterval: TimeInterval = 1, publicDirectory: URL? = nil,
                sessionIdleTimeout: TimeInterval = 15 * 60, sessionCapacity: Int = 1024) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.database = database
        self.hostName = hostName
        self.workers = workers
        self.token = token
        self.pollInterval = pollInterval
        self.publicDirectory = publicDirectory
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionCapacity = sessionCapacity
    }
}

/// The service assembled: database, worker pool and HTTP server, started and stopped together.
public final class ServiceHost: @unchecked Sendable {
    // @unchecked: every stored property is immutable and itself thread-safe.
    /// The options it was started with.
    public let options: ServiceOptions
    /// The database.
    public let store: Store
    /// The training workers.
    public let pool: WorkerPool
    /// The HTTP server.
    public let server: HTTPServer
    /// The `/act` sessions and the policies they run.
    public let policies: PolicySessions
    /// The REST API the server answers with.
    public let api: API

    /// Opens the database under the data folder and wires the pool and the server (not started).
    /// - Parameters:
    ///   - setThreadCount: applies each job's compute-thread budget (BLAS threads).
    public init(options: ServiceOptions, setThreadCount: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        try BindingPolicy.check(host: options.host, token: options.token)
        do {
            try FileManager.default.createDirectory(at: options.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ServiceError.setup("cannot create the data folder \(options.dataDirectory.path): \(error.localizedDescription)")
        }
        self.options = options
        store = try Store(database: options.database ?? options.dataDirectory.appendingPathComponent("amago.sqlite").path)
        // Hosts sharing a database tell their `/act` sessions apart by name; one host needs none.
        // The port names the host's instance; with port 0 (a free one, known only once bound) the pid does.
        let instance = options.port == 0 ? "pid\(ProcessInfo.processInfo.processIdentifier)" : "\(options.port)"
        let sessionHost = store.isShared ? (options.hostName ?? "\(ProcessInfo.processInfo.hostName):\(instance)") : ""
        // `/act` contexts live in memory: sessions of a previous process cannot continue (410).
        try store.endOpenSessions(host: sessionHost)
        let collections = CollectionHub()
        let runner = TrainerRunner(store: store, dataDirectory: options.dataDirectory, setThreadCount: setThreadCount,
                                   collections: collections, collectionIdleTimeout: options.sessionIdleTimeout)
        pool = try WorkerPool(store: store, workers: options.workers, runner: runner,
                              heartbeatInterval: WorkerPool.heartbeatInterval(lease: options.lease), pollInterval: options.pollInterval,
                              lease: options.lease)
        api = API(store: store, pool: pool, dataDirectory: options.dataDirectory, token: options.token,
                      sessionIdleTimeout: options.sessionIdleTimeout, sessionCapacity: options.sessionCapacity,
                      collections: collections, sessionHost: sessionHost)
        policies = api.policies
        var router = api.makeRouter()
        if let folder = options.publicDirectory {
            let files: StaticFiles
            do {
                files = try StaticFiles(directory: folder.path)
            } catch {
                throw ServiceError.setup("the dashboard folder \(folder.path) is not a directory")
            }
            router.serveDashboard(files)
        }
        server = HTTPServer(configuration: ServerConfiguration(host: options.host, port: options.port), router: router)
    }

    /// Recovers abandoned jobs, starts the workers, then listens.
    /// - Returns: what crash recovery did.
    @discardableResult
    public func start() throws -> [RecoveredJob] {
        let recovered = try pool.start()
        try server.start()
        return recovered
    }

    /// The bound port (useful with port 0).
    public var port: Int { server.port }

    /// Stops accepting requests and waits for the server's threads and handlers, ends the event
    /// streams, stops running jobs (they checkpoint and go back to the queue) and joins the
    /// workers, then closes the database; blocks until done. When it returns true nothing of the
    /// service runs any more.
    /// - Returns: true when every job stopped before `jobDeadline` (the database is then closed).
    @discardableResult
    public func shutdown(gracePeriod: Duration = .seconds(10), jobDeadline: TimeInterval = 60) -> Bool {
        server.shutdownAndWait(gracePeriod: gracePeriod)
        let (seconds, attoseconds) = gracePeriod.components
        let streamsEnded = api.eventStreams.endAll(timeout: Double(seconds) + Double(attoseconds) / 1e18)
        let stopped = pool.shutdown(deadline: Date().addingTimeInterval(jobDeadline))
        if stopped && streamsEnded { try? store.close() }
        return stopped && streamsEnded
    }
}

extension Router {
    /// The dashboard: `/` is its `index.html`, its other files live under `/ui/`.
    mutating func serveDashboard(_ files: StaticFiles) {
        get("/") { request, _ in try files.response(for: "index.html", request: request) }
        serveFiles("/ui", files)
    }
}
