import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Storage
import Testing
import TestSupport

/// Rejected requests: each answers 4xx with a JSON error naming what was wrong, and leaves the
/// experiments and the queue exactly as they were.
@Suite("Bad input is rejected and changes nothing", .serialized)
struct BadInputTests {
    /// Every experiment with its status: what a rejected request must not change.
    static func snapshot(_ h: Harness) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try h.store.listExperiments(limit: 1000).experiments.map { ($0.id, $0.status.rawValue) })
    }

    static func text(_ value: JSONValue) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    @Test func everyInvalidSpecField_is422NamingItsPath() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let document = ExperimentSpec().json
        let wrongKinds = SpecCases.leaves(document).map { ($0.0, SpecCases.wrongKind(for: $0.1)) }
        #expect(wrongKinds.count > 50)
        for (path, value) in wrongKinds + SpecCases.outOfRange {
            let reply = try await h.send(.post, "/experiments", body: try Self.text(SpecCases.setting(document, path, to: value)))
            #expect(reply.status == 422, "\(path)")
            #expect(reply.json?["error"]?["code"]?.stringValue == "invalid_spec", "\(path)")
            let fields = reply.json?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
            #expect(fields.contains(path), "\(path): got \(fields)")
            #expect(reply.json?["error"]?["message"]?.stringValue?.contains(path) == true, "\(path)")
        }
        let notAnObject = try await h.send(.post, "/experiments", body: "[1, 2]")
        #expect(notAnObject.status == 422 && notAnObject.json?["error"]?["field"]?.stringValue == "$")
        #expect(try Self.snapshot(h).isEmpty)
    }

    @Test func malformedJSON_is400NamingLineAndColumn() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        _ = try #require(try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze())).json?["id"]?.stringValue)
        let before = try Self.snapshot(h)
        let cases: [(body: String, location: String)] = [
            (#"{"environment": "#, "line 1, column 17"),            // ends early
            ("{\n  \"name\": \"x\",\n  \"seed\": tru\n}", "line 3, column"),  // a bad literal on line 3
            ("{\n\"name\": \"ü\" \"seed\": 1}", "line 2, column"),    // a missing comma after multi-byte text
        ]
        for target in ["/experiments", "/act", "/sessions"] {
            for (body, location) in cases {
                let reply = try await h.send(.post, target, body: body)
                #expect(reply.status == 400, "\(target) \(body)")
                #expect(reply.json?["error"]?["code"]?.stringValue == "malformed_json")
                let message = reply.json?["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains(location), "\(target): \(message)")
            }
            let empty = try await h.send(.post, target, body: "")
            #expect(empty.status == 400 && empty.json?["error"]?["field"]?.stringValue == "body", "\(target)")
        }
        #expect(try Self.snapshot(h) == before)
    }

    @Test func unknownIDs_are404_onEveryEndpointThatTakesOne() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let id = try #require(try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze())).json?["id"]?.stringValue)
        let before = try Self.snapshot(h)
        let requests: [(HTTPMethod, String, String?)] = [
            (.post, "/experiments/nope/resume", nil), (.get, "/experiments/\(id)/metrics/no/such/key", nil),
            (.post, "/sessions", #"{"experiment":"nope"}"#),
            (.post, "/act", #"{"experiment":"nope","observation":[0,1]}"#),
            (.post, "/sessions", #"{"experiment":"\#(id)","checkpoint":"nope"}"#),
        ]
        for (method, target, body) in requests {
            let reply = try await h.send(method, target, body: body)
            #expect(reply.status == 404, "\(method) \(target) \(body ?? "")")
            #expect(reply.json?["error"]?["message"]?.stringValue?.contains("nope") == true
                    || reply.json?["error"]?["message"]?.stringValue?.contains("no/such/key") == true, "\(target)")
        }
        #expect(try Self.snapshot(h) == before)
    }

    @Test func token_isRequiredOnEveryMutatingEndpoint_andGETsStayOpen() async throws {
        let token = "s3cret"
        let h = try Harness(token: token, startWorkers: false)
        defer { h.close() }
        let spec = try Specs.text(Specs.tinyTMaze())
        let created = try await h.send(.post, "/experiments", body: spec, headers: ["Authorization": "Bearer \(token)"])
        let id = try #require(created.json?["id"]?.stringValue)
        let before = try Self.snapshot(h)
        let mutating: [(HTTPMethod, String, String?)] = [
            (.post, "/experiments", spec), (.post, "/experiments/\(id)/stop", nil), (.post, "/experiments/\(id)/resume", nil),
            (.delete, "/experiments/\(id)", nil), (.post, "/act", #"{"experiment":"\#(id)","observation":[0,1]}"#),
            (.post, "/sessions", #"{"experiment":"\#(id)"}"#), (.delete, "/sessions/any", nil),
        ]
        for (method, target, body) in mutating {
            for header in [nil, "Bearer wrong", "Basic \(token)", "Bearer"] {
                var headers = HTTPHeaders()
                if let header { headers.set("Authorization", header) }
                let reply = try await h.send(method, target, body: body, headers: headers)
                #expect([401, 403].contains(reply.status), "\(method) \(target) with \(header ?? "no header")")
                #expect(reply.json?["error"]?["field"]?.stringValue == "Authorization")
                #expect(reply.response.headers["WWW-Authenticate"] != nil || reply.status == 403)
            }
        }
        #expect(try Self.snapshot(h) == before)
        for target in ["/experiments", "/experiments/\(id)", "/experiments/\(id)/metrics", "/experiments/\(id)/checkpoints",
                       "/envs", "/healthz"] {
            #expect(try await h.send(.get, target).status == 200, "\(target)")
        }
        // The right token still works on a mutating endpoint.
        let stop = try await h.send(.post, "/experiments/\(id)/stop", headers: ["Authorization": "Bearer \(token)"])
        #expect(stop.status == 200 && stop.json?["status"]?.stringValue == "cancelled")
    }
}
