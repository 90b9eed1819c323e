import Foundation
import Testing
import Jobs
import Storage

@Suite struct WorkerPoolTests {
    @Test func queuedJobs_runAndEndSucceeded() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let ids = try (0..<3).map { _ in try db.enqueue("ok").id }

        try pool.start()
        #expect(waitUntil { ids.allSatisfy { db.store.status($0) == .succeeded } })
        #expect(runs(runner, of: ids) == ids)
        for id in ids {
            let history = try db.store.statusHistory(id: id)
            #expect(history.map(\.to) == [.queued, .running, .succeeded])
            #expect(history.last?.reason == "completed")
            #expect(try db.store.experiment(id: id).workerID == nil)
        }
        #expect(runner.runs.allSatisfy { !$0.isResuming })
        #expect(try pool.queueDepth() == 0)
    }

    @Test func twoWorkers_runEveryJobExactlyOnce() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner, workers: 2)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let ids = try (0..<24).map { i in try db.enqueue(i % 3 == 0 ? "progress" : "ok").id }

        try pool.start()
        #expect(waitUntil(timeout: 10) { ids.allSatisfy { db.store.status($0) == .succeeded } })
        let runs = runner.runs
        #expect(runs.count == ids.count)
        #expect(Set(runs.map(\.id)) == Set(ids))
        #expect(runner.concurrentDuplicates == 0)
        #expect(Set(runs.map(\.workerID)).count <= 2)
        let expectedThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        #expect(runs.allSatisfy { $0.threadsPerJob == expectedThreads })
        for id in ids { #expect(try db.store.statusHistory(id: id).filter { $0.to == .running }.count == 1) }
    }

    @Test func throwingRunner_failsJobWithItsMessageAndPoolKeepsClaiming() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let failing = try db.enqueue("fail:loss became NaN at gradient step 7")
        let after = try db.enqueue("ok")

        try pool.start()
        #expect(waitUntil { db.store.status(after.id) == .succeeded })
        let failed = try db.store.experiment(id: failing.id)
        #expect(failed.status == .failed)
        #expect(failed.errorMessage == "loss became NaN at gradient step 7")
        #expect(try db.store.statusHistory(id: failing.id).last?.reason == "failed: loss became NaN at gradient step 7")
        #expect(pool.isRunning)
    }

    @Test func stopRequestInDatabase_reachesRunnerAndEndsStopped() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("block")

        try pool.start()
        #expect(wait(runner.started))
        #expect(pool.runningJobIDs == [job.id])
        try db.store.requestStop(id: job.id)  // as the Service's stop endpoint would, bypassing the pool
        #expect(waitUntil { db.store.status(job.id) == .stopped })
        let history = try db.store.statusHistory(id: job.id)
        #expect(history.map(\.to) == [.queued, .running, .stopping, .stopped])
        #expect(history.last?.reason == "stopped on request")
        #expect(waitUntil { pool.runningJobs == 0 })
    }

    @Test func poolRequestStop_signalsJobWithoutWaitingForThePoll() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try WorkerPool(store: db.store, workers: 1, runner: runner, heartbeatInterval: 60, pollInterval: 60)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("block")

        try pool.start()  // the first claim happens at once; the 60 s poll never fires in this test
        #expect(wait(runner.started))
        #expect(try pool.requestStop(id: job.id).status == .stopping)
        #expect(waitUntil { db.store.status(job.id) == .stopped })
        #expect(throws: JobsError.storage(operation: "requesting a stop of '\(job.id)'",
                                          .illegalTransition(from: .stopped, to: .stopping))) {
            try pool.requestStop(id: job.id)
        }
    }

    @Test func poolRequestStop_twiceIsHarmlessAndAJobThatFinishesAnywaySucceeds() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("stubborn")

        try pool.start()
        #expect(wait(runner.started))
        #expect(try pool.requestStop(id: job.id).status == .stopping)
        #expect(try pool.requestStop(id: job.id).status == .stopping)
        runner.release.signal()
        #expect(waitUntil { db.store.status(job.id) == .succeeded })
        #expect(try db.store.statusHistory(id: job.id).map(\.to) == [.queued, .running, .stopping, .succeeded])
    }

    @Test func databaseErrors_reachTheErrorHandlerAndPoolSurvives() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let errors = ErrorLog()
        let pool = try WorkerPool(store: db.store, workers: 1, runner: ScriptedRunner(), heartbeatInterval: 0.05,
                                  pollInterval: 0.02, errorHandler: { errors.append($0) })
        defer { pool.shutdown(deadline: Date() + 5) }
        try pool.start()
        try db.store.close()  // every later access throws `conflict`

        #expect(waitUntil { errors.count >= 2 })
        #expect(errors.first?.storageError != nil)
        #expect(pool.isRunning)
    }

    @Test func cancelledQueuedJob_neverRuns() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let cancelled = try db.enqueue("ok")
        let next = try db.enqueue("ok")
        try db.store.cancel(id: cancelled.id)

        try pool.start()
        #expect(waitUntil { db.store.status(next.id) == .succeeded })
        #expect(runner.runs.map(\.id) == [next.id])
        #expect(db.store.status(cancelled.id) == .cancelled)
    }

    @Test func runnerProgress_isStoredAndCountsAsHeartbeat() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("progress")

        try pool.start()
        #expect(waitUntil { db.store.status(job.id) == .succeeded })
        #expect(try db.store.experiment(id: job.id).progress == ProgressRecord(epoch: 3, epochs: 3))
    }

    @Test func heartbeats_advanceWhileJobRuns() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("block")

        try pool.start()
        #expect(wait(runner.started))
        let claimedBeat = try #require(try db.store.experiment(id: job.id).heartbeatAt)
        var beats: Set<Date> = [claimedBeat]
        #expect(try waitUntil {
            if let beat = try db.store.experiment(id: job.id).heartbeatAt { beats.insert(beat) }
            return beats.count >= 3
        })
        #expect(beats.allSatisfy { $0 >= claimedBeat })
        try db.store.requestStop(id: job.id)
        #expect(waitUntil { db.store.status(job.id) == .stopped })
    }

    @Test func invalidConfigurationAndSecondStart_areRefused() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let runner = ScriptedRunner()
        #expect(throws: JobsError.self) { try WorkerPool(store: db.store, workers: -1, runner: runner) }
        #expect(throws: JobsError.self) {
            try WorkerPool(store: db.store, workers: 1, runner: runner, heartbeatInterval: 10, lease: 15)
        }
        #expect(throws: JobsError.self) { try WorkerPool(store: db.store, workers: 1, runner: runner, pollInterval: 0) }
        let pool = try makePool(db, runner: runner)
        try pool.start()
        #expect(throws: JobsError.invalidState("the worker pool was already started or shut down")) { try pool.start() }
        #expect(pool.shutdown(deadline: Date() + 5))
        #expect(!pool.isRunning)
    }
}

/// The ids the runner was called with, restricted to `ids`, in call order.
func runs(_ runner: ScriptedRunner, of ids: [String]) -> [String] {
    runner.runs.map(\.id).filter(ids.contains)
}

/// Collects the errors a pool reports, thread-safely.
final class ErrorLog: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [JobsError] = []

    func append(_ error: JobsError) { lock.withLock { errors.append(error) } }
    var count: Int { lock.withLock { errors.count } }
    var first: JobsError? { lock.withLock { errors.first } }
}
