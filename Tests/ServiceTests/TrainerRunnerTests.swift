import AMAGO
import Environments
import Foundation
import HTTPCore
import Service
import Storage
import Testing

@Suite("Trainer runner and metric sink", .serialized)
struct TrainerRunnerTests {
    @Test func sink_discardDeletesPointsAndCheckpointRecordsAfterEpoch() throws {
        let store = try Store.inMemory()
        let id = try store.createExperiment(NewExperiment(name: "s", environment: "tmaze_passive", spec: "{}")).experiment.id
        let sink = StoreMetricSink(store: store, experimentID: id)
        try store.insertMetrics((0..<4).map {
            MetricPointRecord(key: "val/return", value: Double($0), environmentSteps: $0 * 10, gradientSteps: $0, epoch: $0, wallTime: Double($0))
        }, experimentID: id)
        for epoch in 0..<4 {
            _ = try store.addCheckpoint(NewCheckpoint(epoch: epoch, environmentSteps: epoch * 10, gradientSteps: epoch,
                                                      path: "experiments/\(id)/checkpoints/epoch_\(epoch).safetensors",
                                                      sizeBytes: 1), experimentID: id)
        }
        try sink.discardPoints(afterEpoch: 1)
        #expect(try store.series(experimentID: id, key: "val/return", axis: .epoch).samples.map(\.x) == [0, 1])
        #expect(try store.checkpoints(experimentID: id).map(\.epoch) == [0, 1])
    }

    @Test func checkpointFileNames_parseTheirEpoch() {
        #expect(RunFolder.checkpointEpoch(ofFile: "epoch_000012.safetensors") == 12)
        #expect(RunFolder.checkpointEpoch(ofFile: "latest.safetensors") == nil)
        #expect(RunFolder.checkpointEpoch(ofFile: "latest.staging") == nil)
    }

    @Test func stoppedExperiment_resumesFromItsCheckpoint() async throws {
        let h = try Harness()
        defer { h.close() }
        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze(epochs: 10_000, name: "resume")))
        let id = try #require(created.json?["id"]?.stringValue)
        let deadline = Date().addingTimeInterval(60)
        while try h.store.checkpoints(experimentID: id).count < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        _ = try await h.send(.post, "/experiments/\(id)/stop")
        let stopped = try await h.waitFor(id, seconds: 30) { $0 == "stopped" || $0 == "failed" }
        #expect(stopped?["status"]?.stringValue == "stopped")
        let stepsAtStop = try h.store.experiment(id: id).progress.gradientSteps
        #expect(stepsAtStop > 0)

        let resumed = try await h.send(.post, "/experiments/\(id)/resume")
        #expect(resumed.status == 200)
        // The resumed run continues counting from the checkpoint rather than from zero.
        while try h.store.experiment(id: id).progress.gradientSteps <= stepsAtStop, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try h.store.experiment(id: id).status == .running)
        #expect(try h.store.experiment(id: id).progress.gradientSteps > stepsAtStop)
        _ = try await h.send(.post, "/experiments/\(id)/stop")
        _ = try await h.waitFor(id, seconds: 30) { $0 == "stopped" || $0 == "failed" }
        let epochs = try h.store.checkpoints(experimentID: id).map(\.epoch)
        #expect(Set(epochs).count == epochs.count, "each epoch checkpointed once: \(epochs)")
    }
}
