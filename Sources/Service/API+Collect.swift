import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Storage

// Steps of external environments (collection and evaluation), batched steps, and uploads of
// recorded episodes.

extension API {
    /// The most steps one `POST /act/batch` may carry.
    static let maxBatchSteps = 1024

    /// `POST /act/batch`: one result per step, in order, from one forward pass.
    func actBatch(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = try Self.objectBody(request)
        let experimentID = try Self.requiredString(body, "experiment")
        let checkpoint = try Self.optionalString(body, "checkpoint")
        let sample = try Self.bool(body, "sample", default: false)
        guard case .array(let items)? = body["steps"], (1...Self.maxBatchSteps).contains(items.count) else {
            throw ServiceError.invalidField(field: "steps", expected: "an array of 1...\(Self.maxBatchSteps) step objects")
        }
        let steps = try items.enumerated().map { i, item -> ExternalStep in
            guard case .object(let fields) = item else {
                throw ServiceError.invalidField(field: "steps[\(i)]", expected: "a step object")
            }
            return try Self.externalStep(fields, prefix: "steps[\(i)].")
        }
        var o: [String: JSONValue] = ["experiment": .string(experimentID)]
        if let mode = try Self.collectionMode(body, checkpoint: checkpoint) {
            let collection = try await collection(for: experimentID)
            if mode == .collect { await collection.awaitCapacity() }
            let answer: (results: [ExternalStepResult], epoch: Int, environmentSteps: Int)
            do {
                answer = try collection.step(steps, mode: mode, sample: sample)
            } catch let error as ExternalStepError {
                throw error.httpError { "steps[\($0)]." }
            }
            o["checkpoint"] = .null
            o["epoch"] = JSONBody.int(answer.epoch)
            o["env_steps"] = JSONBody.int(answer.environmentSteps)
            o["results"] = .array(answer.results.map { .object(Self.externalResultJSON($0)) })
            return JSONBody.response(.object(o))
        }
        let answers = try policies.actBatch(
            experimentID: experimentID, checkpoint: checkpoint,
            steps: steps.map { .init(session: $0.session, observation: $0.observation, reward: $0.reward, reset: $0.reset,
                                     ends: !$0.reset && ($0.terminated || $0.truncated)) },
            sample: sample)
        o["checkpoint"] = answers.first.map { .string($0.checkpointID) } ?? .null
        o["results"] = .array(answers.map { a in
            .object(["action": a.action.map(Self.actionJSON) ?? .null, "session": .string(a.session),
                     "context_length": JSONBody.int(a.contextLength),
                     "episode_over": .bool(a.action == nil), "trial_over": .bool(a.action == nil)])
        })
        return JSONBody.response(.object(o))
    }

