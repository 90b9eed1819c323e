import Foundation

/// One recorded status transition of an experiment.
public struct StatusChange: Equatable, Sendable {
    /// The experiment it belongs to.
    public var experimentID: String
    /// The previous status; nil for the creation entry.
    public var from: ExperimentStatus?
    /// The new status.
    public var to: ExperimentStatus
    /// Why it happened (e.g. "created", "claimed by worker-1", "stop requested", an error).
    public var reason: String
    /// When it happened.
    public var at: Date

    init(row: SQLRow) throws {
        experimentID = try row.string("experiment_id")
        from = try row.optionalString("from_status").flatMap(ExperimentStatus.init(rawValue:))
        to = ExperimentStatus(rawValue: try row.string("to_status")) ?? .failed
        reason = try row.string("reason")
        at = try row.date("at")
    }
}

extension Store {
    /// Moves an experiment to `status` and records the change, in one transaction.
    ///
    /// Throws `illegalTransition` when the graph in `ExperimentStatus` forbids the move.
    /// - Parameters:
    ///   - errorMessage: stored as the experiment's error when moving to `failed`.
    @discardableResult
    public func transition(id: String, to status: ExperimentStatus, reason: String,
                           errorMessage: String? = nil, now: Date = Date()) throws -> ExperimentRecord {
        try write { db in
            let experiment = try ExperimentRecord.require(db, id: id, locking: true)
            try applyTransition(db, experiment, to: status, reason: reason, errorMessage: errorMessage,
                                workerID: nil, at: now.storageSeconds)
            return try ExperimentRecord.require(db, id: id)
        }
    }

    /// Every status change of an experiment, oldest first (starting with its creation).
    public func statusHistory(id: String) throws -> [StatusChange] {
        try read { db in
            _ = try ExperimentRecord.require(db, id: id)
            return try db.query("""
                SELECT experiment_id, from_status, to_status, reason, at FROM status_history
                WHERE experiment_id = ? ORDER BY id
                """, [id]).map(StatusChange.init(row:))
        }
    }

    /// Checks the graph, updates the row with the side effects of entering `status`, records history.
    func applyTransition(_ db: any SQLTransaction, _ experiment: ExperimentRecord, to status: ExperimentStatus,
                         reason: String, errorMessage: String?, workerID: String?, at t: Double,
                         lease: TimeInterval? = nil) throws {
        guard experiment.status.canTransition(to: status) else {
            throw StorageError.illegalTransition(from: experiment.status, to: status)
        }
        var assignments = ["status = ?", "updated_at = ?", "version = version + 1"]
        var arguments: SQLArguments = [status.rawValue, t]
        switch status {
        case .queued:
            // A resume or re-queue: forget the previous worker and error.
            assignments += ["queued_at = ?", "worker_id = NULL", "heartbeat_at = NULL", "lease_expires_at = NULL",
                            "finished_at = NULL", "error_message = NULL"]
            arguments += [t]
        case .running:
            assignments += ["started_at = ?", "heartbeat_at = ?", "worker_id = ?", "lease_expires_at = ?"]
            arguments += [t, t, workerID, t + (lease ?? Store.defaultLease)]
        case .stopping:
            break
        case .succeeded, .failed, .stopped, .cancelled:
            assignments += ["finished_at = ?", "worker_id = NULL", "lease_expires_at = NULL", "error_message = ?"]
            arguments += [t, status == .failed ? (errorMessage ?? reason) : nil]
        }
        arguments += [experiment.id, experiment.status.rawValue]
        // The status guard makes the update a no-op if another connection moved it meanwhile.
        let changed = try db.execute("UPDATE experiments SET \(assignments.joined(separator: ", ")) WHERE id = ? AND status = ?",
                                     arguments)
        guard changed == 1 else {
            throw StorageError.conflict("experiment '\(experiment.id)' changed status concurrently")
        }
        try recordHistory(db, id: experiment.id, from: experiment.status, to: status, reason: reason, at: t)
    }

    func recordHistory(_ db: any SQLTransaction, id: String, from: ExperimentStatus?, to: ExperimentStatus,
                       reason: String, at t: Double) throws {
        try db.execute("""
            INSERT INTO status_history (experiment_id, from_status, to_status, reason, at) VALUES (?, ?, ?, ?, ?)
            """, [id, from?.rawValue, to.rawValue, reason, t])
    }
}
