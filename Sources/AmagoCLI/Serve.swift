import ArgumentParser
import Autograd
import Foundation
import Service
import Storage

/// `amago serve`: the HTTP service with its training workers.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the REST API and train queued experiments.",
        discussion: """
            Every option can also be set by environment variable: AMAGO_ADDR, AMAGO_DATA, AMAGO_DATABASE, \
            AMAGO_WORKERS, AMAGO_TOKEN, AMAGO_PUBLIC, AMAGO_SESSION_IDLE_TIMEOUT, AMAGO_MAX_SESSIONS, AMAGO_LEASE. \
            SIGTERM or SIGINT stops accepting requests, checkpoints \
            running jobs (they resume on the next start) and exits 0 (75 when a job did not stop within 60 s; \
            it is recovered on the next start). With a postgres:// database several hosts share one queue: \
            run one `amago serve` (--workers 0 for an API-only host) and an `amago worker` on each other host.
            """)

    @Option(help: "host:port to listen on (env AMAGO_ADDR; default 127.0.0.1:8080).") var addr: String?
    @Option(help: "Data folder: run folders, and the database unless --database names one (env AMAGO_DATA; default ./data).")
    var data: String?
    @Option(help: "The database: a SQLite path (default <data>/amago.sqlite) or postgres://user@host/db shared by hosts (env AMAGO_DATABASE).")
    var database: String?
    @Option(help: "Jobs trained at once; 0 serves the API only (env AMAGO_WORKERS; default: the number of cores).") var workers: Int?
    @Option(help: "Seconds a claimed job holds without a heartbeat before another host may take it over (env AMAGO_LEASE; default 60).")
    var lease: Double?
    @Option(help: "Bearer token for mutating endpoints; required off loopback (env AMAGO_TOKEN).") var token: String?
    @Option(help: "Dashboard folder served at / (env AMAGO_PUBLIC; default ./Public when it exists, 'none' to disable).")
    var `public`: String?
    @Option(help: "Seconds an idle /act session is kept (env AMAGO_SESSION_IDLE_TIMEOUT; default 900).")
    var sessionIdleTimeout: Double?
    @Option(help: "Most /act sessions open at once; the least recently used is evicted (env AMAGO_MAX_SESSIONS; default 1024).")
    var maxSessions: Int?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)  // log lines reach journald/pipes as they happen
        let env = ProcessInfo.processInfo.environment
        let (host, port) = try Self.parseAddress(addr ?? env["AMAGO_ADDR"] ?? "127.0.0.1:8080")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let requested = try Self.setting(workers, env: "AMAGO_WORKERS", "workers must be 0 or a positive integer",
                                         parse: { Int($0).flatMap { $0 >= 0 ? $0 : nil } })
        let workerCount = min(requested ?? cores, cores)
        var options = ServiceOptions(host: host, port: port, dataDirectory: URL(fileURLWithPath: data ?? env["AMAGO_DATA"] ?? "data"),
                                     database: Self.databaseSetting(database),
                                     workers: workerCount, token: token ?? env["AMAGO_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        options.lease = try Self.leaseSetting(lease)
        options.publicDirectory = try Self.dashboardFolder(`public` ?? env["AMAGO_PUBLIC"])
        if let seconds = try Self.setting(sessionIdleTimeout, env: "AMAGO_SESSION_IDLE_TIMEOUT",
                                          "session idle timeout must be a positive number of seconds",
                                          parse: { Double($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }) {
            options.sessionIdleTimeout = seconds
        }
        if let n = try Self.setting(maxSessions, env: "AMAGO_MAX_SESSIONS", "max sessions must be a positive integer",
                                 parse: Self.positiveInteger) {
            options.sessionCapacity = n
        }
        let service: ServiceHost
        do {
            service = try ServiceHost(options: options, setThreadCount: { BLAS.setThreadCount($0) })
        } catch let error as ServiceError {
            throw ValidationError(error.description)
        } catch let error as StorageError {
            throw ValidationError("cannot open the database: \(error)")
        }
        let stop = SignalFlag.install()
        let recovered = try service.start()
        for job in recovered { print("recovered \(job.experimentID): \(job.from.rawValue) → \(job.to.rawValue) (\(job.reason))") }
        print("amago listening on http://\(Self.display(host)):\(service.port) (data \(options.dataDirectory.path), "
              + "database \(service.store.path), \(workerCount) workers)")
        if options.publicDirectory == nil { print("no dashboard folder: the dashboard is not served (see --public)") }
        stop.wait()
        print("shutting down: checkpointing running jobs")
        // Returns once the server's threads, the event streams and the workers have ended.
        let clean = service.shutdown(gracePeriod: .seconds(10), jobDeadline: 60)
        guard clean else {
            print("stopped; some jobs did not finish in time and will be recovered on the next start")
            throw ExitCode(75)  // EX_TEMPFAIL: nothing is lost, but a job is still running as the process ends
        }
        print("stopped")
    }

    /// A setting from its flag, else its environment variable, parsed and checked by `parse`
    /// (nil: invalid, reported as `requirement` with the text given); nil when neither is set.
    static func setting<T>(_ flag: T?, env name: String, _ requirement: String,
                           parse: (String) -> T?) throws -> T? {
        guard let text = flag.map({ "\($0)" }) ?? ProcessInfo.processInfo.environment[name] else { return nil }
        guard let value = parse(text) else { throw ValidationError("\(requirement), got '\(text)'") }
        return value
    }

    /// Reads a positive integer setting (nil for anything else).
    static func positiveInteger(_ text: String) -> Int? { Int(text).flatMap { $0 >= 1 ? $0 : nil } }

    /// The database named by the flag or AMAGO_DATABASE; nil for the data folder's SQLite file.
    static func databaseSetting(_ flag: String?) -> String? {
        (flag ?? ProcessInfo.processInfo.environment["AMAGO_DATABASE"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The lease from the flag or AMAGO_LEASE: at least 3 seconds (heartbeats come every third).
    static func leaseSetting(_ flag: Double?) throws -> TimeInterval? {
        try setting(flag, env: "AMAGO_LEASE", "the lease must be at least 3 seconds",
                    parse: { Double($0).flatMap { $0 >= 3 && $0.isFinite ? $0 : nil } })
    }

    /// The dashboard folder: the one named (which must exist), none for `none`, else `./Public`
    /// when it exists.
    static func dashboardFolder(_ named: String?) throws -> URL? {
        var isDirectory: ObjCBool = false
        if let named {
            if named == "none" || named.isEmpty { return nil }
            guard FileManager.default.fileExists(atPath: named, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("dashboard folder '\(named)' does not exist; pass --public DIR or --public none")
            }
            return URL(fileURLWithPath: named)
        }
        guard FileManager.default.fileExists(atPath: "Public", isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return URL(fileURLWithPath: "Public")
    }

    /// Splits `host:port`, `[v6]:port` or `:port`.
    static func parseAddress(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("address must be host:port, got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    static func display(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
