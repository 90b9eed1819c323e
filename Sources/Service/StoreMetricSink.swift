import AMAGO
import Foundation
import Storage

/// Sends an experiment's metric points to the database, one insert per batch the trainer records.
///
/// When a resumed run rewinds to its checkpoint, the points, checkpoint records and checkpoint
/// files after that epoch are deleted so the history never holds an epoch twice and no file of
/// the abandoned run is taken for one of the resumed run.
public final class StoreMetricSink: MetricSink {
    let store: Store
    let experimentID: String
    let checkpointFolder: URL?

    /// Creates a sink writing to `store` under `experimentID`.
    /// - Parameter checkpointFolder: where the run writes `epoch_NNNNNN.safetensors` files, if it does.
    public init(store: Store, experimentID: String, checkpointFolder: URL? = nil) {
        self.store = store
        self.experimentID = experimentID
        self.checkpointFolder = checkpointFolder
    }

    /// Inserts the batch; the trainer's seconds-since-start become wall-clock time now.
    public func record(_ points: [AMAGO.MetricPoint]) throws {
        guard !points.isEmpty else { return }
        let now = Date()
        let rows = points.filter { $0.value.isFinite }.map {
            Storage.MetricPoint(key: $0.key, value: $0.value, envSteps: $0.environmentSteps,
                                gradSteps: $0.gradientSteps, epoch: $0.epoch, wallTime: now)
        }
        try store.insertMetrics(rows, experimentID: experimentID)
    }

    /// Deletes metric points, checkpoint records and checkpoint files after `epoch` (records
    /// first: a crash in between leaves files that the next resume deletes).
    public func discardPoints(afterEpoch epoch: Int) throws {
        _ = try store.deleteMetrics(experimentID: experimentID, after: .epoch(epoch))
        try store.deleteCheckpoints(experimentID: experimentID, afterEpoch: epoch)
        guard let folder = checkpointFolder else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            guard let saved = TrainerRunner.checkpointEpoch(ofFile: name), saved > epoch else { continue }
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }
}
