import Foundation
import Testing
import Storage

/// What a store shared by several hosts needs: leases, checkpoint contents in the database,
/// sessions kept apart per host, and creates that race.
@Suite struct SharedStoreTests {
    @Test(arguments: StoreKind.allCases)
    func lease_isSetByClaim_renewedByHeartbeat_andReclaimedOnlyOnceExpired(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let id = try store.makeExperiment(now: t0).id
            let claimed = try #require(try store.claimNext(workerID: "host-a/1", lease: 30, now: t0))
            #expect(claimed.leaseExpiresAt == t0.addingTimeInterval(30))
            try store.heartbeat(id: id, workerID: "host-a/1", lease: 30, now: t0.addingTimeInterval(20))
            #expect(try store.experiment(id: id).leaseExpiresAt == t0.addingTimeInterval(50))
            // Not expired yet at t0+40: nothing to reclaim.
            #expect(try store.activeExperiments(leaseExpiredBefore: t0.addingTimeInterval(40)).isEmpty)
            #expect(try store.reclaimExpiredLease(id: id, workerID: "host-a/1", to: .queued, reason: "lease expired",
                                                  now: t0.addingTimeInterval(40)) == nil)
            // Expired at t0+60; a stale owner name (the lease was taken over meanwhile) is refused.
            #expect(try store.activeExperiments(leaseExpiredBefore: t0.addingTimeInterval(60)).map(\.id) == [id])
            #expect(try store.reclaimExpiredLease(id: id, workerID: "host-b/1", to: .queued, reason: "lease expired",
                                                  now: t0.addingTimeInterval(60)) == nil)
            let requeued = try #require(try store.reclaimExpiredLease(
                id: id, workerID: "host-a/1", to: .queued, reason: "lease expired", now: t0.addingTimeInterval(60)))
            #expect(requeued.status == .queued && requeued.leaseExpiresAt == nil && requeued.workerID == nil)
            // The dead worker's heartbeat now fails, so it would stop if it came back.
            #expect(throws: StorageError.self) { try store.heartbeat(id: id, workerID: "host-a/1") }
            #expect(try store.claimNext(workerID: "host-b/1", now: t0.addingTimeInterval(61))?.id == id)
            #expect(try store.statusHistory(id: id).map(\.reason).contains("lease expired"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func checkpointContent_roundTripsAcrossChunks(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let record = try store.addCheckpoint(NewCheckpoint(epoch: 1, environmentSteps: 10, gradientSteps: 1,
                                                               path: "experiments/\(id)/c.safetensors", sizeBytes: 0),
                                                 experimentID: id)
            #expect(try store.checkpointContent(id: record.id) == nil)
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<(2 * Store.checkpointChunkSize + 12345)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try store.storeCheckpointContent(id: record.id, bytes: bytes)
            #expect(try store.checkpointContent(id: record.id) == bytes)
            // Stored again (a stop re-saves its epoch): replaced, not appended.
            try store.storeCheckpointContent(id: record.id, bytes: [1, 2, 3])
            #expect(try store.checkpointContent(id: record.id) == [1, 2, 3])
            #expect(throws: StorageError.notFound(kind: "checkpoint", id: "nope")) {
                try store.storeCheckpointContent(id: "nope", bytes: [1])
            }
            // Deleting the checkpoint deletes its content.
            try store.deleteCheckpoints(experimentID: id, afterEpoch: 0)
            #expect(throws: StorageError.self) { try store.checkpointContent(id: record.id) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sessions_areEndedAndEvictedPerHost(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let checkpoint = try store.addCheckpoint(NewCheckpoint(epoch: 1, environmentSteps: 1, gradientSteps: 1,
                                                                   path: "c", sizeBytes: 1), experimentID: id)
            let a = try store.createSession(experimentID: id, checkpointID: checkpoint.id, host: "api-a")
            let b1 = try store.createSession(experimentID: id, checkpointID: checkpoint.id, host: "api-b")
            let b2 = try store.createSession(experimentID: id, checkpointID: checkpoint.id, host: "api-b")
            #expect(a.host == "api-a")
            #expect(Set(try store.openSessions(host: "api-b").map(\.id)) == [b1.id, b2.id])
            // api-b keeps one session at most: api-a's is not counted and not touched.
            #expect(try store.evictSessions(beyond: 1, host: "api-b").count == 1)
            #expect(try store.session(id: a.id).isOpen)
            // api-a restarts: only its own sessions end.
            #expect(try store.endOpenSessions(host: "api-a") == [a.id])
            #expect(try store.openSessions().count == 1)
        }
    }

    /// Two connections create with one idempotency key at once: one experiment, both answers
    /// name it.
    @Test(arguments: StoreKind.shared)
    func idempotentCreate_racingConnectionsMakeOneExperiment(kind: StoreKind) async throws {
        let test = try TestStore(kind)
        defer { test.removeFiles() }
        let stores = [test.store, try test.openAnother(), try test.openAnother(), try test.openAnother()]
        for round in 0..<10 {
            let key = "race-\(round)"
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for store in stores {
                    group.addTask {
                        try store.createExperiment(NewExperiment(name: "r", environment: "t", spec: "{}", epochs: 1,
                                                                 idempotencyKey: key, requestHash: "h")).experiment.id
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 1, "round \(round): \(ids)")
        }
        #expect(try test.store.listExperiments().experiments.count == 10)
    }

    @Test func databaseURL_isReadWithItsOptions_andBadOnesAreNamed() throws {
        #expect(throws: StorageError.self) { try Store(database: "postgres://u@h/db?colour=blue") }
        do {
            _ = try Store(database: "postgres://u@h/db?sslmode=sometimes")
            Issue.record("expected an error")
        } catch let error as StorageError {
            #expect(error.description.contains("sslmode 'sometimes' is not one of disable, prefer, require"))
        }
        do {
            _ = try Store(database: "postgres://u@h/db?schema=1bad")
            Issue.record("expected an error")
        } catch let error as StorageError {
            #expect(error.description.contains("schema '1bad'"))
        }
        // Nothing listens on port 1: a clear database error, with the password kept out of it.
        do {
            _ = try Store(database: "postgres://u:secret@127.0.0.1:1/db")
            Issue.record("expected an error")
        } catch let error as StorageError {
            guard case .database = error else { Issue.record("unexpected \(error)"); return }
            #expect(!error.description.contains("secret"))
        }
    }
}

extension SharedStoreTests {
    /// A worker host without the API leaves external-environment experiments in the queue.
    @Test(arguments: StoreKind.allCases)
    func claimNext_skipsTheEnvironmentsItIsToldTo(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let external = try store.makeExperiment(environment: "external", now: t0)
            let maze = try store.makeExperiment(environment: "t_maze", now: t0.addingTimeInterval(1))
            #expect(try store.claimNext(workerID: "worker-host", skipping: ["external"])?.id == maze.id)
            #expect(try store.claimNext(workerID: "worker-host", skipping: ["external"]) == nil)
            #expect(try store.claimNext(workerID: "api-host")?.id == external.id)
        }
    }
}
