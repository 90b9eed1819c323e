import Foundation

// The small SQL interface every query of the store is written against, so one set of queries
// runs on both drivers: SQLite (embedded, through GRDB) and PostgreSQL (shared by many hosts,
// through postgres-nio). Statements use `?` placeholders; a driver rewrites them as it needs.

/// A value bound to a statement or read from a row.
enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Something that can be bound to a `?` placeholder.
protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension Int: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLBindable { var sqlValue: SQLValue { isNaN ? .null : .real(self) } }
extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension SQLValue: SQLBindable { var sqlValue: SQLValue { self } }

/// The arguments of one statement, in placeholder order; nil binds NULL.
typealias SQLArguments = [(any SQLBindable)?]

extension Array where Element == (any SQLBindable)? {
    var sqlValues: [SQLValue] { map { $0?.sqlValue ?? .null } }
}

/// One result row, read by column name.
struct SQLRow {
    let columns: [String]
    let values: [SQLValue]

    subscript(_ name: String) -> SQLValue {
        guard let index = columns.firstIndex(of: name) else { return .null }
        return values[index]
    }

    private func mismatch(_ name: String, _ expected: String) -> StorageError {
        .database(message: "column '\(name)' holds \(self[name]), expected \(expected)", sql: nil)
    }

    func optionalInt(_ name: String) throws -> Int? {
        switch self[name] {
        case .null: return nil
        case let .integer(value): return Int(value)
        case let .real(value) where value == value.rounded(): return Int(value)
        default: throw mismatch(name, "an integer")
        }
    }

    func int(_ name: String) throws -> Int {
        guard let value = try optionalInt(name) else { throw mismatch(name, "an integer") }
        return value
    }

    func int64(_ name: String) throws -> Int64 { Int64(try int(name)) }

    func optionalDouble(_ name: String) throws -> Double? {
        switch self[name] {
        case .null: return nil
        case let .integer(value): return Double(value)
        case let .real(value): return value
        default: throw mismatch(name, "a number")
        }
    }

    func double(_ name: String) throws -> Double {
        guard let value = try optionalDouble(name) else { throw mismatch(name, "a number") }
        return value
    }

    /// A number, or NaN for NULL (how NaN values are stored).
    func doubleOrNaN(_ name: String) throws -> Double { try optionalDouble(name) ?? .nan }

    func optionalDate(_ name: String) throws -> Date? { try optionalDouble(name).map(Date.init(storageSeconds:)) }

    func date(_ name: String) throws -> Date { Date(storageSeconds: try double(name)) }

    func optionalString(_ name: String) throws -> String? {
        switch self[name] {
        case .null: return nil
        case let .text(value): return value
        default: throw mismatch(name, "text")
        }
    }

    func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else { throw mismatch(name, "text") }
        return value
    }

    func bytes(_ name: String) throws -> [UInt8] {
        switch self[name] {
        case let .blob(value): return value
        case .null: return []
        default: throw mismatch(name, "bytes")
        }
    }
}

/// Where the two SQL dialects differ, for the few queries that must say it differently.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// Appended to the queue's SELECT so concurrent claimers skip each other's rows.
    var skipLockedRows: String { self == .postgres ? "FOR UPDATE SKIP LOCKED" : "" }

    /// The larger of two values in one row (SQLite's scalar `max`, PostgreSQL's `GREATEST`).
    func greatest(_ a: String, _ b: String) -> String {
        self == .postgres ? "GREATEST(\(a), \(b))" : "max(\(a), \(b))"
    }

    /// The smaller of two values in one row.
    func least(_ a: String, _ b: String) -> String {
        self == .postgres ? "LEAST(\(a), \(b))" : "min(\(a), \(b))"
    }

    /// The integer part of a non-negative expression.
    func truncate(_ expression: String) -> String {
        self == .postgres ? "CAST(floor(\(expression)) AS BIGINT)" : "CAST(\(expression) AS INTEGER)"
    }
}

/// One transaction on one connection: every statement a body runs commits or rolls back together.
protocol SQLTransaction {
    var dialect: SQLDialect { get }
    /// Runs a statement that returns no rows; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int
    /// Runs a query and returns every row.
    func query(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow]
    /// Runs one statement once per argument list (prepared once where the driver can).
    func executeMany(_ sql: String, _ argumentLists: [SQLArguments]) throws
}

extension SQLTransaction {
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    func queryOne(_ sql: String, _ arguments: SQLArguments = []) throws -> SQLRow? {
        try query(sql, arguments).first
    }

    /// Whether the query returns at least one row.
    func exists(_ sql: String, _ arguments: SQLArguments = []) throws -> Bool {
        try !query(sql, arguments).isEmpty
    }

    /// The first column of every row, as text.
    func strings(_ sql: String, _ arguments: SQLArguments = []) throws -> [String] {
        try query(sql, arguments).map { row in try row.string(row.columns[0]) }
    }

    /// The first column of the first row as an integer (nil when absent or NULL).
    func integer(_ sql: String, _ arguments: SQLArguments = []) throws -> Int64? {
        guard let row = try queryOne(sql, arguments), let name = row.columns.first else { return nil }
        return try row.optionalInt(name).map(Int64.init)
    }
}

/// A database the store can run transactions on.
protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` in a read-write transaction, retried from the start if the database reports
    /// a serialization failure or deadlock.
    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    /// The ids of the applied migrations, in order.
    func appliedMigrations() throws -> [String]
    /// Closes every connection.
    func close() throws
}
