import Foundation

/// The database's reference to a saved model.
///
/// The weights live as a safetensors file in the data folder; the database holds only its
/// relative path and metadata, so the database stays small and a checkpoint can be streamed
/// to `GET /checkpoints/{id}` straight from disk. Write the file first, then record it.
public struct CheckpointRecord: Equatable, Sendable {
    /// A 12-character URL-safe random id.
    public var id: String
    /// The experiment it belongs to.
    public var experimentID: String
    /// The epoch after which it was saved.
    public var epoch: Int
    /// Environment steps at that time.
    public var environmentSteps: Int
    /// Gradient steps at that time.
    public var gradientSteps: Int
    /// The evaluation return at that time, if an evaluation ran.
    public var evalReturn: Double?
    /// The weights file, relative to the data folder.
    public var path: String
    /// The file's size in bytes.
    public var sizeBytes: Int
    /// When it was recorded.
    public var createdAt: Date

    static let columns = "id, experiment_id, epoch, env_steps, grad_steps, eval_return, path, size_bytes, created_at"

    init(row: SQLRow) throws {
        id = try row.string("id")
        experimentID = try row.string("experiment_id")
        epoch = try row.int("epoch")
        environmentSteps = try row.int("env_steps")
        gradientSteps = try row.int("grad_steps")
        evalReturn = try row.optionalDouble("eval_return")
        path = try row.string("path")
        sizeBytes = try row.int("size_bytes")
        createdAt = try row.date("created_at")
    }
}

/// What a worker records after writing a checkpoint file.
public struct NewCheckpoint: Equatable, Sendable {
    /// The epoch after which it was saved.
    public var epoch: Int
    /// Environment steps at that time.
    public var environmentSteps: Int
    /// Gradient steps at that time.
    public var gradientSteps: Int
    /// The evaluation return at that time, if known.
    public var evalReturn: Double?
    /// The weights file, relative to the data folder (unique).
    public var path: String
    /// The file's size in bytes.
    public var sizeBytes: Int

    /// Describes a checkpoint file.
    public init(epoch: Int, environmentSteps: Int, gradientSteps: Int, evalReturn: Double? = nil,
                path: String, sizeBytes: Int) {
        self.epoch = epoch
        self.environmentSteps = environmentSteps
        self.gradientSteps = gradientSteps
        self.evalReturn = evalReturn
        self.path = path
        self.sizeBytes = sizeBytes
    }
}

extension Store {
    /// Records a checkpoint file of an experiment.
    @discardableResult
    public func addCheckpoint(_ new: NewCheckpoint, experimentID: String, now: Date = Date()) throws -> CheckpointRecord {
        try write { db in
            try requireExperimentExists(db, id: experimentID)
            return try insertCheckpoint(db, new, experimentID: experimentID, now: now)
        }
    }

    /// Records a checkpoint file, or, when its path is already recorded (the file was saved
    /// again, as a stop does for the epoch it closes), updates that record's epoch, step counts,
    /// evaluation return and size in place: its id, creation time and sessions stay.
    /// Throws `conflict` if the path is recorded for another experiment.
    @discardableResult
    public func upsertCheckpoint(_ new: NewCheckpoint, experimentID: String, now: Date = Date()) throws -> CheckpointRecord {
        try write { db in
            try requireExperimentExists(db, id: experimentID)
            guard let existing = try CheckpointRecord.fetchOne(db, "WHERE path = ?", [new.path]) else {
                return try insertCheckpoint(db, new, experimentID: experimentID, now: now)
            }
            guard existing.experimentID == experimentID else {
                throw StorageError.conflict("checkpoint file '\(new.path)' is recorded for experiment '\(existing.experimentID)'")
            }
            try db.execute("""
                UPDATE checkpoints SET epoch = ?, env_steps = ?, grad_steps = ?, eval_return = ?, size_bytes = ?
                WHERE id = ?
                """, [new.epoch, new.environmentSteps, new.gradientSteps, new.evalReturn, new.sizeBytes, existing.id])
            return try CheckpointRecord.requireOne(db, "WHERE id = ?", [existing.id], missing: existing.id)
        }
    }

