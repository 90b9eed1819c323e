import Foundation
internal import GRDB

extension Store {
    /// Atomically claims the longest-waiting queued experiment for `workerID`.
    ///
    /// One IMMEDIATE write transaction selects it, marks it `running` with a fresh heartbeat and
    /// records the change, so two claimers (even in two processes) never get the same experiment.
    /// - Returns: the claimed experiment, or nil when the queue is empty.
    public func claimNext(workerID: String, now: Date = Date()) throws -> ExperimentRecord? {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT \(ExperimentRecord.columns) FROM experiments WHERE status = 'queued'
                ORDER BY queued_at, id LIMIT 1
                """) else { return nil }
            let experiment = try ExperimentRecord(row: row)
            try applyTransition(db, experiment, to: .running, reason: "claimed by \(workerID)",
                                errorMessage: nil, workerID: workerID, at: now.storageSeconds)
            return try ExperimentRecord.require(db, id: experiment.id)
        }
    }

    /// Records that `workerID` is still training the experiment.
    ///
    /// Throws `conflict` if the experiment is not active or another worker owns it, which tells a
    /// worker that lost its claim (e.g. after crash recovery) to stop.
    public func heartbeat(id: String, workerID: String, now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE experiments SET heartbeat_at = ?
                WHERE id = ? AND worker_id = ? AND status IN ('running', 'stopping')
                """, arguments: [now.storageSeconds, id, workerID])
            if db.changesCount == 0 {
                let experiment = try ExperimentRecord.require(db, id: id)
                throw StorageError.conflict(
                    "experiment '\(id)' is \(experiment.status.rawValue) and not owned by \(workerID)")
            }
        }
    }

    /// Experiments left `running` or `stopping`, for crash recovery at start-up.
    /// - Parameter staleBefore: only those whose last heartbeat is older than this (or missing);
    ///   nil returns every active experiment (right after a restart, no worker is alive).
    public func activeExperiments(staleBefore: Date? = nil) throws -> [ExperimentRecord] {
        try read { db in
            var sql = "SELECT \(ExperimentRecord.columns) FROM experiments WHERE status IN ('running', 'stopping')"
            var arguments: StatementArguments = []
            if let staleBefore {
                sql += " AND (heartbeat_at IS NULL OR heartbeat_at < ?)"
                arguments += [staleBefore.storageSeconds]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY queued_at, id", arguments: arguments)
                .map(ExperimentRecord.init(row:))
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
