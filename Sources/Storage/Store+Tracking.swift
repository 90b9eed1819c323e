import Foundation

/// Which experiments a listing returns; every condition given must hold.
public struct ExperimentFilter: Equatable, Sendable {
    /// Only experiments in this status.
    public var status: ExperimentStatus?
    /// Only experiments carrying every one of these tags.
    public var tags: [String]
    /// Only experiments of this group.
    public var group: String?
    /// Only experiments of this environment.
    public var environment: String?
    /// A case-insensitive substring of the name, or a prefix of the id.
    public var search: String?
    /// Only experiments created by this sweep.
    public var sweepID: String?

    /// A filter; with no arguments, every experiment.
    public init(status: ExperimentStatus? = nil, tags: [String] = [], group: String? = nil, environment: String? = nil,
                search: String? = nil, sweepID: String? = nil) {
        self.status = status
        self.tags = tags
        self.group = group
        self.environment = environment
        self.search = search
        self.sweepID = sweepID
    }

    /// The WHERE conditions and their arguments.
    func sql() -> (conditions: [String], arguments: SQLArguments) {
        var conditions: [String] = [], arguments: SQLArguments = []
        if let status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        for tag in tags {
            conditions.append("id IN (SELECT experiment_id FROM experiment_tags WHERE tag = ?)")
            arguments += [tag]
        }
        if let group {
            conditions.append("group_name = ?")
            arguments += [group]
        }
        if let environment {
            conditions.append("environment = ?")
            arguments += [environment]
        }
        if let sweepID {
            conditions.append("sweep_id = ?")
            arguments += [sweepID]
        }
        if let search, !search.isEmpty {
            let escaped = search.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            conditions.append("(lower(name) LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')")
            arguments += ["%" + escaped + "%", escaped + "%"]
        }
        return (conditions, arguments)
    }
}

/// What the service submits to create a sweep: one experiment per grid point.
public struct NewSweep: Equatable, Sendable {
    /// A display name (also the prefix of its experiments' names).
    public var name: String
    /// The group every experiment of the sweep joins.
    public var group: String
    /// The base spec as JSON text.
    public var baseSpec: String
    /// The grid as JSON text: an object of spec path → array of values.
    public var grid: String
    /// The experiments, one per point, in grid order.
    public var experiments: [NewExperiment]
    /// The `Idempotency-Key` header, if the client sent one.
    public var idempotencyKey: String?
    /// A digest of the request body, compared when `idempotencyKey` is reused.
    public var requestHash: String?

    /// Describes a new sweep.
    public init(name: String, group: String, baseSpec: String, grid: String, experiments: [NewExperiment],
                idempotencyKey: String? = nil, requestHash: String? = nil) {
        self.name = name
        self.group = group
        self.baseSpec = baseSpec
        self.grid = grid
        self.experiments = experiments
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
    }
}

/// A sweep, as stored.
public struct SweepRecord: Equatable, Sendable {
    /// A 12-character URL-safe random id.
    public var id: String
    public var name: String
    /// The group of its experiments.
    public var group: String
    /// The base spec as JSON text.
    public var baseSpec: String
    /// The grid as JSON text.
    public var grid: String
    public var createdAt: Date

    init(row: SQLRow) throws {
        id = try row.string("id")
        name = try row.string("name")
        group = try row.string("group_name")
        baseSpec = try row.string("base_spec")
        grid = try row.string("grid")
        createdAt = try row.date("created_at")
    }
}

/// The result of an idempotent sweep creation.
public struct SweepCreation: Equatable, Sendable {
    public var sweep: SweepRecord
    /// Its experiments, in grid order.
    public var experiments: [ExperimentRecord]
    /// False when an earlier request with the same key and body had already created it.
    public var isNew: Bool
}

/// One group: how many experiments it holds, by status.
public struct GroupSummary: Equatable, Sendable {
    public var group: String
    public var experiments: Int
    public var statusCounts: [ExperimentStatus: Int]
    /// When its newest experiment was created.
    public var lastCreatedAt: Date
}

/// Whether a metric improves upwards (returns, success rates) or downwards (losses, errors).
public enum MetricDirection: String, Sendable {
    case higherIsBetter = "max"
    case lowerIsBetter = "min"