    private func insertCheckpoint(_ db: any SQLTransaction, _ new: NewCheckpoint, experimentID: String, now: Date) throws -> CheckpointRecord {
        let id = Identifier.make()
        try db.execute("""
            INSERT INTO checkpoints (id, experiment_id, epoch, env_steps, grad_steps, eval_return, path, size_bytes, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [id, experimentID, new.epoch, new.environmentSteps, new.gradientSteps,
                  new.evalReturn, new.path, new.sizeBytes, now.storageSeconds])
        return try CheckpointRecord.requireOne(db, "WHERE id = ?", [id], missing: id)
    }

    /// The checkpoint with this id; throws `notFound` if there is none.
    public func checkpoint(id: String) throws -> CheckpointRecord {
        try read { db in try CheckpointRecord.requireOne(db, "WHERE id = ?", [id], missing: id) }
    }

    /// An experiment's checkpoints in training order.
    public func checkpoints(experimentID: String) throws -> [CheckpointRecord] {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try db.query("SELECT \(CheckpointRecord.columns) FROM checkpoints WHERE experiment_id = ? ORDER BY epoch, created_at, id",
                                [experimentID]).map(CheckpointRecord.init(row:))
        }
    }

    /// The most advanced checkpoint (highest epoch, then newest), or nil if none was saved.
    public func latestCheckpoint(experimentID: String) throws -> CheckpointRecord? {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try CheckpointRecord.fetchOne(db, "WHERE experiment_id = ? ORDER BY epoch DESC, created_at DESC, id DESC LIMIT 1",
                                           [experimentID])
        }
    }

    /// The checkpoint with the highest evaluation return (ties: the later one), or nil if no
    /// checkpoint has one.
    public func bestCheckpoint(experimentID: String) throws -> CheckpointRecord? {
        try read { db in
            try requireExperimentExists(db, id: experimentID)
            return try CheckpointRecord.fetchOne(db, """
                WHERE experiment_id = ? AND eval_return IS NOT NULL
                ORDER BY eval_return DESC, epoch DESC, created_at DESC LIMIT 1
                """, [experimentID])
        }
    }

    /// Deletes the checkpoint records saved after `epoch` (and their sessions).
    /// - Returns: their file paths, for the caller to remove.
    @discardableResult
    public func deleteCheckpoints(experimentID: String, afterEpoch epoch: Int) throws -> [String] {
        try write { db in
            try requireExperimentExists(db, id: experimentID)
            let paths = try db.strings("SELECT path FROM checkpoints WHERE experiment_id = ? AND epoch > ?",
                                       [experimentID, epoch])
            try db.execute("DELETE FROM checkpoints WHERE experiment_id = ? AND epoch > ?", [experimentID, epoch])
            return paths
        }
    }
}

extension Store {
    /// The size of one stored piece of a checkpoint's content (PostgreSQL's TOAST and SQLite's
    /// overflow pages handle a megabyte comfortably, and a row never nears their 1 GB limits).
    public static let checkpointChunkSize = 1 << 20

    /// Stores a checkpoint's weights file in the database, replacing any stored before, so hosts
    /// that do not share the trainer's disk can serve it.
    public func storeCheckpointContent(id: String, bytes: [UInt8]) throws {
        try write { db in
            _ = try CheckpointRecord.requireOne(db, "WHERE id = ?", [id], missing: id)
            try db.execute("DELETE FROM checkpoint_chunks WHERE checkpoint_id = ?", [id])
            let chunks = stride(from: 0, to: bytes.count, by: Self.checkpointChunkSize).map { start -> SQLArguments in
                let end = min(start + Self.checkpointChunkSize, bytes.count)
                return [id, start / Self.checkpointChunkSize, SQLValue.blob(Array(bytes[start..<end]))]
            }
            try db.executeMany("INSERT INTO checkpoint_chunks (checkpoint_id, seq, data) VALUES (?, ?, ?)", chunks)
        }
    }

    /// A checkpoint's weights file as stored in the database, or nil if only its path is recorded.
    public func checkpointContent(id: String) throws -> [UInt8]? {
        try read { db in
            _ = try CheckpointRecord.requireOne(db, "WHERE id = ?", [id], missing: id)
            let rows = try db.query("SELECT data FROM checkpoint_chunks WHERE checkpoint_id = ? ORDER BY seq", [id])
            guard !rows.isEmpty else { return nil }
            var bytes: [UInt8] = []
            for row in rows { bytes += try row.bytes("data") }
            return bytes
        }
    }
}

extension CheckpointRecord {
    static func fetchOne(_ db: any SQLTransaction, _ clause: String, _ arguments: SQLArguments) throws -> CheckpointRecord? {
        try db.queryOne("SELECT \(columns) FROM checkpoints \(clause)", arguments).map(CheckpointRecord.init(row:))
    }

    static func requireOne(_ db: any SQLTransaction, _ clause: String, _ arguments: SQLArguments,
                           missing id: String) throws -> CheckpointRecord {
        guard let checkpoint = try fetchOne(db, clause, arguments) else {
            throw StorageError.notFound(kind: "checkpoint", id: id)
        }
        return checkpoint
    }
}
