import AMAGO
import Autograd
import Environments
import Foundation
import JSON
import Testing

/// Whole experiments on small tasks with fixed seeds, asserting what was learned. Each runs in
/// well under two minutes in release mode on two cores.
@Suite(.serialized) struct LearningTests {
    static func baseSpec(_ environment: String, _ parameters: [String: JSONValue]) -> ExperimentSpec {
        var s = ExperimentSpec()
        s.seed = 1
        s.environment = environment
        s.environmentParameters = parameters
        s.model.dModel = 64; s.model.layers = 2; s.model.heads = 4; s.model.dFeedForward = 256
        s.model.timestepHidden = 64; s.model.timestepOutput = 32
        s.model.actorHidden = 128; s.model.criticHidden = 128
        s.agent.rewardMultiplier = 100
        s.schedule.learningRate = 3e-4; s.schedule.warmupSteps = 100
        s.schedule.parallelActors = 8
        s.exploration.kind = "egreedy"; s.exploration.epsilonStart = 1; s.exploration.epsilonEnd = 0.05
        s.checkpointInterval = 1000
        return s
    }

    /// Runs `spec` in a temporary folder and returns the final evaluation's metrics.
    static func train(_ spec: ExperimentSpec) throws -> [String: Double] { try trainRecording(spec).final }

    /// Runs `spec`; returns the first and the final evaluation's metrics.
    static func trainRecording(_ spec: ExperimentSpec) throws -> (first: [String: Double], final: [String: Double]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-learn-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sink = MemoryMetricSink()
        let experiment = try Experiment(spec: spec, directory: folder, sink: sink)
        _ = try experiment.run()
        let evaluations = sink.points.filter { $0.key.hasPrefix("val/") }
        func at(_ epoch: Int, last: Bool) -> [String: Double] {
            Dictionary(evaluations.filter { $0.epoch == epoch }.map { ($0.key, $0.value) }, uniquingKeysWith: { last ? $1 : $0 })
        }
        let epochs = evaluations.map(\.epoch)
        return (at(epochs.min() ?? -1, last: false), at(epochs.max() ?? -1, last: true))
    }

    /// The goal side is shown only in the first observation; the agent must carry it to the end
    /// of the corridor. The −1/H step penalty is the reference's setting for this task.
    @Test func tMazePassive_shortCorridorIsSolved() throws {
        var s = Self.baseSpec("tmaze_passive", ["corridor_length": .number(5), "penalty": .number(-1.0 / 6)])
        s.agent.gamma = 0.9999
        s.exploration.epsilonEnd = 0.01; s.exploration.annealSteps = 3000
        s.schedule.maxSequenceLength = 8; s.schedule.epochs = 30; s.schedule.timestepsPerEpoch = 30; s.schedule.batchesPerEpoch = 40
        s.evaluation.timesteps = 13; s.evaluation.actors = 16; s.evaluation.interval = 10
        let val = try Self.train(s)
        #expect((val["val/success_rate"] ?? 0) >= 0.95, "\(val)")
    }

    /// Three attempts at the same 3×3 lake per trial: what the agent learns in the first attempt
    /// must make later attempts succeed more often (in-context adaptation).
    @Test func metaFrozenLake_laterAttemptsSucceedMoreOften() throws {
        var s = Self.baseSpec("meta_frozen_lake", ["size": .number(3), "k_episodes": .number(3)])
        s.exploration.annealSteps = 10_000
        s.schedule.maxSequenceLength = 32; s.schedule.epochs = 40; s.schedule.timestepsPerEpoch = 40; s.schedule.batchesPerEpoch = 40
        s.evaluation.timesteps = 60; s.evaluation.actors = 32; s.evaluation.interval = 10
        let val = try Self.train(s)
        let first = val["val/episode_0_success"] ?? 0, last = val["val/episode_2_success"] ?? 0
        #expect(last > first + 0.1, "first attempt \(first), last attempt \(last)")
    }

    /// A memory task: answer the suit dealt 4 cards ago. The Transformer can look back; the
    /// memory-free encoder cannot beat chance (−0.5 for four suits).
    @Test func repeatPrevious_solvedWithTransformerButNotWithoutMemory() throws {
        func run(_ encoder: String) throws -> Double {
            var s = Self.baseSpec("repeat_previous", ["difficulty": .string("easy")])
            s.model.encoder = encoder
            s.exploration.annealSteps = 20_000
            s.schedule.maxSequenceLength = 64; s.schedule.epochs = 40; s.schedule.timestepsPerEpoch = 52
            s.schedule.batchesPerEpoch = 40
            s.evaluation.timesteps = 52; s.evaluation.actors = 16; s.evaluation.interval = 20
            return try Self.train(s)["val/return"] ?? -1
        }
        let transformer = try run("transformer"), memoryFree = try run("ff")
        #expect(transformer > 0.8, "Transformer return \(transformer)")
        #expect(memoryFree < 0, "memory-free return \(memoryFree)")
    }

    /// Continuous control: a point robot must find a hidden goal, then return to it on the next
    /// attempt. The trained policy must clearly beat the untrained one.
    @Test func pointRobot_returnImproves() throws {
        var s = Self.baseSpec("point_robot", ["attempts": .number(2), "steps": .number(10)])
        s.agent.rewardMultiplier = 10
        s.agent.multigamma = false  // one gamma: the continuous critic runs once per state–action, not seven times
        s.exploration.epsilonStart = 0.5; s.exploration.epsilonEnd = 0.1; s.exploration.annealSteps = 5000
        s.schedule.maxSequenceLength = 20; s.schedule.epochs = 80; s.schedule.timestepsPerEpoch = 40; s.schedule.batchesPerEpoch = 40
        s.evaluation.timesteps = 40; s.evaluation.actors = 32; s.evaluation.interval = 79
        let (first, final) = try Self.trainRecording(s)
        let before = first["val/return"] ?? 0, after = final["val/return"] ?? 0
        print("point robot: return \(before) → \(after)")
        #expect(after > before + 0.25 * Swift.abs(before), "return \(before) → \(after)")
    }
}
