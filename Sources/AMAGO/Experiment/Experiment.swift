import Autograd
import Environments
import Foundation
import JSON

/// Where a running experiment is, for progress lines, the API and the dashboard.
public struct ExperimentProgress: Sendable {
    /// The epoch under way and the total.
    public var epoch: Int, epochs: Int
    public var environmentSteps: Int, gradientSteps: Int
    /// `collecting`, `training`, `evaluating`, `checkpointing` or `finished`.
    public var phase: String
    /// The latest evaluation (else training) return and success rate.
    public var lastReturn: Double?, lastSuccessRate: Double?
    /// Env steps per second of the last collection phase.
    public var stepsPerSecond: Double
    /// Estimated seconds to the end, from the mean epoch time so far.
    public var etaSeconds: Double?
    /// Fraction of epochs done, 0…1.
    public var fraction: Double { Double(epoch) / Double(max(epochs, 1)) }
}

/// How a run ended.
public struct ExperimentOutcome: Sendable {
    public var epochsCompleted: Int, environmentSteps: Int, gradientSteps: Int
    /// True when `shouldStop` asked the run to end early (a checkpoint was written first).
    public var stopped: Bool
    public var lastCheckpoint: URL?
}

/// Runs an experiment (spec §6.3): epochs of collection, then gradient updates, with evaluation
/// and checkpoints on their intervals. Everything lives in one run folder (`RunFolder`).
public final class Experiment {
    public let spec: ExperimentSpec
    /// The run's folder and its layout.
    public let folder: RunFolder
    /// The run's folder.
    public var directory: URL { folder.url }
    public let agent: Agent
    public let learner: Learner
    let buffer: ReplayBuffer
    let relabeler: (any Relabeler)?
    let sink: MetricSink?
    let rng: RandomGenerator
    /// Collection over HTTP, for an experiment on an external environment (nil otherwise).
    public let collection: ExternalCollection?
    /// The policy that collects and evaluates built-in environments: a frozen copy of `agent`
    /// taken before each collection phase, so collection can run while `agent` trains.
    let actingAgent: Agent
    /// The exploration noise's own generator (the learner's `rng` samples batches meanwhile).
    let explorationRNG: RandomGenerator
    /// Called whenever the phase changes and after every epoch.
    public var onProgress: ((ExperimentProgress) -> Void)?
    /// Whether the next epoch's collection (and evaluation) runs while this epoch trains, with a
    /// policy lag of one epoch (the default); off, every epoch collects and then trains, which
    /// `amago bench epoch` uses to time the training phase alone.
    public var overlapsCollection = true
    public private(set) var epoch = 0, environmentSteps = 0, gradientSteps = 0
    var lastReturn: Double?, lastSuccess: Double?, stepsPerSecond = 0.0
    /// Training seconds of earlier processes of this run, less the set-up time of this one
    /// before it resumed (so `wallTime` continues where the checkpoint left off).
    var elapsedBefore = 0.0, epochSeconds: [Double] = []
    let started = Date()
    /// Seconds of training since the experiment first started: every metric's `wall_time`.
    var wallTime: Double { Date().timeIntervalSince(started) + elapsedBefore }

