import Foundation
internal import GRDB

/// The service's single SQLite database: experiments, status history, the job queue, metric
/// points, checkpoint records and `/act` sessions.
///
/// A file is opened as a GRDB `DatabasePool` in WAL mode, so readers never wait for the writer;
/// `:memory:` uses a `DatabaseQueue`. Every method is synchronous, thread-safe and runs in one
/// transaction; every failure is thrown as a `StorageError`.
public final class Store: @unchecked Sendable {
    // @unchecked: the only stored state is GRDB's writer, which serialises access itself.
    let writer: any DatabaseWriter
    private let gate = AccessGate()

    /// The path this store was opened with (`:memory:` for an in-memory database).
    public let path: String

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    /// - Parameters:
    ///   - path: a file path, or `:memory:` for a private in-memory database.
    ///   - busyTimeout: how long a connection waits for another process's lock before failing.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout)
        config.prepareDatabase { db in
            // WAL makes NORMAL durable across application crashes; only power loss can drop the
            // last transactions (https://sqlite.org/pragma.html#pragma_synchronous).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            if path == ":memory:" {
                writer = try DatabaseQueue(configuration: config)
            } else {
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                writer = try DatabasePool(path: path, configuration: config)
            }
            try Migrations.migrator.migrate(writer)
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// Opens a fresh private in-memory database.
    public static func inMemory() throws -> Store { try Store(path: ":memory:") }

    /// The identifiers of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// Runs `PRAGMA integrity_check` and returns its report (`["ok"]` when the file is sound).
    public func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// The journal mode in effect (`wal` for files, `memory` for `:memory:`).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Closes every connection after the accesses in flight finish (the WAL is checkpointed into
    /// the main file). Later calls throw `conflict`; closing twice does nothing.
    public func close() throws {
        do { _ = try gate.close { try writer.close() } } catch { throw StorageError.wrap(error) }
    }

    /// Runs raw SQL; a test hook for checking that failures carry their statement.
    public func executeRawSQL(_ sql: String) throws {
        try write { db in try db.execute(sql: sql) }
    }

    // MARK: - Access helpers

    /// Runs `body` in a write transaction, mapping every error to `StorageError`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try gate.run { try writer.write(body) } } catch { throw StorageError.wrap(error) }
    }

    /// Runs `body` in a read-only access (a snapshot, concurrent with writes on a pool).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try gate.run { try writer.read(body) } } catch { throw StorageError.wrap(error) }
    }
}
