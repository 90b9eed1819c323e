import Foundation
import Storage

/// The database a test opens: a SQLite file in the test's folder, or, when the suite runs
/// against PostgreSQL (`AMAGO_TEST_DATABASE=postgres` with `AMAGO_TEST_POSTGRES` holding the
/// server's URL, as `./dev test` sets for its second pass), a fresh schema on that server.
public enum TestDatabase {
    /// The throwaway server's URL, when one is configured.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["AMAGO_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the suites that open "the database" should use PostgreSQL.
    public static var usesPostgres: Bool {
        ProcessInfo.processInfo.environment["AMAGO_TEST_DATABASE"] == "postgres" && postgresURL != nil
    }

    /// A location for `Store(database:)`: `amago.sqlite` in `folder`, or a new schema.
    public static func location(in folder: URL) -> String {
        usesPostgres ? newSchemaLocation() : folder.appendingPathComponent("amago.sqlite").path
    }

    /// The server's URL with a schema of its own (`?schema=t_<random>`).
    public static func newSchemaLocation() -> String {
        let base = postgresURL ?? ""
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    /// Drops the schema of a PostgreSQL location (a SQLite file goes with its folder).
    public static func remove(_ location: String) {
        guard location.hasPrefix("postgres"), let schema = location.components(separatedBy: "schema=").last,
              let cleaner = try? Store(database: location) else { return }
        try? cleaner.executeRawSQL("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        try? cleaner.close()
    }
}
