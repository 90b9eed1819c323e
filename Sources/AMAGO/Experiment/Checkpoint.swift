import Autograd
import Foundation
import NeuralNet

/// A checkpoint: one safetensors file holding the agent's full state (encoders, actor, critics,
/// target and frozen copies, InputNorm and σ-reparam buffers under `model.`; PopArt under
/// `popart.`), the optimizer's moments under `optimizer.`, and in its metadata the epoch,
/// counters and format version (spec §6.7). The replay buffer stays on disk beside it.
public struct Checkpoint {
    /// Completed epoch, env steps and gradient steps at the time of saving.
    public var epoch: Int, environmentSteps: Int, gradientSteps: Int
    /// Seconds of training since the experiment first started, at the time of saving (0 in
    /// files written before the count was kept).
    public var wallTime: Double = 0
    static let formatVersion = "1"

    /// Writes the state of `learner` (atomically: a crash never leaves half a file).
    public static func save(_ learner: Learner, epoch: Int, environmentSteps: Int, gradientSteps: Int, wallTime: Double,
                            to url: URL) throws {
        let agent = learner.agent
        var file = ParameterFile(tensors: agent.exportTensors(prefix: "model."), metadata: [
            "format": "amago-checkpoint", "version": formatVersion, "epoch": String(epoch),
            "env_steps": String(environmentSteps), "gradient_steps": String(gradientSteps), "wall_time": String(wallTime),
            "popart.counter": String(agent.popArt.counter),
        ])
        let p = agent.popArt, g = p.mean.count
        for (name, values) in [("mean", p.mean), ("second_moment", p.secondMoment), ("scale", p.scale), ("shift", p.shift)] {
            file.tensors.append(("popart.\(name)", [g], values))
        }
        let state = learner.optimizer.exportState()
        file.tensors += state.tensors
        file.metadata.merge(state.metadata) { $1 }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try file.write(to: url)
    }

    /// Restores a learner's agent and optimizer from `url`; checks everything before changing anything.
    @discardableResult
    public static func load(into learner: Learner, from url: URL) throws -> Checkpoint {
        let file = try ParameterFile.read(from: url)
        let saved = try counters(file.metadata, of: url)
        guard let counter = file.metadata["popart.counter"].flatMap(Float.init) else {
            throw NeuralNetError.malformedFile("\(url.lastPathComponent) is not an experiment checkpoint")
        }
        let g = learner.agent.popArt.mean.count
        let popart = try ["mean", "second_moment", "scale", "shift"].map { name -> [Float] in
            guard let t = file.tensor(named: "popart.\(name)") else { throw NeuralNetError.missingTensor("popart.\(name)") }
            guard t.shape == [g] else { throw NeuralNetError.shapeMismatch(name: "popart.\(name)", expected: [g], found: t.shape) }
            return t.data
        }
        try learner.agent.importTensors(from: file, prefix: "model.")
        try learner.optimizer.importState(from: file)
        try learner.agent.popArt.restore(mean: popart[0], secondMoment: popart[1], scale: popart[2], shift: popart[3], counter: counter)
        return saved
    }

    /// The epoch and counters a checkpoint file was saved with, from its header alone.
    public static func counters(at url: URL) throws -> Checkpoint {
        try counters(ParameterFile.readMetadata(from: url), of: url)
    }

    static func counters(_ metadata: [String: String], of url: URL) throws -> Checkpoint {
        guard metadata["format"] == "amago-checkpoint", let epoch = metadata["epoch"].flatMap(Int.init),
              let envSteps = metadata["env_steps"].flatMap(Int.init),
              let gradientSteps = metadata["gradient_steps"].flatMap(Int.init) else {
            throw NeuralNetError.malformedFile("\(url.lastPathComponent) is not an experiment checkpoint")
        }
        return Checkpoint(epoch: epoch, environmentSteps: envSteps, gradientSteps: gradientSteps,
                          wallTime: metadata["wall_time"].flatMap(Double.init) ?? 0)
    }

    /// Loads only the agent's weights and buffers (for serving a policy).
    public static func loadWeights(into agent: Agent, from url: URL) throws {
        let file = try ParameterFile.read(from: url)
        try agent.importTensors(from: file, prefix: "model.")
        if let counter = file.metadata["popart.counter"].flatMap(Float.init),
           let m = file.tensor(named: "popart.mean"), let v = file.tensor(named: "popart.second_moment"),
           let w = file.tensor(named: "popart.scale"), let b = file.tensor(named: "popart.shift") {
            try agent.popArt.restore(mean: m.data, secondMoment: v.data, scale: w.data, shift: b.data, counter: counter)
        }
    }
}

/// One value of one metric, with every x-axis it may be plotted against.
public struct MetricPoint: Equatable, Sendable {
    /// A fixed, path-like key: `train/critic_loss`, `val/return`, `charts/env_steps`, …
    public var key: String
    public var value: Double
    public var environmentSteps: Int, gradientSteps: Int, epoch: Int
    /// Seconds since the experiment (first) started.
    public var wallTime: Double
}

/// Where an experiment's metrics go (a database, a file, a terminal); the loop knows nothing
/// of SQL or HTTP.
public protocol MetricSink: AnyObject {
    /// Stores a batch of points.
    func record(_ points: [MetricPoint]) throws
    /// Forgets the points recorded after `epoch`: a resumed run repeats what followed its
    /// checkpoint, and the history must not hold those epochs twice.
    func discardPoints(afterEpoch epoch: Int) throws
}

extension MetricSink {
    /// Sinks that keep nothing have nothing to discard.
    public func discardPoints(afterEpoch epoch: Int) throws {}
}

/// Keeps metrics in memory (for tests and the CLI's summary).
public final class MemoryMetricSink: MetricSink {
    public private(set) var points: [MetricPoint] = []
    public init() {}
    public func record(_ points: [MetricPoint]) throws { self.points += points }
    public func discardPoints(afterEpoch epoch: Int) throws { points.removeAll { $0.epoch > epoch } }
    /// The values of `key` in the order they were recorded.
    public func series(_ key: String) -> [Double] { points.filter { $0.key == key }.map(\.value) }
}
