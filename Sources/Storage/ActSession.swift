import Foundation

/// The database record of a `/act` session.
///
/// The policy's context (the Transformer's key/value cache) lives in the service's memory;
/// this record makes sessions listable, lets the service tell an expired or evicted session
/// (`410`) from one that never existed (`404`), and survives restarts as an ended record.
public struct ActSession: Equatable, Sendable {
    /// A 20-character URL-safe random id (100 bits, hard to guess).
    public var id: String
    /// The experiment whose policy it runs.
    public var experimentID: String
    /// The checkpoint whose weights it runs.
    public var checkpointID: String
    /// When it was created.
    public var createdAt: Date
    /// When it last served an action.
    public var lastUsedAt: Date
    /// How many actions it has served.
    public var steps: Int
    /// When it expired or was evicted; nil while open.
    public var endedAt: Date?
    /// Why it ended: `expired`, `evicted`, `restart` or the caller's reason.
    public var endReason: String?
    /// The host whose memory holds its context (empty for a single-host deployment).
    public var host: String

    /// Whether it can still serve actions.
    public var isOpen: Bool { endedAt == nil }

    static let columns = "id, experiment_id, checkpoint_id, created_at, last_used_at, steps, ended_at, end_reason, host"

    init(row: SQLRow) throws {
        id = try row.string("id")
        experimentID = try row.string("experiment_id")
        checkpointID = try row.string("checkpoint_id")
        createdAt = try row.date("created_at")
        lastUsedAt = try row.date("last_used_at")
        steps = try row.int("steps")
        endedAt = try row.optionalDate("ended_at")
        endReason = try row.optionalString("end_reason")
        host = try row.string("host")
    }

    static func require(_ db: any SQLTransaction, id: String) throws -> ActSession {
        guard let row = try db.queryOne("SELECT \(columns) FROM act_sessions WHERE id = ?", [id]) else {
            throw StorageError.notFound(kind: "session", id: id)
        }
        return try ActSession(row: row)
    }
}

extension Store {
    /// Opens a session on one checkpoint of an experiment, held in the memory of `host`.
    ///
    /// Throws `notFound` for an unknown experiment or checkpoint, `conflict` if the checkpoint
    /// belongs to another experiment.
    public func createSession(experimentID: String, checkpointID: String, host: String = "",
                              now: Date = Date()) throws -> ActSession {
        try write { db in
            try requireExperimentExists(db, id: experimentID)
            let checkpoint = try CheckpointRecord.requireOne(db, "WHERE id = ?", [checkpointID], missing: checkpointID)
            guard checkpoint.experimentID == experimentID else {
                throw StorageError.conflict("checkpoint '\(checkpointID)' belongs to experiment '\(checkpoint.experimentID)'")
            }
            let id = Identifier.make(length: 20)
            try db.execute("""
                INSERT INTO act_sessions (id, experiment_id, checkpoint_id, created_at, last_used_at, host)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [id, experimentID, checkpointID, now.storageSeconds, now.storageSeconds, host])
            return try ActSession.require(db, id: id)
        }
    }

    /// The session with this id, open or ended; throws `notFound` if there is none.
    public func session(id: String) throws -> ActSession {
        try read { db in try ActSession.require(db, id: id) }
    }

    /// Open sessions, most recently used first, optionally of one experiment or one host.
    public func openSessions(experimentID: String? = nil, host: String? = nil) throws -> [ActSession] {
        try read { db in
            var sql = "SELECT \(ActSession.columns) FROM act_sessions WHERE ended_at IS NULL"
            var arguments: SQLArguments = []
            if let host {
                sql += " AND host = ?"
                arguments += [host]
            }
            if let experimentID {
                sql += " AND experiment_id = ?"
                arguments += [experimentID]
            }
            return try db.query(sql + " ORDER BY last_used_at DESC, id", arguments).map(ActSession.init(row:))
        }
    }

    /// Marks an open session used now and adds `steps` to its action count.
    ///
    /// Throws `notFound` for an unknown id and `conflict` for an ended session.
    @discardableResult
    public func touchSession(id: String, steps: Int = 1, now: Date = Date()) throws -> ActSession {
        try write { db in
            let touched = try db.execute("""
                UPDATE act_sessions SET last_used_at = ?, steps = steps + ? WHERE id = ? AND ended_at IS NULL
                """, [now.storageSeconds, steps, id]) == 1
            let session = try ActSession.require(db, id: id)
            guard touched else {
                throw StorageError.conflict("session '\(id)' has ended (\(session.endReason ?? "ended"))")
            }
            return session
        }
    }

    /// Records the use of many open sessions in one transaction: each entry adds `steps` and
    /// moves `lastUsed` forward. Ended or unknown sessions are skipped.
    public func touchSessions(_ touches: [(id: String, steps: Int, lastUsed: Date)]) throws {
        guard !touches.isEmpty else { return }
        try write { db in
            try db.executeMany("""
                UPDATE act_sessions SET last_used_at = \(db.dialect.greatest("last_used_at", "?")), steps = steps + ?
                WHERE id = ? AND ended_at IS NULL
                """, touches.map { [$0.lastUsed.storageSeconds, $0.steps, $0.id] })
        }
    }

    /// Deletes a session record; throws `notFound` if there is none.
    public func deleteSession(id: String) throws {
        try write { db in
            if try db.execute("DELETE FROM act_sessions WHERE id = ?", [id]) == 0 {
                throw StorageError.notFound(kind: "session", id: id)
            }
        }
    }

    /// Ends the open sessions of `host` idle for longer than `idleFor` seconds.
    /// - Returns: the ids of the sessions ended, for the service to free their contexts.
    @discardableResult
    public func expireIdleSessions(idleFor: TimeInterval, host: String = "", now: Date = Date()) throws -> [String] {
        try endSessions(where: "last_used_at < ?", [now.storageSeconds - idleFor], host: host, reason: "expired", now: now)
    }

    /// Ends the least recently used open sessions of `host` beyond its newest `cap`.
    /// - Returns: the ids of the sessions ended.
    @discardableResult
    public func evictSessions(beyond cap: Int, host: String = "", now: Date = Date()) throws -> [String] {
        try endSessions(where: """
            id NOT IN (SELECT id FROM act_sessions WHERE ended_at IS NULL AND host = ? ORDER BY last_used_at DESC, id LIMIT ?)
            """, [host, max(cap, 0)], host: host, reason: "evicted", now: now)
    }

    /// Ends every open session of `host` (their in-memory contexts are gone after a restart).
    @discardableResult
    public func endOpenSessions(host: String = "", reason: String = "restart", now: Date = Date()) throws -> [String] {
        try endSessions(where: "TRUE", [], host: host, reason: reason, now: now)
    }

    /// Deletes ended session records older than `endedBefore`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func purgeEndedSessions(endedBefore: Date) throws -> Int {
        try write { db in
            try db.execute("DELETE FROM act_sessions WHERE ended_at IS NOT NULL AND ended_at < ?",
                           [endedBefore.storageSeconds])
        }
    }

    private func endSessions(where condition: String, _ arguments: SQLArguments, host: String,
                             reason: String, now: Date) throws -> [String] {
        try write { db in
            let ids = try db.strings("""
                SELECT id FROM act_sessions WHERE ended_at IS NULL AND host = ? AND \(condition) ORDER BY last_used_at, id
                """, [host] + arguments)
            try db.executeMany("UPDATE act_sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                               ids.map { [now.storageSeconds, reason, $0] })
            return ids
        }
    }
}
