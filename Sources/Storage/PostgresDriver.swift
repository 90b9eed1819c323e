import Foundation
internal import PostgresNIO

/// Where a PostgreSQL database is, read from a `postgres://` URL.
struct PostgresLocation: Sendable {
    enum TLSMode: String, Sendable {
        /// Plain TCP (loopback, a Unix socket, or a network the operator trusts).
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection.
        case require
    }

    var host: String?
    var socketPath: String?
    var port: Int
    var user: String
    var password: String?
    var database: String
    /// A schema to create if needed and put first on the search path (test isolation, or
    /// several deployments in one database).
    var schema: String?
    var tls: TLSMode

    /// Reads `postgres://user[:password]@host[:port]/database[?schema=…&sslmode=…&host=/dir]`.
    /// - Returns: nil when `url` is not a PostgreSQL URL.
    init?(url: String) throws {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { return nil }
        guard let components = URLComponents(string: url) else {
            throw StorageError.invalidArgument("'\(Self.redact(url))' is not a valid URL; expected postgres://user@host[:port]/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
                               uniquingKeysWith: { _, last in last })
        for name in query.keys where !["schema", "sslmode", "host"].contains(name) {
            throw StorageError.invalidArgument("unknown option '\(name)' in the database URL; known: schema, sslmode, host")
        }
        port = components.port ?? 5432
        user = components.user.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        password = components.password?.removingPercentEncoding
        database = String(components.path.drop(while: { $0 == "/" }))
        if database.isEmpty { database = user }
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            socketPath = socketDirectory + "/.s.PGSQL.\(port)"
        } else if let host = components.host, !host.isEmpty {
            self.host = host
        } else {
            socketPath = "/var/run/postgresql/.s.PGSQL.\(port)"
        }
        if let schema = query["schema"] {
            guard !schema.isEmpty, schema.count <= 63,
                  schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                  !(schema.first?.isNumber ?? true) else {
                throw StorageError.invalidArgument("schema '\(schema)' must be 1–63 letters, digits or _, not starting with a digit")
            }
            self.schema = schema.lowercased()
        }
        let mode = query["sslmode"] ?? (host == nil || host == "localhost" || host == "127.0.0.1" ? "disable" : "prefer")
        guard let tls = TLSMode(rawValue: mode) else {
            throw StorageError.invalidArgument("sslmode '\(mode)' is not one of disable, prefer, require")
        }
        self.tls = tls
    }

    /// The URL without its password, for logs and `Store.path`.
    var redacted: String {
        var text = "postgres://\(user)@\(host ?? "")"
        if host != nil, port != 5432 { text += ":\(port)" }
        text += "/\(database)"
        var options: [String] = []
        if let schema { options.append("schema=\(schema)") }
        if let socketPath { options.append("host=\((socketPath as NSString).deletingLastPathComponent)") }
        return options.isEmpty ? text : text + "?" + options.joined(separator: "&")
    }

    static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

/// The shared driver: a PostgreSQL server through postgres-nio.
///
/// A small pool of connections (at most `maxConnections`), each used by one transaction at a
/// time; callers block on an event-loop future, so the store stays synchronous like the SQLite
/// driver. Writes run in READ COMMITTED with row locks where a decision depends on a row
/// (`FOR UPDATE`), reads in a REPEATABLE READ snapshot; a transaction the server aborts for a
/// serialization failure or a deadlock is run again from the start.
final class PostgresDriver: SQLDatabase, @unchecked Sendable {
    // @unchecked: `idle`, `open` and `isClosed` are guarded by `condition`; the rest is immutable.
    let dialect = SQLDialect.postgres
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let configuration: PostgresConnection.Configuration
    private let schema: String?
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var isClosed = false
    private var nextID = 0
    private let maxConnections = 8
    private static let retries = 5

