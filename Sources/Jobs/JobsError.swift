import Foundation
import Storage

/// The one error type of the Jobs module.
///
/// The service maps `storage` through to the wrapped `StorageError`'s status, and the other
/// cases to 500 (they mean the pool was wired or driven wrongly).
public enum JobsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A database operation the pool needed failed; `operation` names what it was doing.
    case storage(operation: String, StorageError)
    /// A pool setting is out of range (e.g. zero workers or a non-positive interval).
    case invalidConfiguration(String)
    /// The call does not fit the pool's life cycle (e.g. `start()` twice, or after `shutdown`).
    case invalidState(String)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case let .storage(operation, error): return "\(operation): \(error)"
        case let .invalidConfiguration(message): return "invalid worker pool configuration: \(message)"
        case let .invalidState(message): return message
        }
    }

    /// The underlying storage error, if this wraps one (for HTTP status mapping).
    public var storageError: StorageError? {
        if case let .storage(_, error) = self { return error }
        return nil
    }

    /// Runs `body`, wrapping any `StorageError` (or other error) as `.storage(operation:)`.
    static func wrapping<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StorageError {
            throw JobsError.storage(operation: operation, error)
        } catch let error as JobsError {
            throw error
        } catch {
            throw JobsError.storage(operation: operation, .database(message: "\(error)", sql: nil))
        }
    }
}
