import AMAGO
import Foundation
import Jobs
import Storage

/// Runs queued experiments with the AMAGO trainer, each in `<data>/experiments/<id>/`.
///
/// Metrics go to the database through `StoreMetricSink`; every checkpoint file the trainer
/// writes is recorded (`Store.upsertCheckpoint`) under its path relative to the data folder.
public struct TrainerRunner: JobRunner {
    /// The database the pool claims from.
    public let store: Store
    /// The data folder; checkpoint paths are relative to it.
    public let dataDirectory: URL
    /// Applies a job's compute-thread budget (the executable sets the BLAS thread count).
    public let setThreadCount: @Sendable (Int) -> Void
    /// Where running external experiments register their collection for the API.
    public let collections: CollectionHub
    /// Seconds after which an unused collection session expires.
    public let collectionIdleTimeout: TimeInterval

    /// Creates a runner.
    /// - Parameters:
    ///   - setThreadCount: called with `JobControl.threadsPerJob` before each job trains.
    public init(store: Store, dataDirectory: URL, setThreadCount: @escaping @Sendable (Int) -> Void = { _ in },
                collections: CollectionHub = CollectionHub(), collectionIdleTimeout: TimeInterval = 15 * 60) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.setThreadCount = setThreadCount
        self.collections = collections
        self.collectionIdleTimeout = collectionIdleTimeout
    }

    /// The folder of one experiment's buffer and checkpoints.
    public func folder(of experimentID: String) -> RunFolder {
        RunFolder(dataDirectory: dataDirectory, experimentID: experimentID)
    }

    /// Trains `job` until it finishes or `control.shouldStop`.
    public func run(_ job: ExperimentRecord, control: JobControl) throws -> JobOutcome {
        let spec = try ExperimentSpec(json: Data(job.spec.utf8))
        setThreadCount(control.threadsPerJob)
        let folder = folder(of: job.id)
        if control.isResuming {
            // The job may have last run on another host: continue from the newest checkpoint.
            try CheckpointFiles.restoreLatest(experimentID: job.id, run: folder, store: store, dataDirectory: dataDirectory)
        }
        let sink = StoreMetricSink(store: store, experimentID: job.id, run: folder)
        let trainer = try Experiment(spec: spec, directory: folder.url, sink: sink, collectionIdleTimeout: collectionIdleTimeout)
        if let collection = trainer.collection { collections.register(collection, for: job.id) }
        defer {
            trainer.collection?.close()
            collections.remove(job.id)
        }
        let registrar = CheckpointRegistrar(store: store, experimentID: job.id, run: folder)
        var progressError: Error?
        trainer.onProgress = { progress in
            do {
                try registrar.registerNewFiles()
                registrar.lastProgress = progress
                try control.reportProgress(Self.storageProgress(progress))
            } catch {
                progressError = progressError ?? error
            }
        }
        let outcome = try trainer.run(resume: control.isResuming, shouldStop: { control.shouldStop || progressError != nil })
        try registrar.registerNewFiles()
        if let progressError { throw progressError }
        return outcome.stopped ? .stopped : .completed
    }

    /// Records the checkpoint files in an experiment's folder that the database lacks, as a
    /// training run does after each save.
    public func registerCheckpoints(experimentID: String) throws {
        try CheckpointRegistrar(store: store, experimentID: experimentID, run: folder(of: experimentID)).registerNewFiles()
    }

    /// A job whose spec no longer parses cannot continue after a crash.
    public func recoveryDecision(for job: ExperimentRecord) -> RecoveryDecision {
        do {
            _ = try ExperimentSpec(json: Data(job.spec.utf8))
            return .resume
        } catch {
            return .fail(reason: "the stored spec is no longer valid: \(error)")
        }
    }

    /// The trainer's progress in the database's terms.
    static func storageProgress(_ p: ExperimentProgress) -> ProgressRecord {
        ProgressRecord(epoch: p.epoch, epochs: p.epochs, environmentSteps: p.environmentSteps,
                                   gradientSteps: p.gradientSteps, phase: p.phase, etaSeconds: p.etaSeconds,
                                   lastReturn: p.lastReturn, lastSuccessRate: p.lastSuccessRate)
    }
}

/// Keeps the database's checkpoint records in step with the `epoch_NNNNNN.safetensors` files
/// the trainer writes.
///
/// A record takes its epoch and step counts from the file's own header, so it is right whenever
/// it is written (after a crash the first file seen may predate this process). A file saved again
/// under the same name (a stop re-saves the epoch it closes) updates its record in place. The
/// evaluation return is not in the file: it comes from the `checkpointing` progress report that
/// preceded the save, when that report's counters match the file's.
final class CheckpointRegistrar {
    /// What identifies one version of a file on disk.
    struct FileVersion: Equatable {
        var size: Int, modified: Date?, inode: Int?
    }

    let store: Store
    let experimentID: String
    let run: RunFolder
    /// The records' paths are relative to the data folder: `experiments/<id>/checkpoints/<name>`.
    let prefix: String
    var lastProgress: ExperimentProgress?
    /// The file versions already recorded, by file name.
    var recorded: [String: FileVersion] = [:]

    init(store: Store, experimentID: String, run: RunFolder) {
        self.store = store
        self.experimentID = experimentID
        self.run = run
        self.prefix = RunFolder.relativePath(experimentID: experimentID) + "/" + run.checkpoints.lastPathComponent + "/"
    }

    /// Records checkpoint files that are new or were rewritten since they were last recorded.
    /// The database is read afresh: a resume may have deleted records of files about to be written again.
    func registerNewFiles() throws {
        let records = Dictionary(try store.checkpoints(experimentID: experimentID).map { ($0.path, $0) }) { a, _ in a }
        for (_, name) in run.checkpointFiles() {
            let url = run.checkpoints.appendingPathComponent(name)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { continue }
            let version = FileVersion(size: (attributes[.size] as? NSNumber)?.intValue ?? 0,
                                      modified: attributes[.modificationDate] as? Date,
                                      inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
            let record = records[prefix + name]
            if recorded[name] == version, record != nil { continue }
            // Files are written whole (atomically), so an unreadable one is not a checkpoint.
            guard let saved = try? Checkpoint.counters(at: url) else { continue }
            var evalReturn = record?.evalReturn
            if let p = lastProgress, p.environmentSteps == saved.environmentSteps, p.gradientSteps == saved.gradientSteps {
                evalReturn = p.lastReturn
            } else if record == nil {
                evalReturn = recordedReturn(atOrBefore: saved.epoch)  // saved by a process that died before recording it
            }
            let new = NewCheckpoint(epoch: saved.epoch, environmentSteps: saved.environmentSteps, gradientSteps: saved.gradientSteps,
                                    evalReturn: evalReturn, path: prefix + name, sizeBytes: version.size)
            var stored = record
            if stored == nil || stored?.epoch != new.epoch || stored?.environmentSteps != new.environmentSteps
                || stored?.gradientSteps != new.gradientSteps || stored?.evalReturn != new.evalReturn || stored?.sizeBytes != new.sizeBytes {
                stored = try store.upsertCheckpoint(new, experimentID: experimentID)
            }
            // A new version of the file (even one its record already describes) replaces the shared copy.
            if let stored { try CheckpointFiles.share(stored, file: url, store: store) }
            recorded[name] = version
        }
    }

    /// The last evaluation return recorded up to `epoch`, if any.
    func recordedReturn(atOrBefore epoch: Int) -> Double? {
        let series = try? store.series(experimentID: experimentID, key: "val/return", axis: .epoch)
        return series?.samples.last { $0.x <= Double(epoch) }.map(\.mean)
    }
}
