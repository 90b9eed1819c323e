import AMAGO
import Environments
import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Experiment endpoints", .serialized)
struct ExperimentEndpointTests {
    @Test func tinyTMaze_trainsToSuccessWithMetricsAndCheckpoints() async throws {
        let h = try Harness()
        defer { h.close() }
        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze()))
        #expect(created.status == 201)
        let id = try #require(created.json?["id"]?.stringValue)
        #expect(created.response.headers["Location"] == "/experiments/\(id)")

        let final = try await h.waitFor(id, seconds: 120) { ["succeeded", "failed", "stopped"].contains($0) }
        #expect(final?["status"]?.stringValue == "succeeded", "ended as \(String(describing: final))")

        let keys = try await h.send(.get, "/experiments/\(id)/metrics")
        let keyList = keys.json?["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(keyList.contains("val/return") && keyList.contains("train/critic_loss"))
        #expect(keys.json?["groups"]?["val"]?.arrayValue?.isEmpty == false)

        let series = try await h.send(.get, "/experiments/\(id)/metrics/val/return?x=epoch&max_points=100")
        #expect(series.status == 200)
        #expect(series.json?["points"]?.arrayValue?.isEmpty == false)
        #expect(series.json?["x"]?.stringValue == "epoch")

        let list = try await h.send(.get, "/experiments/\(id)/checkpoints")
        let checkpoints = list.json?["checkpoints"]?.arrayValue ?? []
        #expect(checkpoints.count >= 1)
        let checkpointID = try #require(checkpoints.last?["id"]?.stringValue)
        let download = try await h.send(.get, "/checkpoints/\(checkpointID)")
        #expect(download.status == 200)
        #expect(download.bytes.count > 8)
        #expect(download.response.headers["Content-Type"] == "application/octet-stream")
    }

    @Test func invalidSpec_is422NamingEveryFieldAndEnqueuesNothing() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let body = #"{"environment":{"name":"no_such_env"},"schedule":{"epochs":0,"batch_size":"four"}}"#
        let reply = try await h.send(.post, "/experiments", body: body)
        #expect(reply.status == 422)
        #expect(reply.json?["error"]?["code"]?.stringValue == "invalid_spec")
        let fields = Set(reply.json?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields.isSuperset(of: ["environment.name", "schedule.epochs", "schedule.batch_size"]), "\(fields)")
        #expect(try h.store.listExperiments().experiments.isEmpty)

        let malformed = try await h.send(.post, "/experiments", body: "{\"environment\": ")
        #expect(malformed.status == 400)
        #expect(malformed.json?["error"]?["code"]?.stringValue == "malformed_json")
        #expect(try h.store.listExperiments().experiments.isEmpty)
    }

    @Test func unknownIDs_are404WithJSONErrors() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        for target in ["/experiments/nope", "/experiments/nope/metrics", "/experiments/nope/checkpoints",
                       "/checkpoints/nope", "/experiments/nope/metrics/val/return"] {
            let reply = try await h.send(.get, target)
            #expect(reply.status == 404, "\(target)")
            #expect(reply.json?["error"]?["message"]?.stringValue?.isEmpty == false, "\(target)")
        }
        #expect(try await h.send(.post, "/experiments/nope/stop").status == 404)
        #expect(try await h.send(.delete, "/experiments/nope").status == 404)
    }

    @Test func stop_ofRunningExperiment_endsStopped() async throws {
        let h = try Harness()
        defer { h.close() }
        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze(epochs: 10_000, name: "long")))
        let id = try #require(created.json?["id"]?.stringValue)
        let running = try await h.waitFor(id, seconds: 30) { $0 != "queued" }
        #expect(running?["status"]?.stringValue == "running")
        #expect(try await h.send(.delete, "/experiments/\(id)").status == 409)
        let stop = try await h.send(.post, "/experiments/\(id)/stop")
        #expect(stop.status == 200)
        let final = try await h.waitFor(id, seconds: 30) { ["stopped", "failed", "succeeded"].contains($0) }
        #expect(final?["status"]?.stringValue == "stopped")
        #expect(try await h.send(.delete, "/experiments/\(id)").status == 204)
        #expect(try await h.send(.get, "/experiments/\(id)").status == 404)
    }
}
