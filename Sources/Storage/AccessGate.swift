import Foundation

/// Lets database accesses run concurrently until `close`, after which they are refused.
///
/// GRDB connections must not be used once closed (SQLite would dereference a freed handle), so
/// `close` waits for accesses already in flight and every later access throws instead.
final class AccessGate: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var inFlight = 0
    private var isClosed = false

    /// Runs `body` unless the gate is closed.
    func run<T>(_ body: () throws -> T) throws -> T {
        condition.lock()
        guard !isClosed else {
            condition.unlock()
            throw StorageError.conflict("the database is closed")
        }
        inFlight += 1
        condition.unlock()
        defer {
            condition.lock()
            inFlight -= 1
            if inFlight == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body()
    }

    /// Refuses new accesses, waits for running ones, then runs `body` once.
    /// - Returns: false if the gate was already closed (and `body` did not run).
    func close(_ body: () throws -> Void) throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isClosed else { return false }
        isClosed = true
        while inFlight > 0 { condition.wait() }
        try body()
        return true
    }
}
