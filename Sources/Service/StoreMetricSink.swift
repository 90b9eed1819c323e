import AMAGO
import Foundation
import Storage

/// Sends an experiment's metric points to the database, one insert per batch the trainer records.
///
/// When a resumed run rewinds to its checkpoint, the points and checkpoint records after that
/// epoch are deleted so the history never holds an epoch twice.
public final class StoreMetricSink: MetricSink {
    let store: Store
    let experimentID: String

    /// Creates a sink writing to `store` under `experimentID`.
    public init(store: Store, experimentID: String) {
        self.store = store
        self.experimentID = experimentID
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

    /// Deletes metric points and checkpoint records after `epoch`.
    public func discardPoints(afterEpoch epoch: Int) throws {
        _ = try store.deleteMetrics(experimentID: experimentID, after: .epoch(epoch))
        try store.deleteCheckpoints(experimentID: experimentID, afterEpoch: epoch)
    }
}