    /// Lower is better for keys whose last part names a loss, an error, a regret, a lag or a
    /// duration; higher for every other key.
    public init(key: String) {
        let last = key.split(separator: "/").last.map { $0.lowercased() } ?? key.lowercased()
        let downward = ["loss", "error", "regret", "lag", "latency", "seconds", "time"]
        self = downward.contains { last.contains($0) } ? .lowerIsBetter : .higherIsBetter
    }
}

/// One metric of one experiment in a few numbers.
public struct MetricSummary: Equatable, Sendable {
    /// Points recorded.
    public var count: Int
    /// The most recently recorded value.
    public var last: Double
    /// The smallest and largest values (NaN when every value was NaN).
    public var min: Double
    public var max: Double
    /// Environment steps of the last point.
    public var lastX: Double
    /// Which end is best for this key.
    public var direction: MetricDirection

    /// `max` or `min`, by `direction`.
    public var best: Double { direction == .higherIsBetter ? max : min }
}

extension Store {
    /// Creates a sweep and its queued experiments in one transaction, honouring the key as
    /// `createExperiment` does.
    public func createSweep(_ new: NewSweep, now: Date = Date()) throws -> SweepCreation {
        do {
            return try insertSweep(new, now: now)
        } catch let error as StorageError where error.isUniqueViolation && new.idempotencyKey != nil {
            return try insertSweep(new, now: now)  // lost the race to a request with the same key
        }
    }

