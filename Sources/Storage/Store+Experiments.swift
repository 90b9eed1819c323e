import Foundation

extension Store {
    /// Creates a queued experiment, honouring its idempotency key.
    ///
    /// The same key with the same `requestHash` returns the experiment created the first time
    /// (`isNew == false`); the same key with another hash throws `idempotencyConflict`.
    public func createExperiment(_ new: NewExperiment, now: Date = Date()) throws -> ExperimentCreation {
        do {
            return try insertExperiment(new, now: now)
        } catch let error as StorageError where error.isUniqueViolation && new.idempotencyKey != nil {
            // Another request with the same key committed between our lookup and insert (only
            // possible when several connections write at once, as on PostgreSQL): the lookup
            // now finds its experiment.
            return try insertExperiment(new, now: now)
        }
    }

    private func insertExperiment(_ new: NewExperiment, now: Date) throws -> ExperimentCreation {
        try write { db in
            if let key = new.idempotencyKey,
               let row = try db.queryOne("SELECT id, request_hash FROM experiments WHERE idempotency_key = ?", [key]) {
                guard try row.optionalString("request_hash") == new.requestHash else {
                    throw StorageError.idempotencyConflict(key: key)
                }
                return ExperimentCreation(experiment: try ExperimentRecord.require(db, id: try row.string("id")), isNew: false)
            }
            let id = try insertQueued(db, new, at: now.storageSeconds)
            return ExperimentCreation(experiment: try ExperimentRecord.require(db, id: id), isNew: true)
        }
    }

    /// Inserts one queued experiment with its tags and first history row; returns its id.
    func insertQueued(_ db: any SQLTransaction, _ new: NewExperiment, at t: Double, sweepIndex: Int? = nil) throws -> String {
        let id = Identifier.make()
        var tags: [String] = []
        for tag in new.tags where !tags.contains(tag) { tags.append(tag) }
        try db.execute("""
            INSERT INTO experiments (id, name, environment, spec, status, created_at, updated_at,
                queued_at, idempotency_key, request_hash, epochs, group_name, tags, sweep_id, sweep_point, sweep_index)
            VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [id, new.name, new.environment, new.spec, t, t, t,
                  new.idempotencyKey, new.requestHash, new.epochs, new.group, TagList.encode(tags),
                  new.sweepID, new.sweepPoint, sweepIndex])
        try db.executeMany("INSERT INTO experiment_tags (experiment_id, tag) VALUES (?, ?)", tags.map { [id, $0] })
        try recordHistory(db, id: id, from: nil, to: .queued, reason: "created", at: t)
        return id
    }

    /// The experiment with this id; throws `notFound` if there is none.
    public func experiment(id: String) throws -> ExperimentRecord {
        try read { db in try ExperimentRecord.require(db, id: id) }
    }

    /// Lists experiments newest first (by creation time, then id).
    /// - Parameters:
    ///   - filter: which experiments (every one by default).
    ///   - limit: the page size (clamped to 1...1000).
    ///   - cursor: `nextCursor` of the previous page, or nil for the first page.
    public func listExperiments(_ filter: ExperimentFilter = ExperimentFilter(), limit: Int = 50,
                                cursor: String? = nil) throws -> ExperimentPage {
        let pageSize = min(max(limit, 1), 1000)
        let position = try cursor.map(ListCursor.init(encoded:))
        return try read { db in
            var (conditions, arguments) = filter.sql()
            if let position {
                conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
                arguments += [position.createdAt, position.createdAt, position.id]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [pageSize + 1]
            let rows = try db.query("""
                SELECT \(ExperimentRecord.columns) FROM experiments \(filter)
                ORDER BY created_at DESC, id DESC LIMIT ?
                """, arguments)
            var experiments = try rows.map(ExperimentRecord.init(row:))
            var next: String?
            if experiments.count > pageSize {
                experiments.removeLast()
                if let last = experiments.last {
                    next = ListCursor(createdAt: last.createdAt.storageSeconds, id: last.id).encoded
                }
            }
            return ExperimentPage(experiments: experiments, nextCursor: next)
        }
    }

    /// Lists experiments in `status` (see `listExperiments(_:limit:cursor:)`).
    public func listExperiments(status: ExperimentStatus?, limit: Int = 50, cursor: String? = nil) throws -> ExperimentPage {
        try listExperiments(ExperimentFilter(status: status), limit: limit, cursor: cursor)
    }

    /// Counts experiments per status (for `/metrics` queue depth and running jobs).
    public func experimentCounts() throws -> [ExperimentStatus: Int] {
        try read { db in
            var counts: [ExperimentStatus: Int] = [:]
            for row in try db.query("SELECT status, count(*) AS n FROM experiments GROUP BY status", []) {
                if let status = ExperimentStatus(rawValue: try row.string("status")) { counts[status] = try row.int("n") }
            }
            return counts
        }
    }

    /// Stores a progress report and counts it as a heartbeat; bumps the version.
    public func updateProgress(id: String, _ progress: ProgressRecord, now: Date = Date()) throws {
        try write { db in
            let t = now.storageSeconds
            let changed = try db.execute("""
                UPDATE experiments SET epoch = ?, epochs = ?, env_steps = ?, grad_steps = ?, phase = ?,
                    eta_seconds = ?, last_return = ?, last_success_rate = ?, heartbeat_at = ?,
                    updated_at = ?, version = version + 1
                WHERE id = ?
                """, [progress.epoch, progress.epochs, progress.environmentSteps, progress.gradientSteps,
                      progress.phase, progress.etaSeconds, progress.lastReturn,
                      progress.lastSuccessRate, t, t, id])
            if changed == 0 { throw StorageError.notFound(kind: "experiment", id: id) }
        }
    }

    /// Deletes an experiment with its history, metrics, checkpoint records and sessions.
    ///
    /// Refused with `conflict` while it is running or stopping.
    /// - Returns: the relative paths of its checkpoint files, for the caller to remove.
    @discardableResult
    public func deleteExperiment(id: String) throws -> [String] {
        try write { db in
            let experiment = try ExperimentRecord.require(db, id: id, locking: true)
            if experiment.status.isActive {
                throw StorageError.conflict("experiment '\(id)' is \(experiment.status.rawValue); stop it before deleting")
            }
            let paths = try db.strings("SELECT path FROM checkpoints WHERE experiment_id = ?", [id])
            try db.execute("DELETE FROM experiments WHERE id = ?", [id])
            return paths
        }
    }
}

/// The opaque pagination cursor: the (created_at, id) of the last experiment of a page.
struct ListCursor {
    var createdAt: Double
    var id: String

    init(createdAt: Double, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// Base64url of "<bit pattern of created_at in hex>.<id>", so the time round-trips exactly.
    var encoded: String {
        let text = String(createdAt.bitPattern, radix: 16) + "." + id
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(encoded: String) throws {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
              let dot = text.firstIndex(of: "."),
              let bits = UInt64(text[..<dot], radix: 16) else {
            throw StorageError.invalidArgument("malformed cursor '\(encoded)'")
        }
        createdAt = Double(bitPattern: bits)
        id = String(text[text.index(after: dot)...])
    }
}
