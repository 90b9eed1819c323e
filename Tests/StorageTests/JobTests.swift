import Foundation
import Testing
import Storage

@Suite struct JobTests {
    @Test(arguments: StoreKind.allCases)
    func claimNext_takesOldestQueuedThenReturnsNil(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let first = try store.makeExperiment(now: t0)
            let second = try store.makeExperiment(now: t0.addingTimeInterval(1))
            let cancelled = try store.makeExperiment(now: t0.addingTimeInterval(-5))
            try store.cancel(id: cancelled.id)

            let claimed = try #require(try store.claimNext(workerID: "w1", now: t0.addingTimeInterval(10)))
            #expect(claimed.id == first.id)
            #expect(claimed.status == .running && claimed.workerID == "w1")
            #expect(claimed.heartbeatAt == t0.addingTimeInterval(10) && claimed.startedAt == t0.addingTimeInterval(10))
            #expect(try store.claimNext(workerID: "w2")?.id == second.id)
            #expect(try store.claimNext(workerID: "w3") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func resumedExperiment_queuesBehindThoseAlreadyWaiting(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let old = try store.makeExperiment(now: t0)
            _ = try store.claimNext(workerID: "w", now: t0)
            try store.transition(id: old.id, to: .failed, reason: "crash", now: t0)
            let waiting = try store.makeExperiment(now: t0.addingTimeInterval(1))
            try store.resume(id: old.id, now: t0.addingTimeInterval(2))
            #expect(try store.claimNext(workerID: "w")?.id == waiting.id)
            #expect(try store.claimNext(workerID: "w")?.id == old.id)
        }
    }

    @Test(arguments: StoreKind.shared)
    func claimNext_twoConnectionsNeverClaimTheSameExperiment(kind: StoreKind) async throws {
        let test = try TestStore(kind)
        defer { test.removeFiles() }
        let stores = [test.store, try test.openAnother()]
        let total = 60
        for i in 0..<total { _ = try stores[i % 2].makeExperiment(name: "e\(i)") }

        let claims = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mine: [String] = []
                    while let experiment = try stores[worker % 2].claimNext(workerID: "w\(worker)") {
                        mine.append(experiment.id)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(claims.count == total)
        #expect(Set(claims).count == total)
        #expect(try stores[0].experimentCounts() == [.running: total])
        for id in claims { #expect(try stores[1].statusHistory(id: id).filter { $0.to == .running }.count == 1) }
    }

    @Test(arguments: StoreKind.allCases)
    func heartbeat_updatesOwnerOnlyAndFindsStaleJobs(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let a = try store.makeExperiment(now: t0)
            let b = try store.makeExperiment(now: t0.addingTimeInterval(1))
            let idle = try store.makeExperiment(now: t0.addingTimeInterval(2))
            _ = try store.claimNext(workerID: "wa", now: t0)
            _ = try store.claimNext(workerID: "wb", now: t0)
            try store.heartbeat(id: a.id, workerID: "wa", now: t0.addingTimeInterval(100))
            #expect(try store.experiment(id: a.id).heartbeatAt == t0.addingTimeInterval(100))
            #expect(throws: StorageError.self) { try store.heartbeat(id: a.id, workerID: "wb") }
            #expect(throws: StorageError.self) { try store.heartbeat(id: idle.id, workerID: "wa") }
            #expect(throws: StorageError.notFound(kind: "experiment", id: "nope")) {
                try store.heartbeat(id: "nope", workerID: "wa")
            }
            try store.requestStop(id: b.id, now: t0.addingTimeInterval(5))
            #expect(Set(try store.activeExperiments().map(\.id)) == [a.id, b.id])
            #expect(try store.activeExperiments(staleBefore: t0.addingTimeInterval(50)).map(\.id) == [b.id])
            #expect(try store.activeExperiments(staleBefore: t0.addingTimeInterval(500)).count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func crashRecovery_requeuesRunningAndStopsStopping(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let running = try store.makeExperiment(in: .running)
            let stopping = try store.makeExperiment(in: .stopping)
            for experiment in try store.activeExperiments() {
                if experiment.status == .running {
                    try store.requeueAfterCrash(id: experiment.id)
                } else {
                    try store.transition(id: experiment.id, to: .stopped, reason: "stopped by restart")
                }
            }
            #expect(try store.experiment(id: running.id).status == .queued)
            #expect(try store.experiment(id: stopping.id).status == .stopped)
            #expect(try store.activeExperiments().isEmpty)
            #expect(try store.claimNext(workerID: "w")?.id == running.id)
            #expect(throws: StorageError.illegalTransition(from: .queued, to: .stopping)) {
                try store.requestStop(id: try store.makeExperiment().id)
            }
        }
    }
}
