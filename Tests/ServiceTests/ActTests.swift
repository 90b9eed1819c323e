import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Service
import Storage
import Testing

@Suite("Policy inference: /act and /sessions", .serialized)
struct ActTests {
    typealias Input = ActInput

    static func actBody(experiment: String, session: String? = nil, _ input: Input, extra: String = "") -> String {
        let obs = input.observation.map { String(Double($0)) }.joined(separator: ",")
        let s = session.map { #","session":"\#($0)""# } ?? ""
        return #"{"experiment":"\#(experiment)"\#(s),"observation":[\#(obs)],"reward":\#(input.reward),"reset":\#(input.reset)\#(extra)}"#
    }

    static func number(_ v: JSONValue?) -> Int? {
        if case .number(let x)? = v { return Int(x) }
        return nil
    }

    @Test func trainedPolicy_actsThroughSessionsLikeTheInProcessAgent() async throws {
        let h = try Harness()
        defer { h.close() }
        let spec = Specs.tinyTMaze()
        let created = try await h.send(.post, "/experiments", body: try Specs.text(spec))
        let id = try #require(created.json?["id"]?.stringValue)
        let final = try await h.waitFor(id, seconds: 120) { ["succeeded", "failed", "stopped"].contains($0) }
        try #require(final?["status"]?.stringValue == "succeeded", "ended as \(String(describing: final))")

        // Drive a real T-Maze with the session's actions, remembering every input.
        let env = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters, seed: 7)
        guard case .discrete(let count) = env.actionSpace else { Issue.record("T-Maze is discrete"); return }
        var session: String?
        let drive = try await PolicyReplay.drive(env, seed: 7, steps: 12) { input in
            let reply = try await h.send(.post, "/act", body: Self.actBody(experiment: id, session: session, input))
            try #require(reply.status == 200, "\(String(decoding: reply.bytes, as: UTF8.self))")
            let action = try #require(Self.number(reply.json?["action"]))
            #expect((0..<count).contains(action))
            session = try #require(reply.json?["session"]?.stringValue)
            #expect(reply.json?["checkpoint"]?.stringValue?.isEmpty == false)
            return (action, try #require(Self.number(reply.json?["context_length"])))
        }
        let (inputs, actions, lengths) = (drive.inputs, drive.actions, drive.contextLengths)
        // Context grows within a trial and starts over at a reset.
        for i in 1..<inputs.count {
            #expect(lengths[i] == (inputs[i].reset ? 1 : lengths[i - 1] + 1), "step \(i): \(lengths)")
        }
        #expect(lengths.max() ?? 0 >= 2)
        let sid = try #require(session)

        // The key check: an agent loaded in-process from the same checkpoint agrees, greedily.
        let described = try await h.send(.get, "/sessions/\(sid)")
        #expect(described.status == 200)
        #expect(Self.number(described.json?["context_length"]) == lengths.last)
        let checkpointID = try #require(described.json?["checkpoint"]?.stringValue)
        let record = try h.store.checkpoint(id: checkpointID)
        let greedy = try PolicyReplay.greedyActions(spec: spec, checkpointFile: h.folder.appendingPathComponent(record.path),
                                                    env: env, drive: drive)
        #expect(greedy == actions.map { .discrete($0) })

        // Wrong observation width: 422 naming the field and the expected width.
        let wide = Input(observation: [0, 0, 0, 0, 0], reward: 0, reset: false)
        let bad = try await h.send(.post, "/act", body: Self.actBody(experiment: id, session: sid, wide))
        #expect(bad.status == 422)
        #expect(bad.json?["error"]?["field"]?.stringValue == "observation")
        #expect(bad.json?["error"]?["message"]?.stringValue?.contains("\(env.observationSize)") == true)

        // An explicit session on `best`, then deleted: 404 afterwards.
        let opened = try await h.send(.post, "/sessions", body: #"{"experiment":"\#(id)","checkpoint":"best"}"#)
        #expect(opened.status == 201)
        #expect(Self.number(opened.json?["context_length"]) == 0)
        let other = try #require(opened.json?["session"]?.stringValue)
        #expect(try await h.send(.delete, "/sessions/\(other)").status == 204)
        let afterDelete = try await h.send(.post, "/act", body: Self.actBody(experiment: id, session: other, inputs[0]))
        #expect([404, 410].contains(afterDelete.status))
        #expect(try await h.send(.get, "/sessions/\(other)").status == 404)

        // Unknown checkpoint id: 404 naming it.
        let missing = try await h.send(.post, "/act", body: Self.actBody(experiment: id, inputs[0], extra: #","checkpoint":"nope""#))
        #expect(missing.status == 404)
        #expect(missing.json?["error"]?["message"]?.stringValue?.contains("nope") == true)

        // A session ended in the records answers 410 once the server has looked (describing a
        // session sweeps; so does /act, at most every sweep interval).
        try h.store.evictSessions(beyond: 0)
        #expect(try await h.send(.get, "/sessions/\(sid)").status == 410)
        let gone = try await h.send(.post, "/act", body: Self.actBody(experiment: id, session: sid, inputs[0]))
        #expect(gone.status == 410)
    }

    @Test func unknownExperimentOrSession_is404_andNoCheckpoint_is409() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let input = Input(observation: [0, 1], reward: 0, reset: true)
        let unknown = try await h.send(.post, "/act", body: Self.actBody(experiment: "nope", input))
        #expect(unknown.status == 404)
        #expect(unknown.json?["error"]?["message"]?.stringValue?.contains("nope") == true)

        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze()))
        let id = try #require(created.json?["id"]?.stringValue)
        let noSession = try await h.send(.post, "/act", body: Self.actBody(experiment: id, session: "missing", input))
        #expect(noSession.status == 404)
        let noCheckpoint = try await h.send(.post, "/act", body: Self.actBody(experiment: id, input))
        #expect(noCheckpoint.status == 409)
        #expect(noCheckpoint.json?["error"]?["code"]?.stringValue == "no_checkpoint")
        #expect(try await h.send(.post, "/sessions", body: #"{"experiment":"\#(id)"}"#).status == 409)
        #expect(try await h.send(.get, "/sessions/missing").status == 404)
        #expect(try await h.send(.delete, "/sessions/missing").status == 404)

        let noObservation = try await h.send(.post, "/act", body: #"{"experiment":"\#(id)","observation":"x"}"#)
        #expect(noObservation.status == 422)
        #expect(noObservation.json?["error"]?["field"]?.stringValue == "observation")
    }
}

@Suite("Session expiry and eviction")
struct SessionLifecycleTests {
    @Test func idleSessionsExpireAndTheCapEvictsTheOldest() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let created = try await h.send(.post, "/experiments", body: try Specs.text(Specs.tinyTMaze()))
        let id = try #require(created.json?["id"]?.stringValue)
        let checkpoint = try h.store.addCheckpoint(NewCheckpoint(epoch: 0, environmentSteps: 1, gradientSteps: 1, path: "x.safetensors",
                                                                 sizeBytes: 1), experimentID: id)
        let start = Date()
        let old = try h.store.createSession(experimentID: id, checkpointID: checkpoint.id, now: start.addingTimeInterval(-2))
        let recent = try h.store.createSession(experimentID: id, checkpointID: checkpoint.id, now: start.addingTimeInterval(-1))

        let capped = PolicySessions(store: h.store, dataDirectory: h.folder, idleTimeout: 3600, capacity: 1)
        #expect(try capped.describe(id: recent.id).record.isOpen)
        #expect(try h.store.session(id: old.id).endReason == "evicted")

        let idle = PolicySessions(store: h.store, dataDirectory: h.folder, idleTimeout: 0.5)
        await #expect(throws: ServiceError.sessionEnded(id: recent.id, reason: "expired")) {
            try await idle.act(experimentID: id, checkpoint: nil, session: recent.id, observation: [0, 1],
                         reward: 0, reset: false, sample: false)
        }
        #expect(idle.openCount == 0)
    }
}
