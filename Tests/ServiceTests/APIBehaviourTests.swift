import AMAGO
import Environments
import Foundation
import HTTPCore
import Service
import Storage
import Testing

@Suite("API behaviour without training")
struct APIBehaviourTests {
    @Test func idempotencyKey_returnsSameExperimentOr422() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let spec = try Specs.text(Specs.tinyTMaze())
        let first = try await h.send(.post, "/experiments", body: spec, headers: ["Idempotency-Key": "k1"])
        let again = try await h.send(.post, "/experiments", body: spec, headers: ["Idempotency-Key": "k1"])
        #expect(first.status == 201 && again.status == 200)
        #expect(first.json?["id"] == again.json?["id"])
        let other = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze(epochs: 5)),
                                     headers: ["Idempotency-Key": "k1"])
        #expect(other.status == 422)
        #expect(other.json?["error"]?["code"]?.stringValue == "idempotency_conflict")
        #expect(try h.store.listExperiments().experiments.map(\.id) == [first.json?["id"]?.stringValue].compactMap { $0 })
    }

    @Test func get_etagAnswers304AndListFiltersByStatus() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze()))
        let id = try #require(created.json?["id"]?.stringValue)
        let got = try await h.send(.get, "/experiments/\(id)")
        let etag = try #require(got.response.headers["ETag"])
        #expect(try await h.send(.get, "/experiments/\(id)", headers: ["If-None-Match": etag]).status == 304)
        #expect(try await h.send(.get, "/experiments?status=queued").json?["experiments"]?.arrayValue?.count == 1)
        #expect(try await h.send(.get, "/experiments?status=running").json?["experiments"]?.arrayValue?.count == 0)
        #expect(try await h.send(.get, "/experiments?status=bogus").status == 400)
        #expect(try await h.send(.get, "/experiments?limit=0").status == 400)
        // A queued experiment is cancelled by stop, and cannot be resumed afterwards.
        #expect(try await h.send(.post, "/experiments/\(id)/stop").json?["status"]?.stringValue == "cancelled")
        #expect(try await h.send(.post, "/experiments/\(id)/resume").status == 409)
    }

    @Test func token_guardsMutatingEndpointsOnly() async throws {
        let h = try Harness(token: "s3cret", startWorkers: false)
        defer { h.close() }
        let spec = try Specs.text(Specs.tinyTMaze())
        #expect(try await h.send(.post, "/experiments", body: spec).status == 401)
        #expect(try await h.send(.get, "/experiments").status == 200)
        #expect(try await h.send(.get, "/healthz").status == 200)
        let ok = try await h.send(.post, "/experiments", body: spec, headers: ["Authorization": "Bearer s3cret"])
        #expect(ok.status == 201)
    }

    @Test func envsAndHealth() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let envs = try await h.send(.get, "/envs")
        let names = envs.json?["environments"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(names.contains("tmaze_passive"))
        #expect(envs.json?["environments"]?.arrayValue?.first?["recommended_spec"]?["environment"] != nil)
        #expect(try await h.send(.get, "/healthz").status == 200)
        #expect(try await h.send(.get, "/readyz").status == 503)  // workers not started
        try h.pool.start()
        #expect(try await h.send(.get, "/readyz").status == 200)
    }

    @Test func bindingPolicy_refusesNonLoopbackWithoutToken() throws {
        #expect(BindingPolicy.isLoopback("127.0.0.1") && BindingPolicy.isLoopback("::1") && BindingPolicy.isLoopback("localhost"))
        #expect(throws: ServiceError.self) { try BindingPolicy.check(host: "0.0.0.0", token: nil) }
        #expect(throws: Never.self) { try BindingPolicy.check(host: "0.0.0.0", token: "t") }
    }
}