    /// Sets up the agent, optimizer and replay buffer in `directory` (created if needed).
    /// - Parameter collectionIdleTimeout: for external environments, seconds after which an
    ///   unused collection session expires.
    public init(spec: ExperimentSpec, directory: URL, sink: MetricSink? = nil, collectionIdleTimeout: TimeInterval = 15 * 60) throws {
        self.spec = spec
        folder = RunFolder(directory)
        self.sink = sink
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let probe = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters, seed: spec.seed)
        relabeler = spec.relabeling == "none" ? nil : try Experiment.makeRelabeler(spec, probe)
        let width = relabeler?.observationWidth(stored: probe.observationSize) ?? probe.observationSize
        agent = try Agent(observationWidth: width, actionSpace: probe.actionSpace, configuration: spec.agentConfiguration(), seed: spec.seed)
        learner = Learner(agent: agent, optimizer: spec.optimizerConfiguration())
        buffer = try ReplayBuffer(directory: folder.buffer, capacity: spec.schedule.bufferCapacity)
        rng = RandomGenerator(seed: spec.seed &+ 0x5EED)
        explorationRNG = RandomGenerator(seed: spec.seed &+ 0xE8F1)
        actingAgent = try Agent(observationWidth: width, actionSpace: probe.actionSpace, configuration: spec.agentConfiguration(),
                                seed: spec.seed &+ 0xAC7)
        if let external = probe as? ExternalEnvironment {
            collection = try ExternalCollection(spec: spec, parameters: external.parameters, learnerAgent: agent, buffer: buffer,
                                                collectedSteps: 0, idleTimeout: collectionIdleTimeout)
        } else {
            collection = nil
        }
        try spec.encoded().write(to: folder.spec, options: .atomic)
    }

    static func makeRelabeler(_ spec: ExperimentSpec, _ env: any Environment) throws -> any Relabeler {
        guard let maze = env as? MazeRunner, let strategy = RelabelStrategy(rawValue: spec.relabeling) else {
            throw ExperimentSpecError.invalid([FieldError(field: "relabeling.strategy", expected: "none unless the environment is mazerunner")])
        }
        return MazeRunnerRelabeler(goals: maze.parameters.numGoals, strategy: strategy, mazeDim: maze.parameters.mazeDim)
    }

    /// Whether the data folder holds a run that `run(resume: true)` would continue.
    public var hasCheckpoint: Bool { FileManager.default.fileExists(atPath: latestCheckpoint.path) }

    /// The checkpoint rewritten at every save.
    public var latestCheckpoint: URL { folder.latestCheckpoint }

    /// Runs from the start, or from the latest checkpoint when `resume` is set and one exists.
    /// `shouldStop` is polled between env steps and between gradient steps; when it returns
    /// true the run writes a checkpoint and returns.
    public func run(resume: Bool = false, shouldStop: @escaping () -> Bool = { false }) throws -> ExperimentOutcome {
        if resume, !FileManager.default.fileExists(atPath: latestCheckpoint.path) {
            try sink?.discardPoints(afterEpoch: -1)  // nothing was kept: start over, history included
        }
        if resume, FileManager.default.fileExists(atPath: latestCheckpoint.path) {
            let saved = try Checkpoint.load(into: learner, from: latestCheckpoint)
            // The checkpoint closes its epoch (collection and training done), so the run goes on
            // with the next one rather than collecting that epoch again (spec §11 item 17).
            (epoch, environmentSteps, gradientSteps) = (saved.epoch + 1, saved.environmentSteps, saved.gradientSteps)
            elapsedBefore = saved.wallTime - Date().timeIntervalSince(started)
            agent.reseed(spec.seed &+ UInt64(epoch))
            try sink?.discardPoints(afterEpoch: saved.epoch)
        }
        if let collection {
            try collection.refresh(from: agent, epoch: epoch, environmentSteps: environmentSteps)
            return try runExternal(collection, shouldStop: shouldStop)
        }
        let s = spec.schedule
        let trainers = try ActorGroup(environments: makeEnvironments(count: s.parallelActors, seedOffset: 0), agent: actingAgent,
                                      seed: spec.seed &* 1_000 &+ UInt64(epoch))
        let exploration = Exploration(schedule: spec.explorationSchedule(), actors: s.parallelActors, using: explorationRNG)
        var lastSaved: URL?
        // The next epoch's collection (and evaluation when due) runs while this epoch trains.
        var background: BackgroundWork<CollectedEpoch>?
        defer { _ = try? background?.wait() }  // an early exit leaves no collection running
        while epoch < s.epochs {
            let epochStart = Date()
            let collected: CollectedEpoch
            if let pending = background {
                background = nil
                collected = try pending.wait()
            } else {
                try actingAgent.copyWeights(from: agent)
                report("collecting")
                collected = try collectEpoch(evaluating: evaluationDue(epoch), trainers, exploration: exploration, shouldStop: shouldStop)
            }
            try record(collected, shouldStop: shouldStop)
            if shouldStop() { return try stop(&lastSaved) }
            let statistics = try buffer.endCollection()
            try record(["buffer/files": Double(statistics.totalFiles), "buffer/deleted": Double(statistics.deletedFiles)])
            if epoch + 1 < s.epochs, overlapsCollection {
                // The policy as it is before this epoch's training: its lag is one epoch.
                try actingAgent.copyWeights(from: agent)
                let next = epoch + 1
                background = BackgroundWork { [self] in
                    try collectEpoch(evaluating: evaluationDue(next), trainers, exploration: exploration, shouldStop: shouldStop)
                }
            }
            // Spec §6.3 step 5: with too little data there is no training and no checkpoint.
            guard buffer.isReadyForTraining, epoch >= s.startLearningAtEpoch else { epoch += 1; continue }
            try train(shouldStop: shouldStop)
            if shouldStop() { return try stop(&lastSaved) }
            epochSeconds.append(Date().timeIntervalSince(epochStart))
            // The epoch's metrics are recorded before its checkpoint, so a checkpoint always
            // implies a complete history up to it.
            try record(["charts/epoch": Double(epoch), "perf/epoch_seconds": epochSeconds.last!])
            if epoch % spec.checkpointInterval == 0 || epoch == s.epochs - 1 { lastSaved = try checkpoint() }
            report("collecting")
            epoch += 1
        }
        if spec.evaluation.interval > 0 { try evaluate(shouldStop: shouldStop) }
        report("finished")
        return ExperimentOutcome(epochsCompleted: epoch, environmentSteps: environmentSteps, gradientSteps: gradientSteps,
                                 stopped: false, lastCheckpoint: lastSaved)
    }

    /// Whether the epoch starts with an evaluation.
    func evaluationDue(_ epoch: Int) -> Bool { spec.evaluation.interval > 0 && epoch % spec.evaluation.interval == 0 }

    /// What one epoch's collection phase saw, recorded by the epoch loop.
    struct CollectedEpoch {
        var evaluation: [String: Double]?
        var training: [String: Double] = [:]
        var steps = 0
        var seconds = 0.0
    }

    /// An epoch's evaluation (when due) and collection with `actingAgent`; records nothing, so it
    /// may run beside training.
    func collectEpoch(evaluating: Bool, _ trainers: ActorGroup, exploration: Exploration,
                      shouldStop: @escaping () -> Bool) throws -> CollectedEpoch {
        var out = CollectedEpoch()
        if evaluating { out.evaluation = try evaluationValues(shouldStop: shouldStop) }
        if shouldStop() { return out }
        let start = Date()
        let stats = try trainers.run(steps: spec.schedule.timestepsPerEpoch, agent: actingAgent, sample: true, exploration: exploration,
                                     shouldStop: shouldStop) { trajectory, name in try buffer.add(trajectory, environmentName: name) }
        out.steps = stats.steps
        out.seconds = Date().timeIntervalSince(start)
        out.training = stats.points(prefix: "train")
        return out
    }

    /// Records a collection phase's metrics under the epoch that used its data.
    func record(_ collected: CollectedEpoch, shouldStop: () -> Bool) throws {
        if let values = collected.evaluation {
            lastReturn = values["val/return"] ?? lastReturn
            lastSuccess = values["val/success_rate"] ?? lastSuccess
            try record(values)
        }
        environmentSteps += collected.steps
        stepsPerSecond = Double(collected.steps) / max(collected.seconds, 1e-9)
        var values = collected.training
        values["perf/steps_per_second"] = stepsPerSecond
        values["charts/env_steps"] = Double(environmentSteps)
        if lastReturn == nil, let r = values["train/return"] { lastReturn = r }
        try record(values)
    }

    func stop(_ lastSaved: inout URL?) throws -> ExperimentOutcome {
        if gradientSteps > 0 { lastSaved = try checkpoint(closingEpoch: epoch - 1) }
        return ExperimentOutcome(epochsCompleted: epoch, environmentSteps: environmentSteps, gradientSteps: gradientSteps,
                                 stopped: true, lastCheckpoint: lastSaved)
    }

    func makeEnvironments(count: Int, seedOffset: UInt64) throws -> VectorEnvironment {
        try VectorEnvironment(count: count) { i in
            try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters,
                                         seed: spec.seed &* 7_919 &+ seedOffset &+ UInt64(i))
        }
    }

    func train(shouldStop: () -> Bool) throws {
        report("training")
        let s = spec.schedule
        var sums: [String: Double] = [:]
        var count = 0
        let start = Date()
        for _ in 0..<s.batchesPerEpoch {
            if shouldStop() { break }
            let batch = try buffer.sampleBatch(size: s.batchSize, maxSequenceLength: s.maxSequenceLength,
                                               padding: PaddedSampling(rawValue: s.paddedSampling) ?? .none, relabeler: relabeler,
                                               discreteActions: agent.actionSpace.isDiscrete, using: rng)
            let metrics = try learner.step(batch)
            guard metrics.values.allSatisfy(\.isFinite) else {
                throw AMAGOError.invalidBatch("training diverged at gradient step \(gradientSteps + 1): a loss or gradient is not finite")
            }
            for (k, v) in metrics { sums[k, default: 0] += Double(v) }
            count += 1
            gradientSteps += 1
        }
        guard count > 0 else { return }
        var values = sums.mapValues { $0 / Double(count) }
        values["perf/updates_per_second"] = Double(count) / max(Date().timeIntervalSince(start), 1e-9)
        values["charts/gradient_steps"] = Double(gradientSteps)
        try record(values)
    }

    /// Runs the current policy without exploration on fresh evaluation environments and records
    /// the results.
    public func evaluate(shouldStop: @escaping () -> Bool = { false }) throws {
        report("evaluating")
        try actingAgent.copyWeights(from: agent)
        let values = try evaluationValues(shouldStop: shouldStop)
        lastReturn = values["val/return"] ?? lastReturn
        lastSuccess = values["val/success_rate"] ?? lastSuccess
        try record(values)
    }

    /// An evaluation of `actingAgent` on fresh environments, as metric values.
    func evaluationValues(shouldStop: @escaping () -> Bool) throws -> [String: Double] {
        let e = spec.evaluation
        let group = try ActorGroup(environments: makeEnvironments(count: e.actors, seedOffset: 1_000_003), agent: actingAgent,
                                   seed: spec.seed &* 31 &+ 1_000_003 &+ UInt64(epoch))
        let stats = try group.run(steps: e.timesteps, agent: actingAgent, sample: e.sample, exploration: nil, shouldStop: shouldStop) { _, _ in }
        return stats.points(prefix: "val")
    }

    /// Saves the full training state as this epoch's checkpoint and as `latest`.
    @discardableResult
    public func checkpoint(closingEpoch: Int? = nil) throws -> URL {
        report("checkpointing")
        let e = closingEpoch ?? epoch
        let url = folder.checkpoint(epoch: e)
        try Checkpoint.save(learner, epoch: e, environmentSteps: environmentSteps, gradientSteps: gradientSteps,
                            wallTime: wallTime, to: url)
        // Copy, then rename over `latest`: a crash at any moment leaves the old or the new one whole.
        let staging = folder.latestStaging
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.copyItem(at: url, to: staging)
        guard rename(staging.path, latestCheckpoint.path) == 0 else {
            throw AMAGOError.replayStorage(path: latestCheckpoint.path, message: "cannot replace the latest checkpoint (errno \(errno))")
        }
        return url
    }

    func record(_ values: [String: Double]) throws {
        let wall = wallTime
        try sink?.record(values.sorted { $0.key < $1.key }.map {
            MetricPoint(key: $0.key, value: $0.value, environmentSteps: environmentSteps, gradientSteps: gradientSteps,
                        epoch: epoch, wallTime: wall)
        })
    }

    func report(_ phase: String) {
        let mean = epochSeconds.isEmpty ? nil : epochSeconds.reduce(0, +) / Double(epochSeconds.count)
        let eta = mean.map { $0 * Double(max(spec.schedule.epochs - epoch - 1, 0)) }
        onProgress?(ExperimentProgress(epoch: epoch, epochs: spec.schedule.epochs, environmentSteps: environmentSteps,
                                       gradientSteps: gradientSteps, phase: phase, lastReturn: lastReturn,
                                       lastSuccessRate: lastSuccess, stepsPerSecond: stepsPerSecond, etaSeconds: eta))
    }
}

