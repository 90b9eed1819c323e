import Foundation
import Storage

/// Where a test's store lives; every storage test runs on both.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case memory
    case file

    var description: String { rawValue }
}

/// A store plus the temporary folder backing it (see `withStore`).
final class TestStore {
    let store: Store
    let directory: URL?

    init(_ kind: StoreKind) throws {
        switch kind {
        case .memory:
            directory = nil
            store = try Store.inMemory()
        case .file:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("storage-tests-\(UUID().uuidString)")
            self.directory = directory
            store = try Store(path: directory.appendingPathComponent("amago.sqlite").path)
        }
    }

    /// The database file path (nil for `:memory:`).
    var filePath: String? { directory?.appendingPathComponent("amago.sqlite").path }

    func removeFiles() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Runs `body` on a fresh store of `kind`, removing its temporary folder afterwards.
func withTestStore(_ kind: StoreKind, _ body: (TestStore) throws -> Void) throws {
    let test = try TestStore(kind)
    defer { test.removeFiles() }
    try body(test)
}

/// Runs `body` on a fresh store of `kind`, removing its temporary folder afterwards.
func withStore(_ kind: StoreKind, _ body: (Store) throws -> Void) throws {
    try withTestStore(kind) { try body($0.store) }
}

/// A fresh temporary folder for tests that open several connections to one file.
func makeTemporaryDatabasePath() -> (path: String, directory: URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storage-tests-\(UUID().uuidString)")
    return (directory.appendingPathComponent("amago.sqlite").path, directory)
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
