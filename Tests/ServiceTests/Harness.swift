import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Jobs
import Service
import Storage
import TestSupport

/// A service over a temporary data folder, driven in-process through its router.
final class Harness: @unchecked Sendable {
    let folder: URL
    /// The database (`TestDatabase`: a file in `folder`, or a PostgreSQL schema).
    let database: String
    let store: Store
    let pool: WorkerPool
    let api: API
    let router: Router
    let responder: Responder

    init(token: String? = nil, startWorkers: Bool = true) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = TestDatabase.location(in: folder)
        store = try Store(database: database)
        pool = try WorkerPool(store: store, workers: 1, runner: TrainerRunner(store: store, dataDirectory: folder),
                              heartbeatInterval: 1, pollInterval: 0.1)
        api = API(store: store, pool: pool, dataDirectory: folder, token: token)
        router = api.makeRouter()
        responder = Responder(router: router, log: { FileHandle.standardError.write(Data(("harness: " + $0 + "\n").utf8)) })
        if startWorkers { try pool.start() }
    }

    func close() {
        pool.shutdown(deadline: Date().addingTimeInterval(30))
        try? store.close()
        try? FileManager.default.removeItem(at: folder)
        TestDatabase.remove(database)
    }

    /// Sends one request through HTTPCore's pipeline (middleware, routing, the handler, error
    /// rendering), exactly as the server does, without the socket.
    func send(_ method: HTTPMethod, _ target: String, body: String? = nil,
              headers: HTTPHeaders = HTTPHeaders()) async throws -> Reply {
        let request = HTTPRequest(method: method, target: target, headers: headers, body: Array((body ?? "").utf8))
        return Reply(await responder.respond(to: request))
    }

    /// Polls the experiment until `done` holds or `seconds` pass; returns the last state.
    func waitFor(_ id: String, seconds: Double, until done: (String) -> Bool) async throws -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: JSONValue?
        while Date() < deadline {
            last = try await send(.get, "/experiments/\(id)").json
            if let status = last?["status"]?.stringValue, done(status) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        return last
    }
}

/// A response with its body parsed as JSON when it is JSON.
struct Reply {
    let response: HTTPResponse
    var status: Int { response.status.code }
    var bytes: [UInt8] {
        if case .bytes(let b) = response.body { return b }
        return []
    }
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

    init(_ response: HTTPResponse) { self.response = response }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var numberValue: Double? { if case .number(let x) = self { return x } else { return nil } }
}

/// Specs for the tests: a tiny T-Maze run and variants of it.
enum Specs {
    static func tinyTMaze(epochs: Int = 3, name: String = "tiny") -> ExperimentSpec {
        var s = ExperimentSpec()
        s.name = name
        s.environment = "tmaze_passive"
        s.environmentParameters = ["corridor_length": .number(3)]
        s.model.dModel = 16; s.model.layers = 1; s.model.heads = 2; s.model.dFeedForward = 32
        s.model.timestepHidden = 16; s.model.timestepOutput = 16; s.model.actorHidden = 16; s.model.criticHidden = 16
        s.schedule.epochs = epochs; s.schedule.parallelActors = 2; s.schedule.timestepsPerEpoch = 12
        s.schedule.batchesPerEpoch = 3; s.schedule.batchSize = 4; s.schedule.maxSequenceLength = 8
        s.evaluation.interval = 1; s.evaluation.timesteps = 12; s.evaluation.actors = 2
        s.checkpointInterval = 1
        return s
    }

    static func text(_ spec: ExperimentSpec) throws -> String {
        String(decoding: try spec.encoded(), as: UTF8.self)
    }
}
