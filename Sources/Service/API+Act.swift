import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Storage

extension API {
    /// `POST /act`: one step. With `collect` (or `mode: "eval"`) it goes to the collection of a
    /// running external experiment; otherwise one action from a checkpoint's policy, in a
    /// session created when none is given.
    func act(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = try Self.objectBody(request)
        let experimentID = try Self.requiredString(body, "experiment")
        let checkpoint = try Self.optionalString(body, "checkpoint")
        let sample = try Self.bool(body, "sample", default: false)
        let step = try Self.externalStep(body, prefix: "")
        if let mode = try Self.collectionMode(body, checkpoint: checkpoint) {
            let collection = try await collection(for: experimentID)
            if mode == .collect { await collection.awaitCapacity() }
            let answer: (results: [ExternalStepResult], epoch: Int, environmentSteps: Int)
            do {
                answer = try collection.step([step], mode: mode, sample: sample)
            } catch let error as ExternalStepError {
                throw error.httpError { _ in "" }
            }
            var o = Self.externalResultJSON(answer.results[0])
            o["experiment"] = .string(experimentID)
            o["checkpoint"] = .null
            o["epoch"] = JSONBody.int(answer.epoch)
            o["env_steps"] = JSONBody.int(answer.environmentSteps)
            return JSONBody.response(.object(o))
        }
        let result = try await policies.act(experimentID: experimentID, checkpoint: checkpoint, session: step.session,
                                            observation: step.observation, reward: step.reward,
                                            reset: step.reset, ends: !step.reset && (step.terminated || step.truncated), sample: sample)
        return JSONBody.response(.object([
            "action": result.action.map(Self.actionJSON) ?? .null, "session": .string(result.session),
            "experiment": .string(result.experimentID), "checkpoint": .string(result.checkpointID),
            "context_length": JSONBody.int(result.contextLength),
            "episode_over": .bool(result.action == nil), "trial_over": .bool(result.action == nil),
        ]))
    }

    /// `POST /sessions`: opens a session on `checkpoint` (default `latest`) of `experiment`.
    func createSession(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try Self.objectBody(request)
        let session = try policies.open(experimentID: try Self.requiredString(body, "experiment"),
                                        checkpoint: try Self.optionalString(body, "checkpoint"))
        var response = JSONBody.response(Self.sessionJSON(session, contextLength: 0), status: .created)
        response.headers.set("Location", "/sessions/\(session.id)")
        return response
    }

    /// `GET /sessions/{id}`: the session record; ended sessions answer 410.
    func getSession(id: String) throws -> HTTPResponse {
        let (record, length) = try policies.describe(id: id)
        guard record.isOpen else { throw ServiceError.sessionEnded(id: id, reason: record.endReason ?? "ended") }
        return JSONBody.response(Self.sessionJSON(record, contextLength: length))
    }

    /// `DELETE /sessions/{id}`: ends the session and frees its context; 204.
    func deleteSession(id: String) throws -> HTTPResponse {
        try policies.close(id: id)
        return HTTPResponse(status: .noContent)
    }

    static func sessionJSON(_ s: ActSession, contextLength: Int) -> JSONValue {
        .object([
            "session": .string(s.id), "experiment": .string(s.experimentID), "checkpoint": .string(s.checkpointID),
            "context_length": JSONBody.int(contextLength), "steps": JSONBody.int(s.steps),
            "created_at": JSONBody.date(s.createdAt), "last_used_at": JSONBody.date(s.lastUsedAt),
        ])
    }

    /// A discrete action as its index, a continuous one as its values.
    static func actionJSON(_ action: Action) -> JSONValue {
        switch action {
        case .discrete(let i): return JSONBody.int(i)
        case .continuous(let values): return .array(values.map { JSONBody.number(Double($0)) })
        }
    }

    static func objectBody(_ request: HTTPRequest) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONBody.parse(request.body) else {
            throw ServiceError.malformedBody("the request body must be a JSON object")
        }
        return fields
    }

    static func requiredString(_ body: [String: JSONValue], _ key: String) throws -> String {
        guard case .string(let s)? = body[key], !s.isEmpty else {
            throw ServiceError.invalidField(field: key, expected: "a non-empty string")
        }
        return s
    }

    /// An optional non-empty string field; `prefix` leads the field's name in errors (`steps[2].`).
    static func optionalString(_ body: [String: JSONValue], _ key: String, at prefix: String = "") throws -> String? {
        switch body[key] {
        case nil, .null?: return nil
        case .string(let s)? where !s.isEmpty: return s
        default: throw ServiceError.invalidField(field: prefix + key, expected: "a non-empty string")
        }
    }

    /// A finite number field (within ±`limit`), `fallback` when absent or null.
    static func number(_ body: [String: JSONValue], _ key: String, default fallback: Double, at prefix: String = "",
                       limit: Double = .greatestFiniteMagnitude) throws -> Double {
        switch body[key] {
        case nil, .null?: return fallback
        case .number(let x)? where x.isFinite && abs(x) <= limit: return x
        default: throw ServiceError.invalidField(field: prefix + key, expected: "a finite number")
        }
    }

    /// A boolean field, `fallback` when absent or null.
    static func bool(_ body: [String: JSONValue], _ key: String, default fallback: Bool, at prefix: String = "") throws -> Bool {
        switch body[key] {
        case nil, .null?: return fallback
        case .bool(let b)?: return b
        default: throw ServiceError.invalidField(field: prefix + key, expected: "true or false")
        }
    }
}