    /// `POST /experiments/{id}/episodes`: recorded episodes of an external experiment join its
    /// replay buffer (at once when it trains here, else when it next trains); 201.
    func uploadEpisodes(_ request: HTTPRequest, id: String) throws -> HTTPResponse {
        let experiment = try store.experiment(id: id)
        let spec = try ExperimentSpec(json: Data(experiment.spec.utf8))
        guard spec.environment == "external",
              let external = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters) as? ExternalEnvironment else {
            throw HTTPError(.conflict, code: "not_external",
                            message: "experiment '\(id)' trains the built-in environment \(spec.environment); only external experiments take episodes")
        }
        let (episodes, errors) = ExternalEpisodes.parse(try JSONBody.parse(request.body), parameters: external.parameters)
        guard errors.isEmpty else { return ErrorRendering.invalidFields(errors, code: "invalid_episodes", what: "invalid episodes") }
        if let collection = collections[id] {
            try collection.upload(episodes)
        } else {
            try ExternalEpisodes.store(episodes, in: RunFolder(dataDirectory: dataDirectory, experimentID: id))
        }
        let transitions = episodes.reduce(0) { $0 + $1.rewards.count }
        return JSONBody.response(.object(["accepted": JSONBody.int(episodes.count), "env_steps": JSONBody.int(transitions)]),
                                 status: .created)
    }

    /// The collection of a running external experiment; 404 for an unknown experiment, 409 for
    /// one that is not external or not running here. A run that has just started registers its
    /// collection within moments: a step arriving first waits for it (up to 10 s).
    func collection(for experimentID: String) async throws -> ExternalCollection {
        if let c = collections[experimentID] { return c }
        var experiment = try store.experiment(id: experimentID)
        let deadline = Date().addingTimeInterval(10)
        while experiment.environment == "external", experiment.status == .running, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            if let c = collections[experimentID] { return c }
            experiment = try store.experiment(id: experimentID)
        }
        guard experiment.environment == "external" else {
            throw HTTPError(.conflict, code: "not_external",
                            message: "experiment '\(experimentID)' trains the built-in environment \(experiment.environment): it takes no collection or evaluation steps",
                            field: "collect")
        }
        throw HTTPError(.conflict, code: "not_running",
                        message: "experiment '\(experimentID)' is \(experiment.status.rawValue), not running: collection and evaluation need a running experiment",
                        field: "experiment")
    }

    /// `collect: true` → collection, `mode: "eval"` → evaluation, neither → nil (checkpoint inference).
    static func collectionMode(_ body: [String: JSONValue], checkpoint: String?) throws -> ExternalCollection.Mode? {
        let collect = try bool(body, "collect", default: false)
        let mode: String?
        switch body["mode"] {
        case nil, .null?: mode = nil
        case .string(let m)? where m == "train" || m == "eval": mode = m
        default: throw ServiceError.invalidField(field: "mode", expected: "\"train\" or \"eval\"")
        }
        if collect && mode == "eval" {
            throw ServiceError.invalidField(field: "mode", expected: "\"train\" (or absent) with collect: evaluation steps are not collected")
        }
        let chosen: ExternalCollection.Mode? = collect ? .collect : mode == "eval" ? .eval : nil
        if chosen != nil, checkpoint != nil {
            throw ServiceError.invalidField(field: "checkpoint", expected: "absent for collection and evaluation: they use the running policy")
        }
        return chosen
    }

    /// The step fields of a `/act` body or a batch element (`prefix` names it in errors).
    static func externalStep(_ body: [String: JSONValue], prefix: String) throws -> ExternalStep {
        guard case .array(let values)? = body["observation"] else {
            throw ServiceError.invalidField(field: prefix + "observation", expected: "an array of numbers")
        }
        let observation = try values.map { value -> Float in
            guard case .number(let x) = value, x.isFinite, abs(x) <= 3e38 else {
                throw ServiceError.invalidField(field: prefix + "observation", expected: "an array of finite numbers")
            }
            return Float(x)
        }
        let success: Bool?
        switch body["success"] {
        case nil, .null?: success = nil
        case .bool(let b)?: success = b
        default: throw ServiceError.invalidField(field: prefix + "success", expected: "true, false or null")
        }
        // Rewards are stored as 32-bit floats: anything beyond their range is refused.
        let reward = try number(body, "reward", default: 0, at: prefix, limit: 3e38)
        return ExternalStep(session: try optionalString(body, "session", at: prefix), observation: observation, reward: Float(reward),
                            terminated: try bool(body, "terminated", default: false, at: prefix),
                            truncated: try bool(body, "truncated", default: false, at: prefix),
                            reset: try bool(body, "reset", default: false, at: prefix), success: success)
    }

    static func externalResultJSON(_ r: ExternalStepResult) -> [String: JSONValue] {
        ["action": r.action.map(actionJSON) ?? .null, "session": .string(r.session), "context_length": JSONBody.int(r.contextLength),
         "episode_over": .bool(r.episodeOver), "trial_over": .bool(r.trialOver)]
    }

    /// The live collection counters of a running external experiment, for its JSON. A run that
    /// has just started and not yet opened its collection has none of its own: zero sessions.
    func collectionJSON(_ experiment: ExperimentRecord) -> JSONValue? {
        let status: ExternalCollection.Status
        if let live = collections[experiment.id]?.status {
            status = live
        } else if experiment.environment == "external", experiment.status == .running,
                  let spec = try? ExperimentSpec(json: Data(experiment.spec.utf8)) {
            status = .init(sessions: 0, environmentSteps: experiment.progress.environmentSteps, stepsPerSecond: 0, epochSteps: 0,
                           epochQuota: spec.schedule.timestepsPerEpoch * spec.schedule.parallelActors, epoch: experiment.progress.epoch)
        } else {
            return nil
        }
        return .object(["sessions": JSONBody.int(status.sessions), "env_steps": JSONBody.int(status.environmentSteps),
                        "steps_per_second": JSONBody.number(status.stepsPerSecond), "epoch_steps": JSONBody.int(status.epochSteps),
                        "epoch_quota": JSONBody.int(status.epochQuota)])
    }
}
