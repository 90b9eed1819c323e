import Foundation
import Storage
import TestSupport

/// Where a test's store lives; every storage test runs on each.
///
/// `postgres` joins when `AMAGO_TEST_POSTGRES` holds a server's URL (`./dev test` starts a
/// throwaway server and sets it); each test then gets a schema of its own.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case memory
    case file
    case postgres

    var description: String { rawValue }

    static var allCases: [StoreKind] {
        TestDatabase.postgresURL == nil ? [.memory, .file] : [.memory, .file, .postgres]
    }

    /// The kinds that more than one connection can open: a file and a server.
    static var shared: [StoreKind] { allCases.filter { $0 != .memory } }
}

/// A store plus what backs it (a temporary folder, or a PostgreSQL schema); see `withStore`.
final class TestStore {
    let kind: StoreKind
    let store: Store
    /// What `Store(database:)` opens to reach the same database again.
    let location: String
    let directory: URL?

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .memory:
            directory = nil
            location = ":memory:"
        case .file:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("storage-tests-\(UUID().uuidString)")
            self.directory = directory
            location = directory.appendingPathComponent("amago.sqlite").path
        case .postgres:
            directory = nil
            location = TestDatabase.newSchemaLocation()
        }
        store = try Store(database: location)
    }

    /// Opens a second store on the same database (another connection, as another process would).
    func openAnother() throws -> Store { try Store(database: location) }

    /// The database file path (nil unless `file`).
    var filePath: String? { directory?.appendingPathComponent("amago.sqlite").path }

    func removeFiles() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        try? store.close()
        TestDatabase.remove(location)
    }
}

/// Runs `body` on a fresh store of `kind`, removing what backs it afterwards.
func withTestStore(_ kind: StoreKind, _ body: (TestStore) throws -> Void) throws {
    let test = try TestStore(kind)
    defer { test.removeFiles() }
    try body(test)
}

/// Runs `body` on a fresh store of `kind`, removing what backs it afterwards.
func withStore(_ kind: StoreKind, _ body: (Store) throws -> Void) throws {
    try withTestStore(kind) { try body($0.store) }
}

extension Store {
    /// Creates a queued experiment with placeholder fields.
    func makeExperiment(name: String = "run", environment: String = "t_maze", now: Date = Date(),
                        key: String? = nil, hash: String? = nil) throws -> ExperimentRecord {
        try createExperiment(NewExperiment(name: name, environment: environment, spec: #"{"env":"\#(environment)"}"#,
                                           epochs: 10, idempotencyKey: key, requestHash: hash), now: now).experiment
    }

    /// Creates an experiment and walks it to `status` along legal transitions.
    func makeExperiment(in status: ExperimentStatus) throws -> ExperimentRecord {
        let experiment = try makeExperiment()
        for step in pathFromQueued(to: status) {
            try transition(id: experiment.id, to: step, reason: "setup")
        }
        return try self.experiment(id: experiment.id)
    }
}

/// Legal steps from `queued` to each status.
func pathFromQueued(to status: ExperimentStatus) -> [ExperimentStatus] {
    switch status {
    case .queued: return []
    case .running: return [.running]
    case .stopping: return [.running, .stopping]
    case .succeeded, .failed, .stopped: return [.running, status]
    case .cancelled: return [.cancelled]
    }
}

/// A point for metric tests.
func point(_ key: String, _ value: Double, step: Int, epoch: Int = 0, wall: Double = 1_700_000_000) -> MetricPointRecord {
    MetricPointRecord(key: key, value: value, environmentSteps: step, gradientSteps: step * 2, epoch: epoch,
                wallTime: wall + Double(step))
}
