import Foundation
import Testing
import Storage

@Suite struct StoreTests {
    @Test(arguments: StoreKind.allCases)
    func open_appliesEveryMigrationAndPragmas(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            #expect(try test.store.appliedMigrations() == ["v1-experiments", "v1-metrics", "v1-checkpoints-sessions"])
            #expect(try test.store.journalMode() == (kind == .file ? "wal" : "memory"))
            #expect(try test.store.integrityCheck() == ["ok"])
        }
    }

    @Test func reopen_keepsDataAndDoesNotRerunMigrations() throws {
        let (path, directory) = makeTemporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let id = try Store(path: path).makeExperiment().id
        let reopened = try Store(path: path)
        #expect(try reopened.appliedMigrations().count == 3)
        #expect(try reopened.experiment(id: id).id == id)
        #expect(try Store(path: path).listExperiments().experiments.count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func databaseError_carriesItsSQL(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            let sql = "INSERT INTO no_such_table (x) VALUES (1)"
            do {
                try test.store.executeRawSQL(sql)
                Issue.record("expected a database error")
            } catch let StorageError.database(message, failedSQL) {
                #expect(failedSQL == sql)
                #expect(message.contains("no_such_table"))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func foreignKeys_areEnforced(kind: StoreKind) throws {
        try withTestStore(kind) { test throws in
            #expect(throws: StorageError.self) {
                try test.store.executeRawSQL("INSERT INTO status_history (experiment_id, to_status, reason, at) VALUES ('nope', 'queued', 'x', 0)")
            }
        }
    }
}