extension Experiment {
    /// The epoch loop of an external environment: wait until clients have collected the epoch's
    /// steps (or, offline, until uploaded episodes make the buffer ready), record what their
    /// trials reported, train, refresh the collecting policy, checkpoint.
    func runExternal(_ collection: ExternalCollection, shouldStop: @escaping () -> Bool) throws -> ExperimentOutcome {
        defer { collection.close() }
        let s = spec.schedule
        var lastSaved: URL?
        while epoch < s.epochs {
            let epochStart = Date()
            let phase = collection.quota > 0 ? "waiting_for_clients" : "waiting_for_data"
            report(phase)
            let ready: () throws -> Bool = collection.quota > 0 ? { collection.quotaReached } : {
                _ = try collection.excludingUploads { try self.buffer.endCollection() }
                return self.buffer.isReadyForTraining
            }
            let waiting = {
                self.environmentSteps = collection.environmentSteps
                self.stepsPerSecond = collection.status.stepsPerSecond
                self.report(phase)
            }
            guard try collection.wait(until: ready, shouldStop: shouldStop, waiting: waiting) else {
                environmentSteps = collection.environmentSteps
                return try stop(&lastSaved)
            }
            var values = collection.takeEpoch()
            let status = collection.status
            environmentSteps = status.environmentSteps
            stepsPerSecond = status.stepsPerSecond
            values["charts/env_steps"] = Double(environmentSteps)
            values["perf/steps_per_second"] = stepsPerSecond
            values["collection/sessions"] = Double(status.sessions)
            lastReturn = values["val/return"] ?? values["train/return"] ?? lastReturn
            lastSuccess = values["val/success_rate"] ?? lastSuccess
            try record(values)
            let statistics = try collection.excludingUploads { try buffer.endCollection() }
            try record(["buffer/files": Double(statistics.totalFiles), "buffer/deleted": Double(statistics.deletedFiles)])
            guard buffer.isReadyForTraining, epoch >= s.startLearningAtEpoch else { epoch += 1; continue }
            try train(shouldStop: shouldStop)
            if shouldStop() { return try stop(&lastSaved) }
            try collection.refresh(from: agent, epoch: epoch + 1)
            epochSeconds.append(Date().timeIntervalSince(epochStart))
            try record(["charts/epoch": Double(epoch), "perf/epoch_seconds": epochSeconds.last!])
            if epoch % spec.checkpointInterval == 0 || epoch == s.epochs - 1 { lastSaved = try checkpoint() }
            epoch += 1
        }
        report("finished")
        return ExperimentOutcome(epochsCompleted: epoch, environmentSteps: environmentSteps, gradientSteps: gradientSteps,
                                 stopped: false, lastCheckpoint: lastSaved)
    }
}
