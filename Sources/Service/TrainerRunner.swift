import AMAGO
import Foundation
import Jobs
import Storage

/// Runs queued experiments with the AMAGO trainer, each in `<data>/experiments/<id>/`.
///
/// Metrics go to the database through `StoreMetricSink`; every checkpoint file the trainer
/// writes is registered with `Store.addCheckpoint` under its path relative to the data folder.
public struct TrainerRunner: JobRunner {
    /// The database the pool claims from.
    public let store: Store
    /// The data folder; checkpoint paths are relative to it.
    public let dataDirectory: URL
    /// Applies a job's compute-thread budget (the executable sets the BLAS thread count).
    public let setThreadCount: @Sendable (Int) -> Void

    /// Creates a runner.
    /// - Parameters:
    ///   - setThreadCount: called with `JobControl.threadsPerJob` before each job trains.
    public init(store: Store, dataDirectory: URL, setThreadCount: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.setThreadCount = setThreadCount
    }

    /// The folder of one experiment's buffer and checkpoints.
    public func directory(of experimentID: String) -> URL {
        dataDirectory.appendingPathComponent("experiments").appendingPathComponent(experimentID)
    }

    /// Trains `job` until it finishes or `control.shouldStop`.
    public func run(_ job: Storage.Experiment, control: JobControl) throws -> JobOutcome {
        let spec = try ExperimentSpec(json: Data(job.spec.utf8))
        setThreadCount(control.threadsPerJob)
        let folder = directory(of: job.id)
        let trainer = try AMAGO.Experiment(spec: spec, directory: folder,
                                           sink: StoreMetricSink(store: store, experimentID: job.id))
        let registrar = CheckpointRegistrar(store: store, experimentID: job.id, folder: folder,
                                                dataDirectory: dataDirectory)
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
        try CheckpointRegistrar(store: store, experimentID: experimentID, folder: directory(of: experimentID),
                                dataDirectory: dataDirectory).registerNewFiles()
    }

    /// A job whose spec no longer parses cannot continue after a crash.
    public func recoveryDecision(for job: Storage.Experiment) -> RecoveryDecision {
        do {
            _ = try ExperimentSpec(json: Data(job.spec.utf8))
            return .resume
        } catch {
            return .fail(reason: "the stored spec is no longer valid: \(error)")
        }
    }

    /// The epoch of a checkpoint file the trainer writes (`epoch_000012.safetensors` → 12), or
    /// nil for other files (`latest.safetensors`, staging files).
    public static func checkpointEpoch(ofFile name: String) -> Int? {
        guard name.hasPrefix("epoch_"), name.hasSuffix(".safetensors") else { return nil }
        return Int(name.dropFirst("epoch_".count).dropLast(".safetensors".count))
    }

    /// The trainer's progress in the database's terms.
    static func storageProgress(_ p: AMAGO.ExperimentProgress) -> Storage.ExperimentProgress {
        Storage.ExperimentProgress(epoch: p.epoch, epochs: p.epochs, envSteps: p.environmentSteps,
                                   gradSteps: p.gradientSteps, phase: p.phase, etaSeconds: p.etaSeconds,
                                   lastReturn: p.lastReturn, lastSuccessRate: p.lastSuccessRate)
    }
}

/// Finds the `epoch_NNNNNN.safetensors` files the trainer wrote and records each once.
///
/// The trainer reports `checkpointing` just before it saves, so the progress seen then carries
/// the steps and evaluation return the new file holds; files are registered at the next report.
final class CheckpointRegistrar {
    let store: Store
    let experimentID: String
    let folder: URL
    let prefix: String
    var lastProgress: AMAGO.ExperimentProgress?

    init(store: Store, experimentID: String, folder: URL, dataDirectory: URL) {
        self.store = store
        self.experimentID = experimentID
        self.folder = folder.appendingPathComponent("checkpoints")
        self.prefix = "experiments/\(experimentID)/checkpoints/"
    }

    /// Registers checkpoint files not yet in the database (read afresh: a resume may have
    /// deleted records that the trainer is about to write again).
    func registerNewFiles() throws {
        var registered = Set(try store.checkpoints(experimentID: experimentID).map(\.path))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() {
            guard let epoch = TrainerRunner.checkpointEpoch(ofFile: name), !registered.contains(prefix + name) else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
            let p = lastProgress
            _ = try store.addCheckpoint(
                NewCheckpoint(epoch: epoch, envSteps: p?.environmentSteps ?? 0, gradSteps: p?.gradientSteps ?? 0,
                              evalReturn: p?.lastReturn, path: prefix + name, sizeBytes: size),
                experimentID: experimentID)
            registered.insert(prefix + name)
        }
    }
}
