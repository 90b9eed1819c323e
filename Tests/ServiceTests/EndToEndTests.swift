import AMAGO
import Environments
import Foundation
import JSON
import Service
import Storage
import TestSupport
import Testing

/// The whole service over loopback HTTP, as a user with curl sees it: submit a spec, watch it
/// train, find its metrics and checkpoints, then act with the trained policy through `/act`.
@Suite("End to end over loopback HTTP", .serialized)
struct EndToEndTests {
    static func int(_ value: JSONValue?) -> Int? {
        if case .number(let x)? = value { return Int(x) }
        return nil
    }

    @Test func submitTrainInspectAndAct_matchesTheTrainersOwnPolicy() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = try ServiceHost(options: ServiceOptions(port: 0, dataDirectory: folder, database: TestDatabase.location(in: folder),
                                                           workers: 1, pollInterval: 0.1))
        try host.start()
        defer { host.shutdown(gracePeriod: .seconds(2), jobDeadline: 30) }
        let port = host.port
        func call(_ method: String, _ target: String, body: String = "") throws -> LoopbackClient.Response {
            try LoopbackClient.call(port: port, method, target, body: body, headers: ["Content-Type": "application/json"])
        }

        // Submit: 201 with a Location that answers.
        let spec = Specs.tinyTMaze(epochs: 6, name: "e2e")
        let created = try call("POST", "/experiments", body: try Specs.text(spec))
        try #require(created.status == 201, "\(created.text)")
        let id = try #require(created.json?["id"]?.stringValue)
        #expect(created.headers["location"] == "/experiments/\(id)")

        // It runs, reporting progress and metrics as it goes, until it succeeds.
        var sawProgress = false, sawMetrics = false
        var experiment: JSONValue?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            experiment = try call("GET", "/experiments/\(id)").json
            let status = experiment?["status"]?.stringValue ?? ""
            if status == "running", (Self.int(experiment?["progress"]?["env_steps"]) ?? 0) > 0 { sawProgress = true }
            if status == "running", case .object(let latest)? = experiment?["latest_metrics"], !latest.isEmpty { sawMetrics = true }
            if ["succeeded", "failed", "stopped"].contains(status) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(experiment?["status"]?.stringValue == "succeeded", "\(String(describing: experiment))")
        #expect(sawProgress && sawMetrics, "progress and metrics while running")
        #expect(Self.int(experiment?["progress"]?["epoch"]) == spec.schedule.epochs)
        #expect((Self.int(experiment?["progress"]?["grad_steps"]) ?? 0) > 0)
        let history = experiment?["status_history"]?.arrayValue?.compactMap { $0["to"]?.stringValue }
        #expect(history == ["queued", "running", "succeeded"])
        #expect(experiment?["latest_metrics"]?["val/return"] != nil)

        // Metrics: keys by prefix, and one evaluation per epoch plus the final one.
        let keys = try call("GET", "/experiments/\(id)/metrics").json
        #expect(keys?["groups"]?["train"]?.arrayValue?.isEmpty == false)
        let returns = try call("GET", "/experiments/\(id)/metrics/val/return?x=epoch").json
        let epochs = returns?["points"]?.arrayValue?.compactMap { Self.int($0["x"]) }
        #expect(epochs == Array(0...spec.schedule.epochs))

        // Checkpoints: one per epoch; the latest downloads whole.
        let listed = try call("GET", "/experiments/\(id)/checkpoints").json?["checkpoints"]?.arrayValue ?? []
        #expect(listed.compactMap { Self.int($0["epoch"]) } == Array(0..<spec.schedule.epochs))
        let latest = try #require(listed.last)
        let checkpointID = try #require(latest["id"]?.stringValue)
        let download = try call("GET", "/checkpoints/\(checkpointID)")
        #expect(download.status == 200 && download.body.count == Self.int(latest["size_bytes"]))
        let file = folder.appendingPathComponent("downloaded.safetensors")
        try Data(download.body).write(to: file)

        // Act over HTTP through one session across several episodes (resets included).
        let env = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters, seed: 11)
        var session: String?
        let drive = try await PolicyReplay.drive(env, seed: 11, steps: 14) { input in
            let obs = input.observation.map { String(Double($0)) }.joined(separator: ",")
            let s = session.map { #","session":"\#($0)""# } ?? ""
            let reply = try call("POST", "/act", body: #"{"experiment":"\#(id)"\#(s),"observation":[\#(obs)],"reward":\#(input.reward),"reset":\#(input.reset)}"#)
            try #require(reply.status == 200, "\(reply.text)")
            #expect(reply.json?["checkpoint"]?.stringValue == checkpointID)
            session = try #require(reply.json?["session"]?.stringValue)
            return (try #require(Self.int(reply.json?["action"])), try #require(Self.int(reply.json?["context_length"])))
        }
        #expect(drive.inputs.filter(\.reset).count >= 2, "several episodes")
        for (i, input) in drive.inputs.enumerated() where i > 0 {
            #expect(drive.contextLengths[i] == (input.reset ? 1 : drive.contextLengths[i - 1] + 1), "\(drive.contextLengths)")
        }
        // The trainer's own policy, loaded from the downloaded file, picks the same actions.
        let greedy = try PolicyReplay.greedyActions(spec: spec, checkpointFile: file, env: env, drive: drive)
        #expect(greedy == drive.actions.map { .discrete($0) })

        // A wrong observation shape: 422 saying what width was expected; the session lives on.
        let sid = try #require(session)
        let wrong = try call("POST", "/act", body: #"{"experiment":"\#(id)","session":"\#(sid)","observation":[1,2,3,4,5,6,7]}"#)
        #expect(wrong.status == 422 && wrong.json?["error"]?["field"]?.stringValue == "observation")
        #expect(wrong.json?["error"]?["message"]?.stringValue?.contains("\(env.observationSize)") == true, "\(wrong.text)")
        let described = try call("GET", "/sessions/\(sid)")
        #expect(described.status == 200 && Self.int(described.json?["context_length"]) == drive.contextLengths.last)
        #expect(try call("DELETE", "/sessions/\(sid)").status == 204)
        #expect(try call("GET", "/sessions/\(sid)").status == 404)
    }
}
