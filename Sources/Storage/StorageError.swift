import Foundation

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
    /// The database failed; `sql` is the statement that failed, when known.
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

    /// Whether a database refused a row because a UNIQUE constraint already held its value.
    var isUniqueViolation: Bool {
        guard case let .database(message, _) = self else { return false }
        return message.contains("UNIQUE constraint failed") || message.contains("duplicate key value")
    }
}
