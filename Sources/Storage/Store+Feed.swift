import Foundation

/// A stored row with its database id, which grows with every insert and is never reused.
public struct Recorded<Value: Sendable>: Sendable {
    /// The row id (`metric_points.id`, `status_history.id`).
    public var id: Int64
    /// The row's content.
    public var value: Value

    /// Pairs a value with its id.
    public init(id: Int64, value: Value) {
        self.id = id
        self.value = value
    }
}

extension Recorded: Equatable where Value: Equatable {}

extension Store {
    // Each series contributes at most `limit` ids from the (series_id, id) index, so a batch
    // costs O(series × limit) however long the history, and an empty poll O(series × log n).
    static let pointsAfterSQL = """
        SELECT p.id, s.key, p.value, p.env_steps, p.grad_steps, p.epoch, p.wall_time
        FROM metric_series s CROSS JOIN metric_points p
        WHERE s.experiment_id = ? AND p.id IN (
            SELECT id FROM metric_points WHERE series_id = s.id AND id > ? ORDER BY id LIMIT ?)
        ORDER BY p.id LIMIT ?
        """
    static let newestPointSQL = """
        SELECT max((SELECT id FROM metric_points WHERE series_id = s.id ORDER BY id DESC LIMIT 1))
        FROM metric_series s WHERE s.experiment_id = ?
        """
    static let statusChangesAfterSQL = """
        SELECT id, experiment_id, from_status, to_status, reason, at FROM status_history
        WHERE experiment_id = ? AND id > ? ORDER BY id
        """

    /// An experiment's metric points with id greater than `after`, oldest first, at most `limit`.
    /// - Parameters:
    ///   - limit: clamped to 1...100 000.
    public func metricPoints(experimentID: String, after: Int64,
                             limit: Int = 1000) throws -> [Recorded<MetricPointRecord>] {
        let n = min(max(limit, 1), 100_000)
        return try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.query(Self.pointsAfterSQL, [experimentID, after, n, n]).map { row in
                Recorded(id: try row.int64("id"), value: try MetricPointRecord(row: row))
            }
        }
    }

    /// The id of an experiment's newest metric point; 0 when it has none.
    public func newestMetricPointID(experimentID: String) throws -> Int64 {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.integer(Self.newestPointSQL, [experimentID]) ?? 0
        }
    }

    /// An experiment's status changes with id greater than `after`, oldest first.
    public func statusChanges(experimentID: String, after: Int64) throws -> [Recorded<StatusChange>] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.query(Self.statusChangesAfterSQL, [experimentID, after]).map { row in
                Recorded(id: try row.int64("id"), value: try StatusChange(row: row))
            }
        }
    }

    /// The id of an experiment's newest status change (its creation entry at least).
    public func newestStatusChangeID(experimentID: String) throws -> Int64 {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.integer("SELECT max(id) AS id FROM status_history WHERE experiment_id = ?", [experimentID]) ?? 0
        }
    }

    /// The query plans of the feed queries above (SQLite's `EXPLAIN QUERY PLAN` details,
    /// PostgreSQL's `EXPLAIN` lines), for checking that they search indexes rather than scan tables.
    public func feedQueryPlans() throws -> [String] {
        try read { db in
            var lines: [String] = []
            let queries: [(String, SQLArguments)] = [
                (Self.pointsAfterSQL, ["x", 0, 1, 1]), (Self.newestPointSQL, ["x"]), (Self.statusChangesAfterSQL, ["x", 0]),
            ]
            for (sql, arguments) in queries {
                if db.dialect == .sqlite {
                    lines += try db.query("EXPLAIN QUERY PLAN " + sql, arguments).map { try $0.string("detail") }
                } else {
                    lines += try db.strings("EXPLAIN " + sql, arguments)
                }
            }
            return lines
        }
    }
}
