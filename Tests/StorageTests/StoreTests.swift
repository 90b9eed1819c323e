import Foundation
import Testing
import Storage

@Suite struct StoreTests {
    @Test(arguments: StoreKind.allCases)
    func open_appliesEveryMigrationAndPragmas(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            #expect(try test.store.appliedMigrations()
                == ["v1-experiments", "v1-metrics", "v1-checkpoints-sessions", "v2-metric-points-by-series",
                    "v3-leases-checkpoint-chunks", "v4-groups-tags-sweeps"])
            let journal: [StoreKind: String] = [.file: "wal", .memory: "memory", .postgres: "postgres"]
            #expect(try test.store.journalMode() == journal[kind])
            #expect(try test.store.integrityCheck() == ["ok"])
        }
    }

    /// The v1 schema lists the statuses as text frozen in the migration: every status of the
    /// enum must still be one it accepts (a new status needs a migration), and others are refused.
    @Test(arguments: StoreKind.allCases)
    func statusCheck_acceptsEveryStatusAndNothingElse(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            let id = try test.store.makeExperiment().id
            for status in ExperimentStatus.allCases {
                try test.store.executeRawSQL("UPDATE experiments SET status = '\(status.rawValue)' WHERE id = '\(id)'")
            }
            #expect(throws: StorageError.self) {
                try test.store.executeRawSQL("UPDATE experiments SET status = 'paused' WHERE id = '\(id)'")
            }
        }
    }

    @Test(arguments: StoreKind.shared)
    func reopen_keepsDataAndDoesNotRerunMigrations(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            let id = try test.store.makeExperiment().id
            let reopened = try test.openAnother()
            #expect(try reopened.appliedMigrations() == (try test.store.appliedMigrations()))
            #expect(try reopened.experiment(id: id).id == id)
            #expect(try test.openAnother().listExperiments().experiments.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func databaseError_carriesItsSQL(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            let sql = "INSERT INTO no_such_table (x) VALUES (1)"
            do {
                try test.store.executeRawSQL(sql)
                Issue.record("expected a database error")
            } catch let StorageError.database(message, failedSQL) {
                #expect(failedSQL == sql)
                #expect(message.contains("no_such_table"))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func foreignKeys_areEnforced(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            #expect(throws: StorageError.self) {
                try test.store.executeRawSQL("INSERT INTO status_history (experiment_id, to_status, reason, at) VALUES ('nope', 'queued', 'x', 0)")
            }
        }
    }
}

@Suite struct LifecycleTests {
    /// Everything the service does over an experiment's life, then SQLite's own consistency check.
    @Test(arguments: StoreKind.allCases)
    func fullLifecycle_leavesIntegrityCheckOK(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let id = try store.createExperiment(NewExperiment(name: "life", environment: "t_maze", spec: "{}", epochs: 4,
                                                              idempotencyKey: "life", requestHash: "h"), now: t0).experiment.id
            let claimed = try #require(try store.claimNext(workerID: "w", now: t0))
            #expect(claimed.id == id)
            for epoch in 1...4 {
                let at = t0.addingTimeInterval(Double(epoch))
                try store.insertMetrics((0..<100).map { point("train/loss", Double($0), step: epoch * 1000 + $0, epoch: epoch) },
                                        experimentID: id)
                try store.updateProgress(id: id, ProgressRecord(epoch: epoch, epochs: 4, environmentSteps: epoch * 1000), now: at)
                try store.heartbeat(id: id, workerID: "w", now: at)
                try store.addCheckpoint(NewCheckpoint(epoch: epoch, environmentSteps: epoch * 1000, gradientSteps: epoch,
                                                      evalReturn: Double(epoch), path: "ckpt/\(id)/\(epoch).safetensors",
                                                      sizeBytes: 64), experimentID: id, now: at)
            }
            // Crash after epoch 4's metrics but resume from the epoch-3 checkpoint.
            try store.requeueAfterCrash(id: id)
            try store.deleteCheckpoints(experimentID: id, afterEpoch: 3)
            #expect(try store.deleteMetrics(experimentID: id, after: .epoch(3)) == 100)
            _ = try store.claimNext(workerID: "w2")
            try store.transition(id: id, to: .succeeded, reason: "all epochs done")
            let best = try #require(try store.bestCheckpoint(experimentID: id))
            let session = try store.createSession(experimentID: id, checkpointID: best.id)
            try store.touchSession(id: session.id, steps: 10)
            #expect(try store.statusHistory(id: id).map(\.to) == [.queued, .running, .queued, .running, .succeeded])
            #expect(try store.integrityCheck() == ["ok"])
            #expect(try store.deleteExperiment(id: id).count == 3)
            #expect(try store.integrityCheck() == ["ok"])
            try store.close()
            try store.close()
            #expect(throws: StorageError.conflict("the database is closed")) { try store.listExperiments() }
        }
    }
}
