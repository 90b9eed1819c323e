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
    let run: RunFolder?

    /// Creates a sink writing to `store` under `experimentID`.
    /// - Parameter run: the run's folder, whose checkpoint files a rewind deletes, if it has one.
    public init(store: Store, experimentID: String, run: RunFolder? = nil) {
        self.store = store
        self.experimentID = experimentID
        self.run = run
    }

    /// Inserts the batch (non-finite values are left out).
    public func record(_ points: [MetricPoint]) throws {
        guard !points.isEmpty else { return }
        let rows = points.filter { $0.value.isFinite }.map {
            MetricPointRecord(key: $0.key, value: $0.value, environmentSteps: $0.environmentSteps,
                                gradientSteps: $0.gradientSteps, epoch: $0.epoch, wallTime: $0.wallTime)
        }
        try store.insertMetrics(rows, experimentID: experimentID)
    }

    /// Deletes metric points, checkpoint records and checkpoint files after `epoch` (records
    /// first: a crash in between leaves files that the next resume deletes).
    public func discardPoints(afterEpoch epoch: Int) throws {
        _ = try store.deleteMetrics(experimentID: experimentID, after: .epoch(epoch))
        try store.deleteCheckpoints(experimentID: experimentID, afterEpoch: epoch)
        guard let run else { return }
        for (saved, name) in run.checkpointFiles() where saved > epoch {
            try FileManager.default.removeItem(at: run.checkpoints.appendingPathComponent(name))
        }
    }
}
