import AMAGO
import Autograd
import Environments
import Foundation
import Testing

@Suite struct ExperimentTests {
    static func tinySpec() -> ExperimentSpec {
        var s = ExperimentSpec()
        s.environment = "tmaze_passive"
        s.environmentParameters = ["corridor_length": .number(3)]
        s.model.dModel = 16; s.model.layers = 1; s.model.heads = 2; s.model.dFeedForward = 32
        s.model.timestepHidden = 16; s.model.timestepOutput = 16; s.model.actorHidden = 16; s.model.criticHidden = 16
        s.agent.critics = 2
        s.schedule.epochs = 4; s.schedule.parallelActors = 2; s.schedule.timestepsPerEpoch = 12
        s.schedule.batchesPerEpoch = 3; s.schedule.batchSize = 4; s.schedule.maxSequenceLength = 8
        s.evaluation.interval = 2; s.evaluation.timesteps = 12; s.evaluation.actors = 2
        s.checkpointInterval = 2
        return s
    }

    func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("amago-exp-\(UUID().uuidString)")
    }

    /// Spec §9 item 34: env steps and optimizer steps per epoch; evaluation and checkpoints on
    /// their intervals; every metric point carries every x-axis.
    @Test func loop_collectsTrainsEvaluatesAndCheckpoints() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sink = MemoryMetricSink()
        let experiment = try Experiment(spec: Self.tinySpec(), directory: folder, sink: sink)
        var phases: [String] = []
        experiment.onProgress = { phases.append($0.phase) }
        let outcome = try experiment.run()
        #expect(!outcome.stopped && outcome.epochsCompleted == 4)
        #expect(outcome.environmentSteps == 4 * 2 * 12)
        #expect(outcome.gradientSteps <= 4 * 3 && outcome.gradientSteps >= 3)
        #expect(FileManager.default.fileExists(atPath: experiment.latestCheckpoint.path))
        #expect(!sink.series("val/return").isEmpty && !sink.series("train/critic_loss").isEmpty)
        #expect(sink.series("charts/env_steps") == sink.series("charts/env_steps").sorted())
        #expect(phases.contains("collecting") && phases.contains("training") && phases.last == "finished")
        let spec = try ExperimentSpec(json: try Data(contentsOf: folder.appendingPathComponent("spec.json")))
        #expect(spec == Self.tinySpec())
    }

    /// Stopping writes a checkpoint; resuming restores weights and optimizer and goes on from the
    /// next epoch with the counters kept.
    @Test func stopAndResume_continueFromTheCheckpoint() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var spec = Self.tinySpec()
        spec.evaluation.interval = 0
        let first = try Experiment(spec: spec, directory: folder)
        var epochsSeen = 0
        first.onProgress = { if $0.phase == "training" { epochsSeen += 1 } }
        let stopped = try first.run(shouldStop: { epochsSeen >= 3 })
        #expect(stopped.stopped && stopped.lastCheckpoint != nil)
        let weights = first.agent.namedTensors().map(\.tensor.data)
        let steps = first.learner.optimizer.stepCount

        let second = try Experiment(spec: spec, directory: folder)
        var startEpoch: Int?
        second.onProgress = { if startEpoch == nil { startEpoch = $0.epoch } }
        let finished = try second.run(resume: true)
        #expect(!finished.stopped && finished.epochsCompleted == 4)
        #expect(startEpoch == 2, "resumed at epoch \(String(describing: startEpoch))")
        #expect(finished.environmentSteps > stopped.environmentSteps)
        #expect(finished.gradientSteps > stopped.gradientSteps)

        // A fresh learner loads exactly what was saved.
        let third = try Experiment(spec: spec, directory: folder)
        try Checkpoint.load(into: third.learner, from: stopped.lastCheckpoint!)
        #expect(third.agent.namedTensors().map(\.tensor.data) == weights)
        #expect(third.learner.optimizer.stepCount == steps)
    }
}
