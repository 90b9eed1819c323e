import Foundation

extension Store {
    /// One metric series against `axis`.
    ///
    /// When the range holds more than `maxPoints` points, SQLite groups them into `maxPoints`
    /// equal-width x buckets between the smallest and largest x and returns per bucket its
    /// midpoint, min, max, mean and count; otherwise every point is returned.
    /// - Parameters:
    ///   - after: only points whose x is strictly greater (incremental reads).
    ///   - maxPoints: the most samples to return; nil returns every point.
    public func series(experimentID: String, key: String, axis: MetricAxis = .environmentSteps,
                       after: Double? = nil, maxPoints: Int? = nil) throws -> MetricSeries {
        if let maxPoints, maxPoints < 1 {
            throw StorageError.invalidArgument("max_points must be at least 1, got \(maxPoints)")
        }
        return try read { db in
            try requireExperimentExists(db, id: experimentID)
            guard let seriesID = try db.integer(
                "SELECT id FROM metric_series WHERE experiment_id = ? AND key = ?", [experimentID, key]) else {
                throw StorageError.notFound(kind: "metric", id: key)
            }
            let x = axis.column
            var range = "series_id = ?"
            var arguments: SQLArguments = [seriesID]
            if let after {
                range += " AND \(x) > ?"
                arguments += [after]
            }
            // Separate subqueries let SQLite answer min and max from the (series_id, x) index
            // in O(log n) instead of one combined scan.
            let stats = try db.queryOne("""
                SELECT (SELECT count(*) FROM metric_points WHERE \(range)) AS n,
                    (SELECT min(\(x)) FROM metric_points WHERE \(range)) AS lo,
                    (SELECT max(\(x)) FROM metric_points WHERE \(range)) AS hi
                """, arguments + arguments + arguments)
            let count = try stats?.optionalInt("n") ?? 0
            let hi = try stats?.optionalDouble("hi")
            var result = MetricSeries(key: key, axis: axis, samples: [], isDownsampled: false,
                                      pointCount: count, lastX: hi)
            guard count > 0, let lo = try stats?.optionalDouble("lo"), let hi else { return result }
            if let maxPoints, count > maxPoints {
                result.samples = try buckets(db, x: x, range: range, arguments: arguments,
                                             lo: lo, hi: hi, buckets: maxPoints)
                result.isDownsampled = true
            } else {
                result.samples = try db.query("SELECT \(x) AS x, value FROM metric_points WHERE \(range) ORDER BY \(x), id",
                                              arguments).map { row in
                    let x = try row.double("x")
                    let value = try row.doubleOrNaN("value")
                    return MetricSample(x: x, mean: value, min: value, max: value, count: 1, firstX: x, lastX: x)
                }
            }
            return result
        }
    }

    /// Every point of one metric, in increasing `axis` (then recording order), for export.
    public func points(experimentID: String, key: String, axis: MetricAxis = .environmentSteps) throws -> [MetricPointRecord] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            guard let seriesID = try db.integer(
                "SELECT id FROM metric_series WHERE experiment_id = ? AND key = ?", [experimentID, key]) else {
                throw StorageError.notFound(kind: "metric", id: key)
            }
            return try db.query("""
                SELECT ? AS key, value, env_steps, grad_steps, epoch, wall_time FROM metric_points
                WHERE series_id = ? ORDER BY \(axis.column), id
                """, [key, seriesID]).map(MetricPointRecord.init(row:))
        }
    }

    /// Every point of every metric of an experiment, by key and then in recording order.
    public func allPoints(experimentID: String) throws -> [MetricPointRecord] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.query("""
                SELECT s.key AS key, p.value AS value, p.env_steps AS env_steps, p.grad_steps AS grad_steps,
                    p.epoch AS epoch, p.wall_time AS wall_time
                FROM metric_series s JOIN metric_points p ON p.series_id = s.id
                WHERE s.experiment_id = ? ORDER BY s.key, p.id
                """, [experimentID]).map(MetricPointRecord.init(row:))
        }
    }

    /// Groups the range into equal-width buckets over [lo, hi]; the last bucket includes hi.
    private func buckets(_ db: any SQLTransaction, x: String, range: String, arguments: SQLArguments,
                         lo: Double, hi: Double, buckets n: Int) throws -> [MetricSample] {
        let width = (hi - lo) / Double(n)
        // All points share one x: a single bucket (avoids dividing by zero).
        let bucketExpression = width > 0 ? db.dialect.least(db.dialect.truncate("(\(x) - ?) / ?"), "?") : "0"
        var allArguments: SQLArguments = width > 0 ? [lo, width, n - 1] : []
        allArguments += arguments
        let sql = """
            SELECT \(bucketExpression) AS bucket, min(\(x)) AS first_x, max(\(x)) AS last_x,
                min(value) AS lo, max(value) AS hi, avg(value) AS mean, count(*) AS n
            FROM metric_points WHERE \(range) GROUP BY bucket ORDER BY bucket
            """
        return try db.query(sql, allArguments).map { row in
            let bucket = try row.int("bucket")
            return MetricSample(x: width > 0 ? lo + (Double(bucket) + 0.5) * width : lo,
                                mean: try row.doubleOrNaN("mean"), min: try row.doubleOrNaN("lo"),
                                max: try row.doubleOrNaN("hi"), count: try row.int("n"),
                                firstX: try row.double("first_x"), lastX: try row.double("last_x"))
        }
    }
}