    private func insertSweep(_ new: NewSweep, now: Date) throws -> SweepCreation {
        try write { db in
            if let key = new.idempotencyKey,
               let row = try db.queryOne("SELECT id, request_hash FROM sweeps WHERE idempotency_key = ?", [key]) {
                guard try row.optionalString("request_hash") == new.requestHash else {
                    throw StorageError.idempotencyConflict(key: key)
                }
                let id = try row.string("id")
                return SweepCreation(sweep: try Self.requireSweep(db, id: id), experiments: try Self.sweepMembers(db, id: id),
                                     isNew: false)
            }
            let id = Identifier.make()
            let t = now.storageSeconds
            try db.execute("""
                INSERT INTO sweeps (id, name, group_name, base_spec, grid, created_at, idempotency_key, request_hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [id, new.name, new.group, new.baseSpec, new.grid, t, new.idempotencyKey, new.requestHash])
            for (index, var experiment) in new.experiments.enumerated() {
                experiment.sweepID = id
                experiment.group = new.group
                experiment.idempotencyKey = nil
                _ = try insertQueued(db, experiment, at: t, sweepIndex: index)
            }
            return SweepCreation(sweep: try Self.requireSweep(db, id: id), experiments: try Self.sweepMembers(db, id: id),
                                 isNew: true)
        }
    }

    /// The sweep with this id; throws `notFound` if there is none.
    public func sweep(id: String) throws -> SweepRecord {
        try read { db in try Self.requireSweep(db, id: id) }
    }

    /// The experiments a sweep created, in grid order.
    public func experiments(inSweep id: String) throws -> [ExperimentRecord] {
        try read { db in
            _ = try Self.requireSweep(db, id: id)
            return try Self.sweepMembers(db, id: id)
        }
    }

    /// Every experiment of a group, oldest first; throws `notFound` when it has none.
    public func experiments(inGroup group: String) throws -> [ExperimentRecord] {
        try read { db in
            let members = try db.query("""
                SELECT \(ExperimentRecord.columns) FROM experiments WHERE group_name = ? ORDER BY created_at, id
                """, [group]).map(ExperimentRecord.init(row:))
            if members.isEmpty { throw StorageError.notFound(kind: "group", id: group) }
            return members
        }
    }

    /// The ids of the sweeps whose experiments are in `group`, oldest first.
    public func sweepIDs(inGroup group: String) throws -> [String] {
        try read { db in
            try db.strings("SELECT id FROM sweeps WHERE group_name = ? ORDER BY created_at, id", [group])
        }
    }

    /// Every group, the one with the newest experiment first.
    public func groups() throws -> [GroupSummary] {
        try read { db in
            var byName: [String: GroupSummary] = [:]
            for row in try db.query("""
                SELECT group_name, status, count(*) AS n, max(created_at) AS last_created FROM experiments
                WHERE group_name IS NOT NULL GROUP BY group_name, status
                """, []) {
                let name = try row.string("group_name"), n = try row.int("n"), last = try row.date("last_created")
                var summary = byName[name] ?? GroupSummary(group: name, experiments: 0, statusCounts: [:], lastCreatedAt: last)
                summary.experiments += n
                summary.lastCreatedAt = Swift.max(summary.lastCreatedAt, last)
                if let status = ExperimentStatus(rawValue: try row.string("status")) { summary.statusCounts[status, default: 0] += n }
                byName[name] = summary
            }
            return byName.values.sorted { ($0.lastCreatedAt, $0.group) > ($1.lastCreatedAt, $1.group) }
        }
    }

    /// Every tag in use with how many experiments carry it, by tag.
    public func tags() throws -> [(tag: String, experiments: Int)] {
        try read { db in
            try db.query("SELECT tag, count(*) AS n FROM experiment_tags GROUP BY tag ORDER BY tag", []).map {
                (try $0.string("tag"), try $0.int("n"))
            }
        }
    }

    /// Per experiment, per metric key: count, last, min, max and the last point's environment
    /// steps. Experiments without metrics are absent from the result.
    /// - Parameter keys: only these keys, when given.
    public func metricSummaries(experimentIDs: [String], keys: [String]? = nil) throws -> [String: [String: MetricSummary]] {
        guard !experimentIDs.isEmpty, keys?.isEmpty != true else { return [:] }
        return try read { db in
            var result: [String: [String: MetricSummary]] = [:]
            var lastPoint: [Int: (experiment: String, key: String)] = [:]
            for chunk in Self.chunks(experimentIDs) {
                var sql = """
                    SELECT s.experiment_id AS experiment_id, s.key AS key, count(p.id) AS n, min(p.value) AS lo,
                        max(p.value) AS hi, max(p.id) AS last_id
                    FROM metric_series s JOIN metric_points p ON p.series_id = s.id
                    WHERE s.experiment_id IN (\(Self.placeholders(chunk.count)))
                    """
                var arguments: SQLArguments = chunk
                if let keys {
                    sql += " AND s.key IN (\(Self.placeholders(keys.count)))"
                    arguments += keys
                }
                for row in try db.query(sql + " GROUP BY s.id, s.experiment_id, s.key", arguments) {
                    let experiment = try row.string("experiment_id"), key = try row.string("key")
                    result[experiment, default: [:]][key] = MetricSummary(
                        count: try row.int("n"), last: .nan, min: try row.doubleOrNaN("lo"), max: try row.doubleOrNaN("hi"),
                        lastX: 0, direction: MetricDirection(key: key))
                    lastPoint[try row.int("last_id")] = (experiment, key)
                }
            }
            for chunk in Self.chunks(Array(lastPoint.keys)) {
                for row in try db.query("SELECT id, value, env_steps FROM metric_points WHERE id IN (\(Self.placeholders(chunk.count)))",
                                        chunk) {
                    guard let owner = lastPoint[try row.int("id")] else { continue }
                    result[owner.experiment]?[owner.key]?.last = try row.doubleOrNaN("value")
                    result[owner.experiment]?[owner.key]?.lastX = try row.double("env_steps")
                }
            }
            return result
        }
    }

    /// `?, ?, …`: `n` placeholders for an `IN (…)` list.
    static func placeholders(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ", ") }

    /// Consecutive slices of at most 400 values, each small enough for one `IN (…)` list.
    static func chunks<T>(_ values: [T]) -> [[T]] {
        stride(from: 0, to: values.count, by: 400).map { Array(values[$0..<Swift.min($0 + 400, values.count)]) }
    }

    static func requireSweep(_ db: any SQLTransaction, id: String) throws -> SweepRecord {
        guard let row = try db.queryOne("""
            SELECT id, name, group_name, base_spec, grid, created_at FROM sweeps WHERE id = ?
            """, [id]) else { throw StorageError.notFound(kind: "sweep", id: id) }
        return try SweepRecord(row: row)
    }

    static func sweepMembers(_ db: any SQLTransaction, id: String) throws -> [ExperimentRecord] {
        try db.query("SELECT \(ExperimentRecord.columns) FROM experiments WHERE sweep_id = ? ORDER BY sweep_index, id", [id])
            .map(ExperimentRecord.init(row:))
    }
}
