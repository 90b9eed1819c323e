import Foundation
internal import GRDB

/// The embedded driver: one SQLite file through GRDB.
///
/// A file is opened as a `DatabasePool` in WAL mode, so readers never wait for the writer;
/// `:memory:` uses a `DatabaseQueue`.
final class SQLiteDriver: SQLDatabase, @unchecked Sendable {
    // @unchecked: the only stored state is GRDB's writer, which serialises access itself.
    private let writer: any DatabaseWriter
    let dialect = SQLDialect.sqlite

    init(path: String, busyTimeout: TimeInterval) throws {
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
            try Self.migrator.migrate(writer)
        } catch {
            throw Self.wrap(error)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all {
            migrator.registerMigration(migration.id) { db in try db.execute(sql: migration.sqlite) }
        }
        return migrator
    }

    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        do { return try writer.write { db in try body(SQLiteTransaction(db: db)) } } catch { throw Self.wrap(error) }
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        do { return try writer.read { db in try body(SQLiteTransaction(db: db)) } } catch { throw Self.wrap(error) }
    }

    func appliedMigrations() throws -> [String] {
        do { return try writer.read { db in try Self.migrator.appliedMigrations(db) } } catch { throw Self.wrap(error) }
    }

    func close() throws {
        do { try writer.close() } catch { throw Self.wrap(error) }
    }

    static func wrap(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        if let error = error as? DatabaseError {
            return .database(message: error.message ?? "\(error.resultCode)", sql: error.sql)
        }
        return .database(message: "\(error)", sql: nil)
    }
}

/// A GRDB connection inside one transaction.
private struct SQLiteTransaction: SQLTransaction {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func query(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            SQLRow(columns: Array(row.columnNames), values: row.databaseValues.map(Self.value))
        }
    }

    func executeMany(_ sql: String, _ argumentLists: [SQLArguments]) throws {
        let statement = try db.cachedStatement(sql: sql)
        for arguments in argumentLists {
            statement.setUncheckedArguments(Self.arguments(arguments))
            try statement.execute()
        }
    }

    private static func arguments(_ arguments: SQLArguments) -> StatementArguments {
        StatementArguments(arguments.sqlValues.map { value -> DatabaseValue in
            switch value {
            case .null: return .null
            case let .integer(v): return v.databaseValue
            case let .real(v): return v.databaseValue
            case let .text(v): return v.databaseValue
            case let .blob(v): return Data(v).databaseValue
            }
        })
    }

    private static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case let .int64(v): return .integer(v)
        case let .double(v): return .real(v)
        case let .string(v): return .text(v)
        case let .blob(v): return .blob([UInt8](v))
        }
    }
}
