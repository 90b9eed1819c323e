import AMAGO
import Foundation
import Jobs
import Service
import Storage
import TestSupport
import Testing

/// Checkpoint records against the files a run leaves behind: a stop re-saving an epoch, and the
/// leftovers of a process killed between saving a file and recording it.
@Suite("Checkpoint records follow their files", .serialized)
struct CheckpointRecordTests {
    /// The result of a run on another thread (written before the semaphore is signalled).
    final class Outcome: @unchecked Sendable { var value: Result<JobOutcome, Error>? }

    /// A data folder with a database and one experiment, run directly through `TrainerRunner`.
    final class Run: @unchecked Sendable {
        let folder: URL
        /// The database (`TestDatabase`: a file in `folder`, or a PostgreSQL schema).
        let database: String
        let store: Store
        let runner: TrainerRunner
        let id: String

        init(spec: ExperimentSpec = Specs.tinyTMaze(epochs: 10_000, name: "records")) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-records-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            database = TestDatabase.location(in: folder)
            store = try Store(database: database)
            runner = TrainerRunner(store: store, dataDirectory: folder)
            id = try store.createExperiment(NewExperiment(name: "records", environment: "tmaze_passive",
                                                          spec: try Specs.text(spec))).experiment.id
        }

        var checkpointFolder: URL { runner.folder(of: id).checkpoints }

        /// Claims and trains the experiment until `stopWhen` holds for its stored progress, then
        /// stops it gracefully; returns how the run ended.
        func train(resuming: Bool, stopWhen: @escaping (ProgressRecord) -> Bool) throws -> JobOutcome {
            let job = try #require(try store.claimNext(workerID: "test"))
            let control = JobControl(experimentID: id, workerID: "test", isResuming: resuming, threadsPerJob: 1, store: store)
            let done = DispatchSemaphore(value: 0)
            let result = Outcome()
            Thread { [runner] in
                result.value = Result { try runner.run(job, control: control) }
                done.signal()
            }.start()
            let deadline = Date().addingTimeInterval(120)
            var finished = false
            while !finished, Date() < deadline {
                if stopWhen(try store.experiment(id: id).progress) { control.requestStop() }
                finished = done.wait(timeout: .now() + .milliseconds(20)) == .success
            }
            control.requestStop()
            if !finished { done.wait() }
            try store.transition(id: id, to: .stopping, reason: "test")
            try store.transition(id: id, to: .stopped, reason: "test")
            return try #require(result.value).get()
        }

        /// Every record agrees with the header of its file, and every file has a record.
        func expectRecordsMatchFiles() throws {
            let records = try store.checkpoints(experimentID: id)
            let names = try FileManager.default.contentsOfDirectory(atPath: checkpointFolder.path)
                .filter { RunFolder.checkpointEpoch(ofFile: $0) != nil }
            #expect(Set(records.map { ($0.path as NSString).lastPathComponent }) == Set(names))
            for record in records {
                let saved = try Checkpoint.counters(at: folder.appendingPathComponent(record.path))
                #expect(record.epoch == saved.epoch && record.environmentSteps == saved.environmentSteps
                        && record.gradientSteps == saved.gradientSteps, "\(record) vs \(saved)")
            }
        }

        func close() {
            try? store.close()
            try? FileManager.default.removeItem(at: folder)
            TestDatabase.remove(database)
        }
    }

    @Test func stopRewritingACheckpointedEpoch_updatesItsRecord() throws {
        // Long training phases: the stop lands while epoch 2 trains, after its collection, so
        // the checkpoint it re-saves for epoch 1 holds more steps than epoch 1's first save.
        var spec = Specs.tinyTMaze(epochs: 10_000, name: "records")
        spec.schedule.batchesPerEpoch = 300
        let run = try Run(spec: spec)
        defer { run.close() }
        var before: CheckpointRecord?
        let outcome = try run.train(resuming: false) { progress in
            guard progress.epoch >= 2, progress.phase == "training" else { return false }
            before = before ?? (try? run.store.checkpoints(experimentID: run.id).last)
            return true
        }
        #expect(outcome == .stopped)
        let records = try run.store.checkpoints(experimentID: run.id)
        let closing = try #require(records.last)
        let first = try #require(before)
        let experiment = try run.store.experiment(id: run.id)
        #expect(closing.id == first.id && closing.epoch == first.epoch && closing.epoch == experiment.progress.epoch - 1)
        #expect(closing.environmentSteps > first.environmentSteps, "the stop saved epoch \(first.epoch) again, later")
        #expect(closing.environmentSteps == experiment.progress.environmentSteps && closing.gradientSteps == experiment.progress.gradientSteps)
        #expect(records.count == Set(records.map(\.epoch)).count, "one record per epoch")
        try run.expectRecordsMatchFiles()
    }

    @Test func resumeAfterAKill_dropsLaterFilesAndRecordsTheUnrecordedCheckpoint() throws {
        let run = try Run()
        defer { run.close() }
        _ = try run.train(resuming: false) { $0.epoch >= 2 && $0.phase == "collecting" }
        let latest = try Checkpoint.counters(at: run.checkpointFolder.appendingPathComponent("latest.safetensors"))
        // What a kill leaves: a file saved after `latest` (renamed never happened) and `latest`'s
        // own epoch file written but not yet recorded.
        let stale = run.checkpointFolder.appendingPathComponent(RunFolder.checkpointFileName(epoch: latest.epoch + 5))
        try FileManager.default.copyItem(at: run.checkpointFolder.appendingPathComponent("latest.safetensors"), to: stale)
        try run.store.deleteCheckpoints(experimentID: run.id, afterEpoch: latest.epoch - 1)
        #expect(try run.store.latestCheckpoint(experimentID: run.id)?.epoch == latest.epoch - 1)
        try run.store.resume(id: run.id)

        _ = try run.train(resuming: true) { $0.epoch > latest.epoch + 1 }
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        let restored = try #require(try run.store.checkpoints(experimentID: run.id).first { $0.epoch == latest.epoch })
        #expect(restored.environmentSteps == latest.environmentSteps && restored.gradientSteps == latest.gradientSteps)
        let evaluated = try run.store.series(experimentID: run.id, key: "val/return", axis: .epoch)
            .samples.last { $0.x <= Double(latest.epoch) }
        #expect(restored.evalReturn != nil && restored.evalReturn == evaluated?.mean)
        try run.expectRecordsMatchFiles()
    }
}
