import Foundation
import HTTPCore
import Jobs
import Service
import Storage
import TestSupport

/// The API on a loopback HTTP server over a temporary data folder, with workers that never
/// start, so experiments change only when a test changes them through the store.
final class LiveAPI: @unchecked Sendable {
    let folder: URL
    let database: String
    let store: Store
    let pool: WorkerPool
    let server: HTTPServer
    var port: Int { server.port }

    init(poll: Duration = .milliseconds(100), ping: Duration = .seconds(15)) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-liveapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = TestDatabase.location(in: folder)
        store = try Store(database: database)
        pool = try WorkerPool(store: store, workers: 1, runner: TrainerRunner(store: store, dataDirectory: folder))
        var api = API(store: store, pool: pool, dataDirectory: folder)
        api.eventPollInterval = poll
        api.eventPingInterval = ping
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        server = HTTPServer(configuration: config, router: api.makeRouter())
        try server.start()
    }

    func close() {
        server.shutdownAndWait(gracePeriod: .seconds(2))
        _ = pool.shutdown(deadline: Date())
        try? store.close()
        try? FileManager.default.removeItem(at: folder)
        TestDatabase.remove(database)
    }

    /// A new queued experiment's id.
    func makeExperiment(name: String = "events") throws -> String {
        try store.createExperiment(NewExperiment(name: name, environment: "tmaze_passive",
                                                 spec: try Specs.text(Specs.tinyTMaze(name: name)), epochs: 3)).experiment.id
    }

    /// Records points `key=value` at increasing steps.
    func record(_ values: [(String, Double)], experimentID: String, step: Int = 1) throws {
        let points = values.enumerated().map { i, kv in
            MetricPointRecord(key: kv.0, value: kv.1, environmentSteps: (step + i) * 10, gradientSteps: step + i, epoch: step,
                        wallTime: 1_700_000_000 + Double(step + i))
        }
        try store.insertMetrics(points, experimentID: experimentID)
    }
}
