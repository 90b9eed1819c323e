import Foundation
import Testing
import Storage

@Suite struct CheckpointSessionTests {
    @Test(arguments: StoreKind.allCases)
    func checkpoints_listLatestAndBest(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            #expect(try store.latestCheckpoint(experimentID: id) == nil)
            #expect(try store.bestCheckpoint(experimentID: id) == nil)
            let returns: [Double?] = [1.0, 5.0, nil, 3.0]
            for (epoch, evalReturn) in returns.enumerated() {
                try store.addCheckpoint(NewCheckpoint(epoch: epoch + 1, environmentSteps: (epoch + 1) * 100, gradientSteps: epoch * 10,
                                                      evalReturn: evalReturn, path: "ckpt/\(id)/\(epoch + 1).safetensors",
                                                      sizeBytes: 1024), experimentID: id)
            }
            let all = try store.checkpoints(experimentID: id)
            #expect(all.map(\.epoch) == [1, 2, 3, 4])
            #expect(all[2].evalReturn == nil && all[1].path == "ckpt/\(id)/2.safetensors" && all[1].sizeBytes == 1024)
            #expect(try store.latestCheckpoint(experimentID: id)?.epoch == 4)
            #expect(try store.bestCheckpoint(experimentID: id)?.epoch == 2)
            #expect(try store.checkpoint(id: all[0].id) == all[0])
            #expect(throws: StorageError.notFound(kind: "checkpoint", id: "nope")) { try store.checkpoint(id: "nope") }
            #expect(throws: StorageError.self) {
                try store.addCheckpoint(NewCheckpoint(epoch: 9, environmentSteps: 0, gradientSteps: 0, path: all[0].path, sizeBytes: 1),
                                        experimentID: id)
            }
            #expect(try store.deleteCheckpoints(experimentID: id, afterEpoch: 2) == ["ckpt/\(id)/3.safetensors", "ckpt/\(id)/4.safetensors"])
            #expect(try store.latestCheckpoint(experimentID: id)?.epoch == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func upsertCheckpoint_updatesTheRecordOfARewrittenFileInPlace(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let path = "experiments/\(id)/checkpoints/epoch_000003.safetensors"
            let first = try store.upsertCheckpoint(NewCheckpoint(epoch: 3, environmentSteps: 400, gradientSteps: 30, evalReturn: 0.5,
                                                                 path: path, sizeBytes: 1000), experimentID: id)
            let session = try store.createSession(experimentID: id, checkpointID: first.id)
            // A stop saves the epoch again, later in training: the same record now describes the new file.
            let again = try store.upsertCheckpoint(NewCheckpoint(epoch: 3, environmentSteps: 460, gradientSteps: 41, evalReturn: nil,
                                                                 path: path, sizeBytes: 1008), experimentID: id)
            #expect(again.id == first.id && again.createdAt == first.createdAt)
            #expect(again.environmentSteps == 460 && again.gradientSteps == 41 && again.evalReturn == nil && again.sizeBytes == 1008)
            #expect(try store.checkpoints(experimentID: id) == [again])
            #expect(try store.session(id: session.id).checkpointID == first.id)
            #expect(try store.latestCheckpoint(experimentID: id)?.gradientSteps == 41)
            // Another path is a new record; a path of another experiment is refused.
            let other = try store.upsertCheckpoint(NewCheckpoint(epoch: 4, environmentSteps: 500, gradientSteps: 50, path: path + ".4",
                                                                 sizeBytes: 1), experimentID: id)
            #expect(other.id != first.id)
            #expect(try store.checkpoints(experimentID: id).count == 2)
            let stranger = try store.makeExperiment().id
            #expect(throws: StorageError.self) {
                try store.upsertCheckpoint(NewCheckpoint(epoch: 3, environmentSteps: 1, gradientSteps: 1, path: path, sizeBytes: 1),
                                           experimentID: stranger)
            }
            #expect(try store.checkpoint(id: first.id).environmentSteps == 460)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sessions_createTouchDelete(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let (experiment, checkpoint) = try makeCheckpoint(store)
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let session = try store.createSession(experimentID: experiment, checkpointID: checkpoint, now: t0)
            #expect(session.id.count == 20 && session.isOpen && session.steps == 0)
            let touched = try store.touchSession(id: session.id, steps: 3, now: t0.addingTimeInterval(9))
            #expect(touched.steps == 3 && touched.lastUsedAt == t0.addingTimeInterval(9))
            #expect(try store.session(id: session.id) == touched)
            try store.deleteSession(id: session.id)
            #expect(throws: StorageError.notFound(kind: "session", id: session.id)) { try store.session(id: session.id) }
            #expect(throws: StorageError.notFound(kind: "session", id: session.id)) { try store.deleteSession(id: session.id) }
            #expect(throws: StorageError.notFound(kind: "checkpoint", id: "nope")) {
                try store.createSession(experimentID: experiment, checkpointID: "nope")
            }
            let (_, foreign) = try makeCheckpoint(store)
            #expect(throws: StorageError.self) { try store.createSession(experimentID: experiment, checkpointID: foreign) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sessions_expireIdleAndEvictLeastRecentlyUsed(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let (experiment, checkpoint) = try makeCheckpoint(store)
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let ids = try (0..<6).map { i in
                try store.createSession(experimentID: experiment, checkpointID: checkpoint, now: t0.addingTimeInterval(Double(i))).id
            }
            try store.touchSession(id: ids[0], now: t0.addingTimeInterval(100))

            // Idle for more than 60 s at t0+62: sessions created at t0+0 (touched since), +1.
            #expect(try store.expireIdleSessions(idleFor: 60, now: t0.addingTimeInterval(62)) == [ids[1]])
            #expect(try store.session(id: ids[1]).endReason == "expired")
            #expect(throws: StorageError.self) { try store.touchSession(id: ids[1]) }

            // Five open: keep the three most recently used (ids[0], ids[5], ids[4]).
            #expect(try store.evictSessions(beyond: 3, now: t0.addingTimeInterval(70)) == [ids[2], ids[3]])
            #expect(try store.openSessions().map(\.id) == [ids[0], ids[5], ids[4]])
            #expect(try store.session(id: ids[2]).endReason == "evicted")
            #expect(try store.evictSessions(beyond: 3).isEmpty)

            #expect(try store.endOpenSessions(now: t0.addingTimeInterval(80)).count == 3)
            #expect(try store.openSessions(experimentID: experiment).isEmpty)
            #expect(try store.purgeEndedSessions(endedBefore: t0.addingTimeInterval(75)) == 3)
            #expect(try store.purgeEndedSessions(endedBefore: t0.addingTimeInterval(81)) == 3)
        }
    }

    private func makeCheckpoint(_ store: Store) throws -> (experiment: String, checkpoint: String) {
        let id = try store.makeExperiment().id
        let checkpoint = try store.addCheckpoint(NewCheckpoint(epoch: 1, environmentSteps: 1, gradientSteps: 1, evalReturn: 0.5,
                                                               path: "ckpt/\(id).safetensors", sizeBytes: 8),
                                                 experimentID: id)
        return (id, checkpoint.id)
    }
}
