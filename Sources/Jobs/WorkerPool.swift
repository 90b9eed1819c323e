import Foundation
import Storage

/// Runs queued experiments on a fixed set of worker threads.
///
/// `start()` first recovers jobs a dead process left active, then each worker loops: claim the
/// oldest queued experiment, hand it to the `JobRunner`, record how it ended. A monitor thread
/// sends heartbeats and relays stop requests from the database to the running jobs.
/// `shutdown(deadline:)` asks every running job to stop and puts the interrupted ones back in
/// the queue, so the next start resumes them.
///
/// On a SQLite file there is one pool per database, and start-up recovery treats every
/// `running` experiment it finds as abandoned. On a shared (PostgreSQL) store many pools on many
/// hosts claim from one queue: each claim holds a lease that the monitor's heartbeat renews, and
/// every pool's monitor takes over the jobs whose lease expired (their host died or lost the
/// network), so they resume from their latest checkpoint on whichever host claims them next.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: all mutable state below is guarded by `condition`.

    /// The history reason recorded when a shutdown puts an interrupted job back in the queue.
    public static let shutdownReason = "server shutdown"

    /// The database holding the queue.
    public let store: Store
    /// How many jobs run at once.
    public let workers: Int
    /// Trains the claimed experiments.
    public let runner: any JobRunner
    /// How often the monitor records a heartbeat for each running job.
    public let heartbeatInterval: TimeInterval
    /// How often idle workers look for work and the monitor looks for stop requests.
    public let pollInterval: TimeInterval
    /// How many times in a row a job may be found abandoned at start-up before it is failed
    /// instead of resumed (a job that kills the process would otherwise loop forever).
    public let maxCrashRecoveries: Int
    /// The compute threads each job should use: `max(1, cores / workers)`.
    public let threadsPerJob: Int
    /// How long a claim holds without a heartbeat (each heartbeat extends it by this much).
    public let lease: TimeInterval
    /// Environments this pool leaves in the queue for other hosts.
    public let skippedEnvironments: [String]

    let errorHandler: (@Sendable (JobsError) -> Void)?
    let workerIDPrefix: String
    let condition = NSCondition()
    var phase = Phase.idle
    var controls: [String: JobControl] = [:]
    var liveWorkers = 0
    var monitorAlive = false
    var wakeups = 0
    var shutdownDeadline = Date.distantFuture
    /// The worker and monitor threads, joined by `shutdown` once they have finished.
    var threads: [PoolThread] = []

    /// The pool's life cycle.
    enum Phase {
        case idle, starting, running, shuttingDown
    }

    /// The heartbeat interval that goes with a lease: three heartbeats per lease (10 s for the
    /// default lease when none is set).
    public static func heartbeatInterval(lease: TimeInterval?) -> TimeInterval { lease.map { $0 / 3 } ?? 10 }

    /// Creates a stopped pool; call `start()` to begin claiming jobs.
    /// - Parameters:
    ///   - workers: jobs run at once; 0 runs none (an API-only host), and the monitor still
    ///     takes over expired leases.
    ///   - heartbeatInterval: seconds between heartbeats of each running job.
    ///   - lease: seconds a claim holds without a heartbeat; at least twice `heartbeatInterval`
    ///     (nil: the longer of `Store.defaultLease` and three heartbeats).
    ///   - hostName: names this host in worker ids (`<host>-pid<pid>-<tag>-w<n>`).
    ///   - threadsPerJob: compute threads per job (nil: `max(1, cores / workers)`; set it when
    ///     several pools share one machine).
    ///   - skippedEnvironments: environments this pool does not claim (a worker host without the
    ///     API leaves `external` ones, whose clients connect to the API host, to `amago serve`).
    ///   - pollInterval: seconds between queue polls of an idle worker, and the longest a stop
    ///     request in the database takes to reach the running job.
    ///   - maxCrashRecoveries: consecutive start-up recoveries after which a job is failed.
    ///   - errorHandler: called (on a pool thread) with database errors the pool survived.
    public init(store: Store, workers: Int, runner: any JobRunner, heartbeatInterval: TimeInterval = 10,
                pollInterval: TimeInterval = 1, maxCrashRecoveries: Int = 3, lease: TimeInterval? = nil,
                hostName: String = ProcessInfo.processInfo.hostName, threadsPerJob: Int? = nil,
                skippedEnvironments: [String] = [],
                errorHandler: (@Sendable (JobsError) -> Void)? = nil) throws {
        guard workers >= 0 else { throw JobsError.invalidConfiguration("workers must not be negative, got \(workers)") }
        guard heartbeatInterval > 0, pollInterval > 0 else {
            throw JobsError.invalidConfiguration("heartbeat and poll intervals must be positive")
        }
        let lease = lease ?? max(Store.defaultLease, 3 * heartbeatInterval)
        guard lease >= 2 * heartbeatInterval else {
            throw JobsError.invalidConfiguration(
                "the lease (\(lease) s) must be at least twice the heartbeat interval (\(heartbeatInterval) s)")
        }
        guard maxCrashRecoveries >= 0 else {
            throw JobsError.invalidConfiguration("maxCrashRecoveries must not be negative")
        }
        self.store = store
        self.workers = workers
        self.runner = runner
        self.heartbeatInterval = heartbeatInterval
        self.pollInterval = pollInterval
        self.maxCrashRecoveries = maxCrashRecoveries
        self.threadsPerJob = max(1, threadsPerJob ?? ProcessInfo.processInfo.activeProcessorCount / max(workers, 1))
        self.lease = lease
        self.skippedEnvironments = skippedEnvironments
        self.errorHandler = errorHandler
        let tag = UUID().uuidString.prefix(8).lowercased()
        let host = hostName.split(separator: ".").first.map(String.init) ?? "host"
        self.workerIDPrefix = "\(host)-pid\(ProcessInfo.processInfo.processIdentifier)-\(tag)"
    }

    // MARK: - Life cycle

    /// Recovers abandoned jobs, then starts the worker and monitor threads.
    /// - Returns: what recovery did with each experiment a dead process left active.
    @discardableResult
    public func start() throws -> [RecoveredJob] {
        try condition.withLock {
            guard phase == .idle else { throw JobsError.invalidState("the worker pool was already started or shut down") }
            phase = .starting
        }
        let recovered: [RecoveredJob]
        do {
            recovered = try recoverAbandonedJobs()
        } catch {
            condition.withLock { if phase == .starting { phase = .idle } }
            throw error
        }
        let proceed = condition.withLock {
            guard phase == .starting else { return false }  // shut down while recovering
            phase = .running
            liveWorkers = workers
            monitorAlive = true
            return true
        }
        guard proceed else { return recovered }
        // Started under the lock, so a shutdown racing this start finds every thread to join
        // (each begins by taking the lock).
        condition.withLock {
            threads = (0..<workers).map { index in
                PoolThread(name: "amago-worker-\(index)") { [self] in workerLoop(workerID: "\(workerIDPrefix)-w\(index)") }
            }
            threads.append(PoolThread(name: "amago-monitor") { [self] in monitorLoop() })
        }
        return recovered
    }

    /// Stops claiming, asks every running job to stop, and waits for them until `deadline`.
    ///
    /// A job that stops in time goes back to `queued` (reason `shutdownReason`) and resumes on
    /// the next start; one that does not is left active and recovered by the next start.
    /// - Returns: true when every worker finished before the deadline.
    @discardableResult
    public func shutdown(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .idle, .starting:
            phase = .shuttingDown
            return true
        case .running:
            phase = .shuttingDown
            shutdownDeadline = deadline
            for control in controls.values { control.requestStop(.shutdown) }
            condition.broadcast()
        case .shuttingDown:
            break
        }
        while liveWorkers > 0 || monitorAlive {
            if !condition.wait(until: deadline) { break }
        }
        condition.broadcast()  // lets the monitor see the deadline has passed
        guard liveWorkers == 0 && !monitorAlive else { return false }
        // Every loop has returned: wait for the threads themselves to end.
        let finished = threads
        threads = []
        condition.unlock()
        for thread in finished { thread.join() }
        condition.lock()
        return true
    }

    /// Wakes idle workers so they claim at once (call after enqueueing or resuming a job).
    public func wake() {
        condition.withLock {
            wakeups += 1
            condition.broadcast()
        }
    }

    // MARK: - Control and metrics

    /// Asks a running experiment to stop: marks it `stopping` in the database and signals its
    /// job directly if it runs in this pool. Does nothing if it is already stopping.
    @discardableResult
    public func requestStop(id: String, reason: String = "stop requested") throws -> ExperimentRecord {
        let experiment = try JobsError.wrapping("requesting a stop of '\(id)'") { () -> ExperimentRecord in
            let current = try store.experiment(id: id)
            if current.status == .stopping { return current }
            return try store.requestStop(id: id, reason: reason)
        }
        condition.withLock { controls[id] }?.requestStop(.requested)
        return experiment
    }

    /// How many jobs this pool is running now.
    public var runningJobs: Int { condition.withLock { controls.count } }

    /// The ids of the experiments this pool is running now, sorted.
    public var runningJobIDs: [String] { condition.withLock { controls.keys.sorted() } }

    /// How many experiments wait in the queue (all processes).
    public func queueDepth() throws -> Int {
        try JobsError.wrapping("counting queued experiments") { try store.experimentCounts()[.queued] ?? 0 }
    }

    /// True while the pool claims jobs with every worker thread alive (for `/readyz`).
    public var isRunning: Bool { condition.withLock { phase == .running && liveWorkers == workers } }

    // MARK: - Helpers

    /// Hands a survived error to the error handler.
    func report(_ error: JobsError) {
        errorHandler?(error)
    }
}
