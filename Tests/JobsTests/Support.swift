import Foundation
import Jobs
import Storage
import TestSupport

/// A temporary database (a file, or a PostgreSQL schema; see `TestDatabase`) and a store on
/// it; `remove()` deletes it.
final class TempDatabase {
    let directory: URL
    /// What `Store(database:)` opens to reach the same database again.
    let path: String
    let store: Store

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-tests-\(UUID().uuidString)")
        path = TestDatabase.location(in: directory)
        store = try Store(database: path)
    }

    /// Closes the store and deletes the folder or schema.
    func remove() {
        try? store.close()
        try? FileManager.default.removeItem(at: directory)
        TestDatabase.remove(path)
    }

    /// Enqueues an experiment whose name tells `ScriptedRunner` what to do.
    func enqueue(_ script: String) throws -> ExperimentRecord {
        try store.createExperiment(NewExperiment(name: script, environment: "test", spec: "{}", epochs: 3)).experiment
    }
}

/// An error a scripted job throws.
struct ScriptedFailure: Error, CustomStringConvertible {
    var description: String
}

/// A `JobRunner` driven by each experiment's name:
/// - `ok`: returns `.completed` at once.
/// - `fail:<message>`: throws `ScriptedFailure(<message>)`.
/// - `block`: trains in small steps until `shouldStop`, then returns `.stopped`; when resuming
///   it returns `.completed` at once.
/// - `progress`: reports epochs 1...3, then completes.
/// - `stubborn`: ignores `shouldStop` until `release` is signalled, then completes.
/// - `broken`: like `block`, but recovery refuses to resume it.
final class ScriptedRunner: JobRunner, @unchecked Sendable {
    /// One `run` call.
    struct Run: Equatable {
        var id: String
        var isResuming: Bool
        var workerID: String
        var threadsPerJob: Int
    }

    private let lock = NSLock()
    private var log: [Run] = []
    private var active: Set<String> = []
    private var overlaps = 0
    /// Signalled once per `run` call, as it starts.
    let started = DispatchSemaphore(value: 0)
    /// Lets `stubborn` jobs finish.
    let release = DispatchSemaphore(value: 0)

    var runs: [Run] { lock.withLock { log } }
    /// How many times a job started while the same job was already running.
    var concurrentDuplicates: Int { lock.withLock { overlaps } }

    func run(_ job: ExperimentRecord, control: JobControl) throws -> JobOutcome {
        lock.withLock {
            log.append(Run(id: job.id, isResuming: control.isResuming, workerID: control.workerID,
                           threadsPerJob: control.threadsPerJob))
            if !active.insert(job.id).inserted { overlaps += 1 }
        }
        defer { lock.withLock { _ = active.remove(job.id) } }
        started.signal()
        return try perform(job.name, control: control)
    }

    private func perform(_ script: String, control: JobControl) throws -> JobOutcome {
        switch script {
        case "ok":
            return .completed
        case _ where script.hasPrefix("fail:"):
            throw ScriptedFailure(description: String(script.dropFirst("fail:".count)))
        case "progress":
            for epoch in 1...3 { try control.reportProgress(ProgressRecord(epoch: epoch, epochs: 3)) }
            return .completed
        case "stubborn":
            release.wait()
            return .completed
        default:  // block, broken
            if control.isResuming { return .completed }
            while !control.shouldStop { Thread.sleep(forTimeInterval: 0.002) }  // one "training step"
            return .stopped
        }
    }

    func recoveryDecision(for job: ExperimentRecord) -> RecoveryDecision {
        job.name == "broken" ? .fail(reason: "checkpoint format changed") : .resume
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass; returns whether it held.
@discardableResult
func waitUntil(timeout: TimeInterval = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return try condition()
}

/// Waits for `count` signals of `semaphore`, each within `timeout` seconds.
func wait(_ semaphore: DispatchSemaphore, count: Int = 1, timeout: TimeInterval = 5) -> Bool {
    (0..<count).allSatisfy { _ in semaphore.wait(timeout: .now() + timeout) == .success }
}

extension Store {
    /// The experiment's current status, or nil if it cannot be read.
    func status(_ id: String) -> ExperimentStatus? { try? experiment(id: id).status }
}

/// Makes a pool with fast test intervals.
func makePool(_ database: TempDatabase, runner: ScriptedRunner, workers: Int = 1, store: Store? = nil,
              maxCrashRecoveries: Int = 3) throws -> WorkerPool {
    try WorkerPool(store: store ?? database.store, workers: workers, runner: runner, heartbeatInterval: 0.05,
                   pollInterval: 0.02, maxCrashRecoveries: maxCrashRecoveries)
}
