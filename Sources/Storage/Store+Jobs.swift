import Foundation

extension Store {
    /// How long a claim lasts when the claimer names no lease: long enough to outlive a few
    /// missed heartbeats, short enough that another host takes over a dead one's job soon.
    public static let defaultLease: TimeInterval = 60

    /// Atomically claims the longest-waiting queued experiment for `workerID`.
    ///
    /// One write transaction selects it, marks it `running` with a fresh heartbeat and a lease
    /// until `now + lease`, and records the change, so two claimers (even on two hosts) never
    /// get the same experiment: SQLite serialises writers, and on PostgreSQL the row is locked
    /// with `FOR UPDATE SKIP LOCKED`, so a concurrent claimer takes the next one instead.
    /// - Parameter skipping: environments this claimer does not train (left for other hosts).
    /// - Returns: the claimed experiment, or nil when the queue is empty.
    public func claimNext(workerID: String, lease: TimeInterval = Store.defaultLease, skipping: [String] = [],
                          now: Date = Date()) throws -> ExperimentRecord? {
        try write { db in
            let skip = skipping.isEmpty ? "" : " AND environment NOT IN (\(Self.placeholders(skipping.count)))"
            guard let row = try db.queryOne("""
                SELECT \(ExperimentRecord.columns) FROM experiments WHERE status = 'queued'\(skip)
                ORDER BY queued_at, id LIMIT 1 \(db.dialect.skipLockedRows)
                """, skipping) else { return nil }
            let experiment = try ExperimentRecord(row: row)
            try applyTransition(db, experiment, to: .running, reason: "claimed by \(workerID)",
                                errorMessage: nil, workerID: workerID, at: now.storageSeconds, lease: lease)
            return try ExperimentRecord.require(db, id: experiment.id)
        }
    }

    /// Records that `workerID` is still training the experiment and extends its lease to
    /// `now + lease`.
    ///
    /// Throws `conflict` if the experiment is not active or another worker owns it, which tells a
    /// worker that lost its claim (after crash recovery, or a lease taken over) to stop.
    public func heartbeat(id: String, workerID: String, lease: TimeInterval = Store.defaultLease,
                          now: Date = Date()) throws {
        try write { db in
            let changed = try db.execute("""
                UPDATE experiments SET heartbeat_at = ?, lease_expires_at = ?
                WHERE id = ? AND worker_id = ? AND status IN ('running', 'stopping')
                """, [now.storageSeconds, now.storageSeconds + lease, id, workerID])
            if changed == 0 {
                let experiment = try ExperimentRecord.require(db, id: id)
                throw StorageError.conflict(
                    "experiment '\(id)' is \(experiment.status.rawValue) and not owned by \(workerID)")
            }
        }
    }

    /// Experiments left `running` or `stopping`, for crash recovery.
    /// - Parameters:
    ///   - staleBefore: only those whose last heartbeat is older than this (or missing).
    ///   - leaseExpiredBefore: only those whose lease ended before this (or that have none).
    ///   With neither, every active experiment (right after a restart of the only host, no
    ///   worker is alive).
    public func activeExperiments(staleBefore: Date? = nil,
                                  leaseExpiredBefore: Date? = nil) throws -> [ExperimentRecord] {
        try read { db in
            var sql = "SELECT \(ExperimentRecord.columns) FROM experiments WHERE status IN ('running', 'stopping')"
            var arguments: SQLArguments = []
            if let staleBefore {
                sql += " AND (heartbeat_at IS NULL OR heartbeat_at < ?)"
                arguments += [staleBefore.storageSeconds]
            }
            if let leaseExpiredBefore {
                sql += " AND (lease_expires_at IS NULL OR lease_expires_at < ?)"
                arguments += [leaseExpiredBefore.storageSeconds]
            }
            return try db.query(sql + " ORDER BY queued_at, id", arguments).map(ExperimentRecord.init(row:))
        }
    }

    /// Moves an experiment whose lease has expired to `status` (`queued`, `stopped` or `failed`),
    /// checking again under the row's lock that the lease is still expired and owned by
    /// `workerID`, so a renewal or another host's takeover in between wins.
    /// - Returns: the updated experiment, or nil when the lease was renewed or already reclaimed.
    @discardableResult
    public func reclaimExpiredLease(id: String, workerID: String?, to status: ExperimentStatus, reason: String,
                                    now: Date = Date()) throws -> ExperimentRecord? {
        try write { db in
            let experiment = try ExperimentRecord.require(db, id: id, locking: true)
            guard experiment.status.isActive, experiment.workerID == workerID,
                  (experiment.leaseExpiresAt.map { $0 < now } ?? true) else { return nil }
            try applyTransition(db, experiment, to: status, reason: reason, errorMessage: reason,
                                workerID: nil, at: now.storageSeconds)
            return try ExperimentRecord.require(db, id: id)
        }
    }

    /// Asks a running experiment to stop gracefully (`running → stopping`).
    @discardableResult
    public func requestStop(id: String, reason: String = "stop requested", now: Date = Date()) throws -> ExperimentRecord {
        try transition(id: id, to: .stopping, reason: reason, now: now)
    }

    /// Removes a queued experiment from the queue (`queued → cancelled`).
    @discardableResult
    public func cancel(id: String, reason: String = "cancelled", now: Date = Date()) throws -> ExperimentRecord {
        try transition(id: id, to: .cancelled, reason: reason, now: now)
    }

    /// Puts a stopped or failed experiment back in the queue (`→ queued`).
    @discardableResult
    public func resume(id: String, reason: String = "resume requested", now: Date = Date()) throws -> ExperimentRecord {
        try transition(id: id, to: .queued, reason: reason, now: now)
    }

    /// Puts an experiment that was running when the process died back in the queue.
    @discardableResult
    public func requeueAfterCrash(id: String, reason: String = "re-queued after restart",
                                  now: Date = Date()) throws -> ExperimentRecord {
        try transition(id: id, to: .queued, reason: reason, now: now)
    }
}
