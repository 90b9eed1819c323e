import Foundation
import Testing
import Jobs
import Storage

@Suite struct ShutdownRecoveryTests {
    @Test func shutdownMidRun_requeuesJobAndNextPoolResumesIt() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let firstRunner = ScriptedRunner()
        let first = try makePool(db, runner: firstRunner)
        let job = try db.enqueue("block")
        try first.start()
        #expect(wait(firstRunner.started))

        #expect(first.shutdown(deadline: Date() + 5))
        #expect(db.store.status(job.id) == .queued)
        #expect(try db.store.statusHistory(id: job.id).last?.reason == WorkerPool.shutdownReason)
        #expect(try first.queueDepth() == 1)

        // The next process: its own connection to the same file.
        let reopened = try Store(database: db.path)
        defer { try? reopened.close() }
        let secondRunner = ScriptedRunner()
        let second = try makePool(db, runner: secondRunner, store: reopened)
        defer { second.shutdown(deadline: Date() + 5) }
        #expect(try second.start().isEmpty)
        #expect(waitUntil { reopened.status(job.id) == .succeeded })
        #expect(secondRunner.runs.map(\.isResuming) == [true])
    }

    @Test func shutdownDeadline_leavesJobThatIgnoresStopActive() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        let job = try db.enqueue("stubborn")
        try pool.start()
        #expect(wait(runner.started))

        #expect(!pool.shutdown(deadline: Date() + 0.1))
        #expect(db.store.status(job.id) == .running)  // left for the next start's recovery
        runner.release.signal()
        #expect(waitUntil { db.store.status(job.id) == .succeeded })
        #expect(pool.shutdown(deadline: Date() + 5))
    }

    @Test func startAfterCrash_requeuesRunningJobAndResumesIt() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        // A dead process left one job running and one stopping (an hour ago: on a shared store
        // only expired leases are taken over).
        let running = try db.enqueue("block")
        _ = try db.store.claimNext(workerID: "dead-w0", now: anHourAgo)
        let stopping = try db.enqueue("block")
        _ = try db.store.claimNext(workerID: "dead-w1", now: anHourAgo)
        try db.store.requestStop(id: stopping.id)

        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5) }
        let recovered = try pool.start()
        #expect(recovered.map(\.experimentID) == [running.id, stopping.id])
        #expect(recovered.map(\.to) == [.queued, .stopped])
        #expect(recovered[0].reason.hasPrefix(db.store.isShared ? WorkerPool.leaseRequeueReason : WorkerPool.crashRequeueReason))
        #expect(recovered[0].reason.contains("dead-w0"))

        #expect(waitUntil { db.store.status(running.id) == .succeeded })
        #expect(runner.runs.map(\.id) == [running.id])
        #expect(runner.runs.map(\.isResuming) == [true])
        let history = try db.store.statusHistory(id: running.id).map(\.to)
        #expect(history == [.queued, .running, .queued, .running, .succeeded])
        #expect(db.store.status(stopping.id) == .stopped)
    }

    @Test func startAfterCrash_failsJobsThatCannotResume() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let broken = try db.enqueue("broken")
        _ = try db.store.claimNext(workerID: "dead-w0", now: anHourAgo)
        // A job that already took the process down once (recovered, claimed, abandoned again).
        let looping = try db.enqueue("block")
        _ = try db.store.claimNext(workerID: "dead-w1", now: anHourAgo)
        try db.store.requeueAfterCrash(id: looping.id, reason: WorkerPool.crashRequeueReason + ": earlier")
        _ = try db.store.claimNext(workerID: "dead-w1", now: anHourAgo)

        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner, maxCrashRecoveries: 1)
        defer { pool.shutdown(deadline: Date() + 5) }
        let recovered = try pool.start()
        #expect(recovered.map(\.to) == [.failed, .failed])

        let brokenNow = try db.store.experiment(id: broken.id)
        #expect(brokenNow.status == .failed)
        #expect(brokenNow.errorMessage == "cannot resume after restart: checkpoint format changed")
        let loopingNow = try db.store.experiment(id: looping.id)
        #expect(loopingNow.status == .failed)
        #expect(loopingNow.errorMessage?.contains("2 times in a row") == true)
        #expect(runner.runs.isEmpty)
    }

    @Test func lostClaim_stopsJobWithoutOverwritingItsStatus() throws {
        let db = try TempDatabase()
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5); db.remove() }
        let job = try db.enqueue("block")
        try pool.start()
        #expect(wait(runner.started))

        // Another process's recovery took the job away and failed it.
        try db.store.transition(id: job.id, to: .failed, reason: "taken over", errorMessage: "taken over")
        #expect(waitUntil { pool.runningJobs == 0 })
        #expect(db.store.status(job.id) == .failed)
        #expect(try db.store.statusHistory(id: job.id).last?.reason == "taken over")
    }

    /// Another host claimed a job and died (no heartbeat renews its short lease): on a shared
    /// store the pool leaves the live lease alone at start, and its monitor takes the job over
    /// once the lease has expired and runs it, resuming.
    @Test func expiredLease_isTakenOverByAnotherHostsPool() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner)
        defer { pool.shutdown(deadline: Date() + 5) }
        let job = try db.enqueue("ok")
        #expect(try db.store.claimNext(workerID: "dead-host-w0", lease: 0.5)?.id == job.id)
        let recovered = try pool.start()
        #expect(waitUntil { db.store.status(job.id) == .succeeded })
        let history = try db.store.statusHistory(id: job.id)
        #expect(history.map(\.to) == [.queued, .running, .queued, .running, .succeeded])
        #expect(history[2].reason.contains("dead-host-w0"))
        #expect(runner.runs.map(\.isResuming) == [true])
        if db.store.isShared {
            #expect(recovered.isEmpty)
            #expect(history[2].reason.hasPrefix(WorkerPool.leaseRequeueReason))
        } else {
            // One host per SQLite file: every claim found at start is abandoned.
            #expect(recovered.map(\.experimentID) == [job.id])
            #expect(history[2].reason.hasPrefix(WorkerPool.crashRequeueReason))
        }
    }

    /// `--workers 0`: the pool runs no job (an API-only host) but is ready.
    @Test func zeroWorkers_runNothingAndAreReady() throws {
        let db = try TempDatabase()
        defer { db.remove() }
        let runner = ScriptedRunner()
        let pool = try makePool(db, runner: runner, workers: 0)
        let job = try db.enqueue("ok")
        try pool.start()
        #expect(pool.isRunning)
        #expect(pool.shutdown(deadline: Date() + 5))
        #expect(db.store.status(job.id) == .queued)
        #expect(runner.runs.isEmpty)
    }
}

private let anHourAgo = Date().addingTimeInterval(-3600)
