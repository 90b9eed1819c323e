import Foundation
import Testing
import Storage

@Suite struct ExperimentTests {
    @Test(arguments: StoreKind.allCases)
    func create_storesFieldsAndStartsQueued(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let created = try store.makeExperiment(name: "maze", environment: "maze_runner")
            #expect(created.id.count == 12)
            #expect(created.status == .queued)
            #expect(created.version == 1)
            #expect(created.progress.epochs == 10)
            let fetched = try store.experiment(id: created.id)
            #expect(fetched == created)
            #expect(fetched.name == "maze" && fetched.environment == "maze_runner")
            #expect(fetched.spec == #"{"env":"maze_runner"}"#)
            #expect(throws: StorageError.notFound(kind: "experiment", id: "missing")) {
                try store.experiment(id: "missing")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotency_sameBodyReturnsSameExperimentDifferentBodyConflicts(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let new = NewExperiment(name: "a", environment: "t_maze", spec: "{}", idempotencyKey: "k1", requestHash: "h1")
            let first = try store.createExperiment(new)
            let again = try store.createExperiment(new)
            #expect(first.isNew && !again.isNew)
            #expect(first.experiment.id == again.experiment.id)
            var other = new
            other.requestHash = "h2"
            #expect(throws: StorageError.idempotencyConflict(key: "k1")) { try store.createExperiment(other) }
            other.idempotencyKey = "k2"
            #expect(try store.createExperiment(other).isNew)
            #expect(try store.listExperiments().experiments.count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func list_isNewestFirstFilteredAndPaginatesWithCursor(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let base = Date(timeIntervalSince1970: 1_700_000_000)
            var ids: [String] = []
            for i in 0..<23 {
                // Pairs share a creation time, so the id breaks ties across page boundaries.
                ids.append(try store.makeExperiment(name: "e\(i)", now: base.addingTimeInterval(Double(i / 2))).id)
            }
            for id in ids.prefix(5) { try store.cancel(id: id) }

            var seen: [ExperimentRecord] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try store.listExperiments(limit: 5, cursor: cursor)
                #expect(page.experiments.count <= 5)
                seen += page.experiments
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil
            #expect(pages == 5)
            #expect(Set(seen.map(\.id)) == Set(ids))
            #expect(seen.count == 23)
            let order = seen.map { ($0.createdAt, $0.id) }
            #expect(zip(order, order.dropFirst()).allSatisfy { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) })

            let cancelled = try store.listExperiments(status: .cancelled, limit: 3)
            #expect(cancelled.experiments.count == 3 && cancelled.experiments.allSatisfy { $0.status == .cancelled })
            let rest = try store.listExperiments(status: .cancelled, limit: 3, cursor: cancelled.nextCursor)
            #expect(rest.experiments.count == 2 && rest.nextCursor == nil)
            #expect(try store.listExperiments(status: .queued, limit: 100).experiments.count == 18)
            #expect(try store.experimentCounts() == [.queued: 18, .cancelled: 5])
            #expect(throws: StorageError.self) { try store.listExperiments(cursor: "%%%not-a-cursor") }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateProgress_storesFieldsAndBumpsVersion(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let experiment = try store.makeExperiment(in: .running)
            let progress = ProgressRecord(epoch: 3, epochs: 10, environmentSteps: 3000, gradientSteps: 600, phase: "training",
                                              etaSeconds: 42.5, lastReturn: 0.75, lastSuccessRate: 0.5)
            try store.updateProgress(id: experiment.id, progress)
            let updated = try store.experiment(id: experiment.id)
            #expect(updated.progress == progress)
            #expect(updated.version == experiment.version + 1)
            #expect(throws: StorageError.notFound(kind: "experiment", id: "nope")) {
                try store.updateProgress(id: "nope", progress)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func delete_cascadesEverythingAndIsRefusedWhileActive(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let keep = try store.makeExperiment(in: .running)
            let doomed = try store.makeExperiment(in: .running)
            for experiment in [keep, doomed] {
                try store.insertMetrics((0..<10).map { point("train/loss", Double($0), step: $0) }, experimentID: experiment.id)
                let checkpoint = try store.addCheckpoint(NewCheckpoint(epoch: 1, environmentSteps: 10, gradientSteps: 20,
                                                                       path: "checkpoints/\(experiment.id)/1.safetensors",
                                                                       sizeBytes: 100), experimentID: experiment.id)
                _ = try store.createSession(experimentID: experiment.id, checkpointID: checkpoint.id)
            }
            #expect(throws: StorageError.self) { try store.deleteExperiment(id: doomed.id) }
            try store.requestStop(id: doomed.id)
            #expect(throws: StorageError.self) { try store.deleteExperiment(id: doomed.id) }
            try store.transition(id: doomed.id, to: .stopped, reason: "final checkpoint written")

            let paths = try store.deleteExperiment(id: doomed.id)
            #expect(paths == ["checkpoints/\(doomed.id)/1.safetensors"])
            #expect(throws: StorageError.notFound(kind: "experiment", id: doomed.id)) { try store.experiment(id: doomed.id) }
            #expect(throws: StorageError.notFound(kind: "experiment", id: doomed.id)) { try store.statusHistory(id: doomed.id) }
            #expect(try store.metricPointCount(experimentID: doomed.id) == 0)
            #expect(try store.openSessions().map(\.experimentID) == [keep.id])
            #expect(try store.metricPointCount(experimentID: keep.id) == 10)
            #expect(try store.checkpoints(experimentID: keep.id).count == 1)
            #expect(throws: StorageError.notFound(kind: "experiment", id: doomed.id)) { try store.deleteExperiment(id: doomed.id) }
            #expect(try store.integrityCheck() == ["ok"])
        }
    }
}
