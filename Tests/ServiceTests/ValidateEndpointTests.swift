import Foundation
import HTTPCore
import Testing

@Suite("POST /experiments/validate")
struct ValidateEndpointTests {
    @Test func validSpec_isNormalizedWithItsEstimate_andNothingIsQueued() async throws {
        let h = try Harness(token: "secret", startWorkers: false)
        defer { h.close() }
        let reply = try await h.send(.post, "/experiments/validate",
                                     body: #"{"environment": {"name": "tmaze_passive"}, "schedule": {"epochs": 3}}"#)
        #expect(reply.status == 200)  // no token needed: validation changes nothing
        #expect(reply.json?["valid"] == .bool(true))
        #expect(reply.json?["fields"]?.arrayValue?.isEmpty == true)
        #expect(reply.json?["spec"]?["schedule"]?["epochs"] == .number(3))
        #expect(reply.json?["spec"]?["model"]?["d_model"] != nil, "defaults are filled in")
        #expect((reply.json?["estimated_training_bytes"]?.numberValue ?? 0) > 1_000_000)
        #expect(try h.store.experimentCounts().values.reduce(0, +) == 0)
    }

    @Test func invalidSpec_listsEveryField_with200_andMalformedJSONIs400() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let reply = try await h.send(.post, "/experiments/validate",
                                     body: #"{"environment": {"name": "tmaze_passive"}, "schedule": {"epochs": -3, "batch_size": "x"}}"#)
        #expect(reply.status == 200)
        #expect(reply.json?["valid"] == .bool(false))
        #expect(reply.json?["spec"] == .null)
        let fields = Set(reply.json?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["schedule.epochs", "schedule.batch_size"])
        let malformed = try await h.send(.post, "/experiments/validate", body: #"{"environment": "#)
        #expect(malformed.status == 400)
        #expect(malformed.json?["error"]?["field"]?.stringValue == "body")
        #expect(try h.store.experimentCounts().values.reduce(0, +) == 0)
    }
}
