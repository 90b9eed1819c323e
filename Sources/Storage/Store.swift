import Foundation

/// The service's database: experiments, status history, the job queue, metric points,
/// checkpoint records and `/act` sessions.
///
/// Two drivers run the same queries: SQLite (a file, the embedded default) and PostgreSQL (one
/// database shared by the hosts of a cluster). Every method is synchronous, thread-safe and runs
/// in one transaction; every failure is thrown as a `StorageError`.
public final class Store: @unchecked Sendable {
    // @unchecked: the driver serialises access itself and the gate is locked.
    let database: any SQLDatabase
    private let gate = AccessGate()

    /// Where this store lives: a file path (`:memory:` for an in-memory database) or a
    /// `postgres://` URL with its password removed.
    public let path: String

    /// Opens (creating if needed) the SQLite database at `path` and runs pending migrations.
    /// - Parameters:
    ///   - path: a file path, or `:memory:` for a private in-memory database.
    ///   - busyTimeout: how long a connection waits for another process's lock before failing.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        database = try SQLiteDriver(path: path, busyTimeout: busyTimeout)
    }

    /// Opens the database that `location` names and runs pending migrations:
    /// - `postgres://user[:password]@host[:port]/database[?schema=…&sslmode=…&host=/socket/dir]`
    ///   (or `postgresql://`): PostgreSQL;
    /// - `sqlite:PATH`, or any other text: a SQLite file at that path (`:memory:` for memory).
    public convenience init(database location: String) throws {
        if let configuration = try PostgresLocation(url: location) {
            try self.init(driver: PostgresDriver(location: configuration), path: configuration.redacted)
        } else {
            let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
            try self.init(path: path)
        }
    }

    init(driver: any SQLDatabase, path: String) {
        database = driver
        self.path = path
    }

    /// Opens a fresh private in-memory database.
    public static func inMemory() throws -> Store { try Store(path: ":memory:") }

    /// Whether this store is a PostgreSQL database (shared by hosts) rather than a SQLite file.
    public var isShared: Bool { database.dialect == .postgres }

    /// The identifiers of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try gate.run { try database.appliedMigrations() }
    }

    /// Runs SQLite's `PRAGMA integrity_check` and returns its report (`["ok"]` when the file is
    /// sound); on PostgreSQL, which checks its own pages, it checks that the schema answers.
    public func integrityCheck() throws -> [String] {
        try read { db in
            switch db.dialect {
            case .sqlite: return try db.strings("PRAGMA integrity_check")
            case .postgres:
                _ = try db.query("SELECT count(*) AS n FROM experiments", [])
                return ["ok"]
            }
        }
    }

    /// SQLite's journal mode (`wal` for files, `memory` for `:memory:`); `postgres` on PostgreSQL.
    public func journalMode() throws -> String {
        try read { db in
            db.dialect == .sqlite ? (try db.strings("PRAGMA journal_mode").first ?? "") : "postgres"
        }
    }

    /// Closes every connection after the accesses in flight finish (a SQLite WAL is checkpointed
    /// into the main file). Later calls throw `conflict`; closing twice does nothing.
    public func close() throws {
        _ = try gate.close { try database.close() }
    }

    /// Runs raw SQL; a test hook for checking that failures carry their statement.
    public func executeRawSQL(_ sql: String) throws {
        _ = try write { db in try db.execute(sql) }
    }

    // MARK: - Access helpers

    /// Runs `body` in a write transaction.
    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try gate.run { try database.write(body) }
    }

    /// Runs `body` in a read-only access (a snapshot, concurrent with writes).
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try gate.run { try database.read(body) }
    }
}
