import AMAGO
import Environments
import Foundation
import Service
import Storage
import Testing
import TestSupport

/// Two hosts on one PostgreSQL database, each with its own data folder: what one trained the
/// other serves, and a session answers only on the host that holds its context.
@Suite(.serialized, .enabled(if: TestDatabase.usesPostgres, "needs AMAGO_TEST_DATABASE=postgres and a server"))
struct SharedHostTests {
    @Test func apiHostWithoutTheFiles_servesACheckpointTrainedElsewhere_andRefusesForeignSessions() async throws {
        // Host A trains (its data folder holds the files).
        let run = try CheckpointRecordTests.Run()
        defer { run.close() }
        _ = try run.train(resuming: false) { $0.epoch >= 2 }
        let checkpoint = try #require(try run.store.latestCheckpoint(experimentID: run.id))
        #expect(try run.store.checkpointContent(id: checkpoint.id)?.count == checkpoint.sizeBytes)

        // Host B shares only the database.
        let folderB = FileManager.default.temporaryDirectory.appendingPathComponent("amago-host-b-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folderB) }
        let storeB = try Store(database: run.database)
        defer { try? storeB.close() }
        let hostB = PolicySessions(store: storeB, dataDirectory: folderB, host: "api-b")
        let spec = Specs.tinyTMaze(epochs: 10_000, name: "records")
        let width = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters, seed: 0).observationSize
        let observation = [Float](repeating: 0, count: width)
        let step = try await hostB.act(experimentID: run.id, checkpoint: nil, session: nil, observation: observation,
                                       reward: 0, reset: true, sample: false)
        #expect(step.checkpointID == checkpoint.id && step.action != nil)
        // The weights were fetched once into B's own folder.
        #expect(FileManager.default.fileExists(atPath: folderB.appendingPathComponent(checkpoint.path).path))

        // Host A does not hold B's session: a clear 421 naming the host, not a 500 or a 410.
        let hostA = PolicySessions(store: run.store, dataDirectory: run.folder, host: "api-a")
        await #expect(throws: ServiceError.sessionOnAnotherHost(id: step.session, host: "api-b")) {
            _ = try await hostA.act(experimentID: run.id, checkpoint: nil, session: step.session, observation: observation,
                                    reward: 0, reset: false, sample: false)
        }
        // B goes on serving it.
        let next = try await hostB.act(experimentID: run.id, checkpoint: nil, session: step.session, observation: observation,
                                       reward: 0, reset: false, sample: false)
        #expect(next.contextLength == step.contextLength + 1)
    }
}
