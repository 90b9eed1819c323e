import ArgumentParser
import Autograd
import Environments
import Foundation
import Jobs
import Service
import Storage

/// `amago worker`: training workers for a shared PostgreSQL queue, with no HTTP server.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train queued experiments from a shared PostgreSQL database (no HTTP; run `amago serve` for the API).",
        discussion: """
            Every option can also be set by environment variable: AMAGO_DATABASE, AMAGO_DATA, AMAGO_WORKERS, \
            AMAGO_THREADS, AMAGO_LEASE. Each claimed job holds a lease that heartbeats renew; when this host dies, another takes \
            its jobs over once the lease expires and resumes them from their latest checkpoint. Checkpoints go to \
            the database too, so the API host serves them; the replay buffer stays in this host's data folder. \
            Experiments of external environments are left to `amago serve` (their clients connect to it). \
            SIGTERM or SIGINT checkpoints running jobs, puts them back in the queue and exits 0 (75 when a job \
            did not stop within 60 s).
            """)

    @Option(help: "The shared database, postgres://user@host/db (env AMAGO_DATABASE).") var database: String?
    @Option(help: "This host's data folder for run folders and checkpoint files (env AMAGO_DATA; default ./data).")
    var data: String?
    @Option(help: "Jobs trained at once (env AMAGO_WORKERS; default: the number of cores).") var workers: Int?
    @Option(help: "Compute threads per job (env AMAGO_THREADS; default: the cores divided by --workers; set it when several workers share a machine).")
    var threads: Int?
    @Option(help: "Seconds a claimed job holds without a heartbeat before another host may take it over (env AMAGO_LEASE; default 60).")
    var lease: Double?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let env = ProcessInfo.processInfo.environment
        guard let location = Serve.databaseSetting(database) else {
            throw ValidationError("a worker needs the shared database: pass --database postgres://user@host/db or set AMAGO_DATABASE")
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let requested = try Serve.setting(workers, env: "AMAGO_WORKERS", "workers must be a positive integer",
                                          parse: Serve.positiveInteger)
        let workerCount = min(requested ?? cores, cores)
        let lease = try Serve.leaseSetting(lease)
        let threadsPerJob = try Serve.setting(threads, env: "AMAGO_THREADS", "threads must be a positive integer",
                                              parse: Serve.positiveInteger)
        let dataDirectory = URL(fileURLWithPath: data ?? env["AMAGO_DATA"] ?? "data")
        let store: Store
        do {
            store = try Store(database: location)
        } catch let error as StorageError {
            throw ValidationError("cannot open the database: \(error)")
        }
        guard store.isShared else {
            // A SQLite file has one pool, in `amago serve`: a second would take its running jobs
            // for abandoned ones.
            throw ValidationError("a worker shares a PostgreSQL database with `amago serve`; '\(location)' is a SQLite file, "
                                  + "which `amago serve` trains from by itself")
        }
        let runner = TrainerRunner(store: store, dataDirectory: dataDirectory, setThreadCount: { BLAS.setThreadCount($0) })
        // External environments are stepped by clients of the API host, whose process trains them.
        let pool = try WorkerPool(store: store, workers: workerCount, runner: runner,
                                  heartbeatInterval: WorkerPool.heartbeatInterval(lease: lease), lease: lease, threadsPerJob: threadsPerJob,
                                  skippedEnvironments: [ExternalEnvironment.registryName],
                                  errorHandler: { error in print("worker: \(error)") })
        let stop = SignalFlag.install()
        for job in try pool.start() {
            print("took over \(job.experimentID): \(job.from.rawValue) → \(job.to.rawValue) (\(job.reason))")
        }
        print("amago worker training from \(store.path) (data \(dataDirectory.path), \(workerCount) workers)")
        stop.wait()
        print("shutting down: checkpointing running jobs")
        let clean = pool.shutdown(deadline: Date().addingTimeInterval(60))
        try? store.close()
        guard clean else {
            print("stopped; some jobs did not finish in time and will be taken over when their lease expires")
            throw ExitCode(75)
        }
        print("stopped")
    }
}