    init(location: PostgresLocation) throws {
        var logger = Logger(label: "amago.storage.postgres")
        logger.logLevel = .critical
        self.logger = logger
        schema = location.schema
        var configuration: PostgresConnection.Configuration
        if let socketPath = location.socketPath {
            configuration = .init(unixSocketPath: socketPath, username: location.user, password: location.password,
                                  database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            configuration = .init(host: location.host ?? "localhost", port: location.port, username: location.user,
                                  password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
        do {
            try migrate()
        } catch {
            try? close()
            throw Self.wrap(error)
        }
    }

    deinit {
        try? group.syncShutdownGracefully()
    }

    // MARK: Transactions

    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN", body)
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<T>(_ begin: String, _ body: (any SQLTransaction) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try withConnection { connection in
                    let transaction = PostgresTransaction(connection: connection, logger: logger)
                    try transaction.run(begin)
                    do {
                        let result = try body(transaction)
                        try transaction.run("COMMIT")
                        return result
                    } catch {
                        try? transaction.run("ROLLBACK")
                        throw error
                    }
                }
            } catch let failure as PostgresFailure where failure.isRetryable && attempt < Self.retries {
                attempt += 1
            } catch {
                throw Self.wrap(error)
            }
        }
    }

    func appliedMigrations() throws -> [String] {
        try read { db in try db.strings("SELECT id FROM schema_migrations ORDER BY applied_order") }
    }

    /// Applies the migrations not yet recorded, under an advisory lock so hosts starting at
    /// once do not race.
    private func migrate() throws {
        try write { db in
            try db.execute("SELECT pg_advisory_xact_lock(7234001)")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    id TEXT PRIMARY KEY, applied_order BIGINT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)
                """)
            let applied = Set(try db.strings("SELECT id FROM schema_migrations"))
            for (order, migration) in Migrations.all.enumerated() where !applied.contains(migration.id) {
                // One statement per query: the extended protocol takes no more (the texts hold
                // no semicolon but between statements).
                for statement in migration.postgres.split(separator: ";")
                where !statement.allSatisfy(\.isWhitespace) {
                    try db.execute(String(statement))
                }
                try db.execute("INSERT INTO schema_migrations (id, applied_order, applied_at) VALUES (?, ?, ?)",
                               [migration.id, order, Date().storageSeconds])
            }
        }
    }

    // MARK: The pool

    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkOut()
        var healthy = true
        defer { checkIn(connection, healthy: healthy && !connection.isClosed) }
        do {
            return try body(connection)
        } catch let failure as PostgresFailure {
            healthy = !failure.isConnectionLost
            throw failure
        }
    }

    private func checkOut() throws -> PostgresConnection {
        condition.lock()
        while !isClosed && idle.isEmpty && open >= maxConnections { condition.wait() }
        if isClosed {
            condition.unlock()
            throw StorageError.conflict("the database is closed")
        }
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        open += 1
        nextID += 1
        let id = nextID
        condition.unlock()
        do {
            return try connect(id: id)
        } catch {
            condition.withLock {
                open -= 1
                condition.signal()
            }
            throw error
        }
    }

    private func connect(id: Int) throws -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id,
                                                        logger: logger).wait()
        } catch {
            throw PostgresFailure(error, sql: nil)
        }
        if let schema {
            let setup = PostgresTransaction(connection: connection, logger: logger)
            // Two hosts may create the schema at once; the loser's error is harmless.
            do { try setup.run("CREATE SCHEMA IF NOT EXISTS \(schema)") } catch let failure as PostgresFailure
                where failure.sqlState == "23505" || failure.sqlState == "42P06" {}
            try setup.run("SET search_path TO \(schema)")
        }
        return connection
    }

    private func checkIn(_ connection: PostgresConnection, healthy: Bool) {
        condition.lock()
        if healthy && !isClosed {
            idle.append(connection)
        } else {
            open -= 1
            connection.close().whenComplete { _ in }
        }
        condition.signal()
        condition.unlock()
    }

    func close() throws {
        let connections: [PostgresConnection] = condition.withLock {
            isClosed = true
            let all = idle
            idle = []
            open -= all.count
            condition.broadcast()
            return all
        }
        for connection in connections { try? connection.close().wait() }
    }

    static func wrap(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        if let failure = error as? PostgresFailure { return .database(message: failure.message, sql: failure.sql) }
        return .database(message: "\(error)", sql: nil)
    }
}

/// A PostgreSQL error with its SQLSTATE, while it can still decide a retry.
struct PostgresFailure: Error {
    var sqlState: String?
    var message: String
    var sql: String?
    var isConnectionLost: Bool

    init(_ error: any Error, sql: String?) {
        self.sql = sql
        if let error = error as? PSQLError {
            let state = error.serverInfo?[.sqlState]
            sqlState = state
            if let server = error.serverInfo?[.message] {
                message = "\(server) (SQLSTATE \(state ?? "?"))"
            } else {
                message = "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
            }
            isConnectionLost = error.serverInfo == nil
        } else {
            sqlState = nil
            message = "\(error)"
            isConnectionLost = true
        }
    }

    /// Serialization failures and deadlocks: the server rolled the transaction back, and running
    /// it again is the documented remedy.
    var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
}

/// One connection inside one transaction.
private struct PostgresTransaction: SQLTransaction {
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgres }

    func run(_ sql: String) throws {
        _ = try result(sql, [])
    }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try result(sql, arguments).metadata.rows ?? 0
    }

    func query(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        try result(sql, arguments).rows.map { row in
            var columns: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                columns.append(cell.columnName)
                values.append(try Self.value(cell))
            }
            return SQLRow(columns: columns, values: values)
        }
    }

    /// An `INSERT … VALUES (?, …)` is sent as multi-row inserts of up to 1000 rows (one round
    /// trip per batch instead of per row); other statements run once per argument list.
    func executeMany(_ sql: String, _ argumentLists: [SQLArguments]) throws {
        let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.uppercased().hasPrefix("INSERT"), let values = trimmed.range(of: "VALUES", options: [.caseInsensitive, .backwards]),
              trimmed[values.upperBound...].trimmingCharacters(in: .whitespaces).hasPrefix("("), trimmed.hasSuffix(")"),
              let width = argumentLists.first?.count, width > 0 else {
            for arguments in argumentLists { _ = try result(sql, arguments) }
            return
        }
        let head = trimmed[..<values.upperBound]
        let row = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        let rowsPerBatch = min(1000, 65_535 / width)
        for start in stride(from: 0, to: argumentLists.count, by: rowsPerBatch) {
            let batch = argumentLists[start..<min(start + rowsPerBatch, argumentLists.count)]
            let statement = String(head) + " " + Array(repeating: row, count: batch.count).joined(separator: ", ")
            _ = try result(statement, batch.flatMap { $0 })
        }
    }

    private func result(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for value in arguments.sqlValues {
            switch value {
            case .null: bindings.appendNull()
            case let .integer(v): bindings.append(v)
            case let .real(v): bindings.append(v)
            case let .text(v): bindings.append(v)
            case let .blob(v): bindings.append(ByteBuffer(bytes: v))
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberPlaceholders(sql), binds: bindings)
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw PostgresFailure(error, sql: sql)
        }
    }

    /// Rewrites `?` placeholders as `$1, $2, …` (outside quoted text).
    static func numberPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .numeric:
                let text = try cell.decode(String.self)
                return Double(text).map(SQLValue.real) ?? .text(text)
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            default: return .text(try cell.decode(String.self))
            }
        } catch {
            throw PostgresFailure(error, sql: nil)
        }
    }
}
