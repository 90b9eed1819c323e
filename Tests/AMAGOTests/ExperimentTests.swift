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
        let sink = MemoryMetricSink()
        let first = try Experiment(spec: spec, directory: folder, sink: sink)
        var epochsSeen = 0
        first.onProgress = { if $0.phase == "training" { epochsSeen += 1 } }
        let stopped = try first.run(shouldStop: { epochsSeen >= 3 })
        #expect(stopped.stopped && stopped.lastCheckpoint != nil)
        let weights = first.agent.namedTensors().map(\.tensor.data)
        let steps = first.learner.optimizer.stepCount

        let second = try Experiment(spec: spec, directory: folder, sink: sink)
        var startEpoch: Int?
        second.onProgress = { if startEpoch == nil { startEpoch = $0.epoch } }
        let finished = try second.run(resume: true)
        #expect(!finished.stopped && finished.epochsCompleted == 4)
        #expect(startEpoch == 2, "resumed at epoch \(String(describing: startEpoch))")
        #expect(finished.environmentSteps > stopped.environmentSteps)
        #expect(finished.gradientSteps > stopped.gradientSteps)
        // wall_time counts training seconds since the first start: the resumed run goes on
        // from the checkpoint's count instead of starting again at 0.
        let walls = sink.points.map(\.wallTime)
        #expect(walls.count > 10 && zip(walls, walls.dropFirst()).allSatisfy { $0 <= $1 }, "wall times \(walls)")

        // A fresh learner loads exactly what was saved.
        let third = try Experiment(spec: spec, directory: folder)
        try Checkpoint.load(into: third.learner, from: stopped.lastCheckpoint!)
        #expect(third.agent.namedTensors().map(\.tensor.data) == weights)
        #expect(third.learner.optimizer.stepCount == steps)
    }
}

@Suite struct ExperimentRecoveryTests {
    /// Spec §4 item 3: the same spec and seed, with one BLAS thread, give identical metrics
    /// (timing metrics excepted).
    @Test func sameSeed_givesIdenticalMetrics() throws {
        func run() throws -> [String] {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-det-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let sink = MemoryMetricSink()
            _ = try Experiment(spec: ExperimentTests.tinySpec(), directory: folder, sink: sink).run()
            return sink.points.filter { !$0.key.hasPrefix("perf/") }
                .map { "\($0.key) \($0.value) \($0.environmentSteps) \($0.gradientSteps) \($0.epoch)" }
        }
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(before) }
        let a = try run(), b = try run()
        #expect(a.count > 20)
        #expect(a == b)
    }

    /// With the overlap off, each epoch collects with the policy its predecessor just trained
    /// (no lag): the first epoch is the overlapped run's, later ones differ, and the run is as
    /// deterministic and as long as the overlapped one.
    @Test func sequentialEpochs_collectWithThePolicyJustTrained() throws {
        struct Point: Equatable { var key: String, value: Double, environmentSteps: Int, gradientSteps: Int, epoch: Int }
        func run(overlap: Bool) throws -> (outcome: ExperimentOutcome, points: [Point]) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-seq-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            var spec = ExperimentTests.tinySpec()
            // A policy that moves within one epoch of training (three steps, no warm-up).
            spec.schedule.learningRate = 0.05
            spec.schedule.warmupSteps = 0
            let sink = MemoryMetricSink()
            let experiment = try Experiment(spec: spec, directory: folder, sink: sink)
            experiment.overlapsCollection = overlap
            let outcome = try experiment.run()
            return (outcome, sink.points.filter { !$0.key.hasPrefix("perf/") }.map {
                Point(key: $0.key, value: $0.value, environmentSteps: $0.environmentSteps, gradientSteps: $0.gradientSteps, epoch: $0.epoch)
            })
        }
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(before) }
        let overlapped = try run(overlap: true), sequential = try run(overlap: false), again = try run(overlap: false)
        #expect(sequential.points == again.points, "sequential runs are deterministic")
        #expect(sequential.outcome.epochsCompleted == 4 && sequential.outcome.environmentSteps == overlapped.outcome.environmentSteps
                && sequential.outcome.gradientSteps == overlapped.outcome.gradientSteps)
        let firstEpoch = { (points: [Point]) in points.filter { $0.epoch == 0 } }
        #expect(!firstEpoch(sequential.points).isEmpty && firstEpoch(sequential.points) == firstEpoch(overlapped.points),
                "epoch 0 collects with the initial policy either way")
        let later = { (points: [Point]) in points.filter { $0.epoch > 0 && $0.key.hasPrefix("train/") }.map(\.value) }
        #expect(later(sequential.points).count == later(overlapped.points).count)
        #expect(later(sequential.points) != later(overlapped.points), "later epochs train on data from a newer policy")
    }

    /// `amago train` killed with SIGKILL after a checkpoint, then resumed, ends with every epoch
    /// recorded exactly once and a replay buffer within its bound.
    @Test func killedTrainingRun_resumesWithAContinuousHistory() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("amago")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("amago binary not found beside the test bundle at \(binary.path)")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var spec = ExperimentTests.tinySpec()
        spec.schedule.epochs = 8
        spec.schedule.bufferCapacity = 10
        spec.checkpointInterval = 2
        let specURL = folder.appendingPathComponent("spec.json")
        try spec.encoded().write(to: specURL)
        let data = folder.appendingPathComponent("run")
        func launch(_ extra: [String]) throws -> Process {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["train", specURL.path, "--data", data.path, "--quiet", "--threads", "1"] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let first = try launch([])
        let marker = RunFolder(data).checkpoint(epoch: 2)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker.path) && first.isRunning && Date() < deadline { usleep(2_000) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal, "the first run finished before it could be killed")
        let second = try launch(["--resume"])
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let points = try FileMetricSink.read(RunFolder(data).metricsFile)
        let epochs = points.filter { $0.key == "charts/epoch" }.map { Int($0.value) }
        #expect(epochs == Array(0..<8), "epochs recorded: \(epochs)")
        let walls = points.map(\.wallTime)
        #expect(zip(walls, walls.dropFirst()).allSatisfy { $0 <= $1 }, "wall_time restarted after the resume: \(walls)")
        let files = points.filter { $0.key == "buffer/files" }.map(\.value)
        #expect(!files.isEmpty && files.allSatisfy { $0 <= 10 })
    }
}
