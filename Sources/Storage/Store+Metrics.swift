import Foundation

extension Store {
    /// Appends a batch of points to an experiment's metrics in one transaction.
    ///
    /// The insert statement is prepared once and reused for every point; call this with batches
    /// of a few hundred points rather than one point at a time.
    public func insertMetrics(_ points: [MetricPointRecord], experimentID: String) throws {
        guard !points.isEmpty else { return }
        try write { db in
            try requireExperimentExists(db, id: experimentID)
            var seriesIDs: [String: Int64] = [:]
            var rows: [SQLArguments] = []
            rows.reserveCapacity(points.count)
            for point in points {
                let seriesID: Int64
                if let known = seriesIDs[point.key] {
                    seriesID = known
                } else {
                    seriesID = try ensureSeries(db, experimentID: experimentID, key: point.key)
                    seriesIDs[point.key] = seriesID
                }
                rows.append([seriesID, point.value, point.environmentSteps, point.gradientSteps, point.epoch, point.wallTime])
            }
            try db.executeMany("""
                INSERT INTO metric_points (series_id, value, env_steps, grad_steps, epoch, wall_time)
                VALUES (?, ?, ?, ?, ?, ?)
                """, rows)
        }
    }

    /// The metric keys an experiment has recorded, sorted.
    public func metricKeys(experimentID: String) throws -> [String] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.strings("SELECT key FROM metric_series WHERE experiment_id = ? ORDER BY key", [experimentID])
        }
    }

    /// The number of points an experiment has recorded, over all keys.
    public func metricPointCount(experimentID: String) throws -> Int {
        try read { db in
            Int(try db.integer("""
                SELECT count(*) AS n FROM metric_points
                WHERE series_id IN (SELECT id FROM metric_series WHERE experiment_id = ?)
                """, [experimentID]) ?? 0)
        }
    }

    /// The most recent point (by wall time) of every key of an experiment, sorted by key.
    public func latestMetrics(experimentID: String) throws -> [MetricPointRecord] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.query("""
                SELECT s.key, p.value, p.env_steps, p.grad_steps, p.epoch, p.wall_time
                FROM metric_series s JOIN metric_points p ON p.id = (
                    SELECT id FROM metric_points WHERE series_id = s.id
                    ORDER BY wall_time DESC, id DESC LIMIT 1)
                WHERE s.experiment_id = ? ORDER BY s.key
                """, [experimentID]).map(MetricPointRecord.init(row:))
        }
    }

    /// Points of every key recorded after `sequence`, in insertion order, for a live feed.
    ///
    /// Start with `sequence: 0`, then pass back the returned `lastSequence`.
    /// - Parameters:
    ///   - limit: the most points to return (clamped to 1...100 000).
    public func newMetricPoints(experimentID: String, after sequence: Int64 = 0,
                                limit: Int = 10_000) throws -> MetricFeed {
        let recorded = try metricPoints(experimentID: experimentID, after: sequence, limit: limit)
        return MetricFeed(points: recorded.map(\.value), lastSequence: recorded.last?.id ?? sequence)
    }

    /// Deletes every point recorded beyond `cutoff`, so a run resumed from a checkpoint does not
    /// leave duplicate history; keys left without points disappear.
    /// - Returns: how many points were deleted.
    @discardableResult
    public func deleteMetrics(experimentID: String, after cutoff: MetricCutoff) throws -> Int {
        let (column, limit): (String, Int) = {
            switch cutoff {
            case let .epoch(epoch): return ("epoch", epoch)
            case let .environmentSteps(steps): return ("env_steps", steps)
            }
        }()
        return try write { db in
            try requireExperimentExists(db, id: experimentID)
            let deleted = try db.execute("""
                DELETE FROM metric_points
                WHERE series_id IN (SELECT id FROM metric_series WHERE experiment_id = ?) AND \(column) > ?
                """, [experimentID, limit])
            try db.execute("""
                DELETE FROM metric_series WHERE experiment_id = ?
                AND NOT EXISTS (SELECT 1 FROM metric_points WHERE series_id = metric_series.id)
                """, [experimentID])
            return deleted
        }
    }

    // MARK: - Helpers

    func requireExperimentExists(_ db: any SQLTransaction, id: String) throws {
        guard try db.exists("SELECT 1 AS one FROM experiments WHERE id = ?", [id]) else {
            throw StorageError.notFound(kind: "experiment", id: id)
        }
    }

    private func ensureSeries(_ db: any SQLTransaction, experimentID: String, key: String) throws -> Int64 {
        try db.execute("INSERT INTO metric_series (experiment_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       [experimentID, key])
        guard let id = try db.integer("SELECT id FROM metric_series WHERE experiment_id = ? AND key = ?",
                                      [experimentID, key]) else {
            throw StorageError.database(message: "metric series '\(key)' vanished", sql: nil)
        }
        return id
    }
}
