import Foundation
internal import GRDB

/// The one error type of the Storage module.
///
/// The service maps each case to an HTTP status: `notFound` → 404, `illegalTransition` and
/// `conflict` → 409, `idempotencyConflict` → 422, `invalidArgument` → 400, `database` → 500.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No record of `kind` (e.g. "experiment", "checkpoint", "session") has this id.
    case notFound(kind: String, id: String)
    /// The experiment's status may not move from `from` to `to`.
    case illegalTransition(from: ExperimentStatus, to: ExperimentStatus)
    /// An idempotency key was reused with a different request body.
    case idempotencyConflict(key: String)
    /// The operation contradicts the record's current state (e.g. deleting a running experiment).
    case conflict(String)
    /// A caller-supplied argument is malformed (e.g. an unreadable pagination cursor).
    case invalidArgument(String)
    /// SQLite or GRDB failed; `sql` is the statement that failed, when known.
    case database(message: String, sql: String?)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case let .notFound(kind, id): return "\(kind) '\(id)' not found"
        case let .illegalTransition(from, to): return "illegal status transition \(from.rawValue) → \(to.rawValue)"
        case let .idempotencyConflict(key):
            return "idempotency key '\(key)' was already used with a different request body"
        case let .conflict(message): return message
        case let .invalidArgument(message): return message
        case let .database(message, sql):
            if let sql { return "database error: \(message) (SQL: \(sql))" }
            return "database error: \(message)"
        }
    }

    /// Wraps any error thrown inside a database access into a `StorageError`.
    static func wrap(_ error: Error) -> StorageError {
        if let error = error as? StorageError { return error }
        if let error = error as? DatabaseError {
            return .database(message: error.message ?? "\(error.resultCode)", sql: error.sql)
        }
        return .database(message: "\(error)", sql: nil)
    }
}
