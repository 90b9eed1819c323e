import AMAGO
import Environments
import Foundation
import TestSupport
import JSON
import Service
import Testing

/// Built-in T-Maze driven as an *external* environment: the test steps its own environments
/// and talks to the service over loopback HTTP only, with one `/act/batch` per vector step, as a
/// user's client would. Then the trained policy's episodes train a fresh experiment offline.
@Suite("External environments over loopback HTTP", .serialized)
struct ExternalEnvironmentTests {
    /// T-Maze with a corridor of 5 and the −1/H step penalty, with the hyperparameters of the
    /// in-process learning test (`LearningTests.tMazePassive_shortCorridorIsSolved`).
    static func spec(observationSize: Int, actions: Int, name: String) -> JSONValue {
        .object([
            "name": .string(name), "seed": .number(1),
            "environment": .object(["name": .string("external"), "parameters": .object([
                "observation_size": .number(Double(observationSize)),
                "action_space": .object(["kind": .string("discrete"), "n": .number(Double(actions))]),
            ])]),
            "agent": .object(["reward_multiplier": .number(100), "gamma": .number(0.9999)]),
            "model": .object(["d_model": .number(64), "layers": .number(2), "heads": .number(4), "d_ff": .number(256),
                              "timestep_hidden": .number(64), "timestep_output": .number(32),
                              "actor_hidden": .number(128), "critic_hidden": .number(128)]),
            "schedule": .object(["epochs": .number(30), "parallel_actors": .number(8), "timesteps_per_epoch": .number(30),
                                 "batches_per_epoch": .number(40), "max_seq_len": .number(8), "learning_rate": .number(3e-4),
                                 "warmup_steps": .number(100)]),
            "exploration": .object(["kind": .string("egreedy"), "eps_start": .number(1), "eps_end": .number(0.01),
                                    "anneal_steps": .number(3000)]),
            "evaluation": .object(["interval": .number(10), "actors": .number(16)]),
            "checkpoints": .object(["interval": .number(1000)]),
        ])
    }

    static func tmaze(seed: UInt64) throws -> any Environment {
        try EnvironmentRegistry.make(name: "tmaze_passive", parameters: ["corridor_length": .number(5), "penalty": .number(-1.0 / 6)],
                                     seed: seed)
    }

    /// A client of one server: JSON in, JSON out.
    struct Client {
        let port: Int
        func call(_ method: String, _ target: String, _ body: JSONValue? = nil) throws -> (status: Int, json: JSONValue?) {
            let text = try body.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) } ?? ""
            let r = try LoopbackClient.call(port: port, method, target, body: text, headers: ["Content-Type": "application/json"])
            return (r.status, r.json)
        }
    }

    static func stepJSON(session: String?, observation: [Float], reward: Double = 0, terminated: Bool = false,
                         truncated: Bool = false, reset: Bool = false, success: Bool? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["observation": .array(observation.map { .number(Double($0)) }), "reward": .number(reward),
                                      "terminated": .bool(terminated), "truncated": .bool(truncated), "reset": .bool(reset)]
        if let session { o["session"] = .string(session) }
        if let success { o["success"] = .bool(success) }
        return .object(o)
    }

    /// Runs `envs` against the service with one batched call per vector step: each env's next
    /// report, and after an episode's end also the reset that starts its next trial. Stops when
    /// `finished(trials)` holds or a call answers otherwise than 200.
    /// - Returns: the finished trials' (return, success) and the last non-200 answer, if any.
    static func drive(_ envs: [any Environment], client: Client, experiment: String, extra: [String: JSONValue],
                      seedBase: UInt64, until finished: ([(Double, Bool)]) throws -> Bool) throws -> (trials: [(Double, Bool)], refusal: Int?) {
        var sessions = [String?](repeating: nil, count: envs.count)
        var pending: [[JSONValue]] = envs.enumerated().map { i, env in
            [stepJSON(session: nil, observation: env.reset(seed: seedBase &+ UInt64(i)), reset: true)]
        }
        var returns = [Double](repeating: 0, count: envs.count)
        var trials: [(Double, Bool)] = []
        while try !finished(trials) {
            var body = extra
            body["experiment"] = .string(experiment)
            body["steps"] = .array(pending.flatMap { $0 })
            let answer = try client.call("POST", "/act/batch", .object(body))
            guard answer.status == 200, let results = answer.json?["results"]?.arrayValue else {
                if answer.status != 409 { print("refused: \(answer.status) \(String(describing: answer.json))") }
                return (trials, answer.status)
            }
            var cursor = 0
            for (i, env) in envs.enumerated() {
                let mine = results[cursor..<(cursor + pending[i].count)]
                cursor += pending[i].count
                let last = mine.last!
                sessions[i] = last["session"]?.stringValue
                guard case .number(let a)? = last["action"] else { throw LoopbackClient.Failure(what: "no action for env \(i): \(last)") }
                let r = try env.step(.discrete(Int(a)))
                returns[i] += r.reward
                let report = stepJSON(session: sessions[i], observation: r.observation, reward: r.reward,
                                      terminated: r.isTerminated, truncated: r.isTruncated, success: r.info.success)
                if r.isDone {
                    trials.append((returns[i], r.info.success ?? false))
                    returns[i] = 0
                    pending[i] = [report, stepJSON(session: sessions[i], observation: env.reset(seed: nil), reset: true)]
                } else {
                    pending[i] = [report]
                }
            }
        }
        return (trials, nil)
    }

    @Test func tMazeAsExternalEnvironment_learnsOverHTTP_andItsEpisodesTrainAFreshPolicyOffline() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-external-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = try ServiceHost(options: ServiceOptions(port: 0, dataDirectory: folder, database: TestDatabase.location(in: folder),
                                                           workers: 1, pollInterval: 0.1))
        try host.start()
        defer { host.shutdown(gracePeriod: .seconds(2), jobDeadline: 30) }
        let client = Client(port: host.port)
        let probe = try Self.tmaze(seed: 0)
        let actions = probe.actionSpace.width

        // Submit; collection needs a running experiment, so wait for the worker to start it.
        let created = try client.call("POST", "/experiments", Self.spec(observationSize: probe.observationSize, actions: actions, name: "ext"))
        try #require(created.status == 201, "\(String(describing: created.json))")
        let id = try #require(created.json?["id"]?.stringValue)
        var status = ""
        for _ in 0..<500 where status != "running" {
            status = try client.call("GET", "/experiments/\(id)").json?["status"]?.stringValue ?? ""
            if status != "running" { try await Task.sleep(for: .milliseconds(10)) }
        }
        try #require(status == "running")

        // Collect with 8 clients until the run ends (its last epoch answers 409: not running).
        let envs = try (0..<8).map { try Self.tmaze(seed: UInt64(100 + $0)) }
        var evaluated = false
        var collected: [(Double, Bool)] = []
        while true {
            let round = try Self.drive(envs, client: client, experiment: id, extra: ["collect": .bool(true)], seedBase: 1000) { trials in
                // Every 64 trials, look whether an evaluation is due (epoch ≥ 10), once.
                trials.count >= 64
            }
            collected += round.trials
            if let refusal = round.refusal {
                #expect(refusal == 409, "collection ends with 409 when the run is over")
                break
            }
            let experiment = try client.call("GET", "/experiments/\(id)").json
            if !evaluated, let epoch = experiment?["progress"]?["epoch"]?.doubleValue, epoch >= 10 {
                // Greedy evaluation episodes of the running policy: not stored, they become val/return.
                let before = experiment?["collection"]?["env_steps"]?.doubleValue
                let evalEnvs = try (0..<4).map { try Self.tmaze(seed: UInt64(500 + $0)) }
                let eval = try Self.drive(evalEnvs, client: client, experiment: id, extra: ["mode": .string("eval")], seedBase: 5000) { $0.count >= 8 }
                #expect(eval.refusal == nil && eval.trials.count >= 8)
                let after = try client.call("GET", "/experiments/\(id)").json?["collection"]?["env_steps"]?.doubleValue
                #expect(before != nil && after == before, "evaluation steps are not collected")
                evaluated = true
            }
        }
        #expect(evaluated)
        #expect(collected.count > 100)
        let finished = try client.call("GET", "/experiments/\(id)").json
        // The job may still be writing its last checkpoint: wait for it to end.
        var final = finished?["status"]?.stringValue ?? ""
        for _ in 0..<3000 where final == "running" {
            try await Task.sleep(for: .milliseconds(10))
            final = try client.call("GET", "/experiments/\(id)").json?["status"]?.stringValue ?? ""
        }
        try #require(final == "succeeded")
        let val = try client.call("GET", "/experiments/\(id)/metrics/val/return?x=epoch").json
        #expect(val?["points"]?.arrayValue?.isEmpty == false, "evaluation episodes were recorded as val/return")

        // The trained policy, greedy from its latest checkpoint over HTTP (inference sessions).
        let testEnvs = try (0..<16).map { try Self.tmaze(seed: UInt64(9000 + $0)) }
        let test = try Self.drive(testEnvs, client: client, experiment: id, extra: [:], seedBase: 90_000) { $0.count >= 64 }
        let success = Double(test.trials.filter(\.1).count) / Double(test.trials.count)
        #expect(success >= 0.95, "success rate of the policy trained over HTTP: \(success)")

        // Offline: record the trained policy's episodes, a third of its actions replaced by random
        // ones (so that the data shows what other actions lead to), upload them to a fresh
        // experiment that collects nothing, and train it from them alone.
        var episodes: [JSONValue] = []
        var noise = SeededGenerator(seed: 7)
        for e in 0..<96 {
            let env = try Self.tmaze(seed: UInt64(20_000 + e))
            var observation = env.reset(seed: UInt64(20_000 + e))
            var observations: [JSONValue] = [.array(observation.map { .number(Double($0)) })], acts: [JSONValue] = [], rewards: [JSONValue] = []
            var session: String?, reward = 0.0, reset = true, terminated = false
            while true {
                var body: [String: JSONValue] = ["experiment": .string(id), "observation": .array(observation.map { .number(Double($0)) }),
                                                 "reward": .number(reward), "reset": .bool(reset), "sample": .bool(true)]
                if let session { body["session"] = .string(session) }
                let answer = try client.call("POST", "/act", .object(body))
                session = answer.json?["session"]?.stringValue
                var a = try #require(answer.json?["action"]?.doubleValue)
                if Double.random(in: 0..<1, using: &noise) < 1.0 / 3 { a = Double(Int.random(in: 0..<actions, using: &noise)) }
                let r = try env.step(.discrete(Int(a)))
                observations.append(.array(r.observation.map { .number(Double($0)) }))
                acts.append(.number(a)); rewards.append(.number(r.reward))
                (observation, reward, reset, terminated) = (r.observation, r.reward, false, r.isTerminated)
                if r.isDone { break }
            }
            episodes.append(.object(["observations": .array(observations), "actions": .array(acts), "rewards": .array(rewards),
                                     "terminated": .bool(terminated), "truncated": .bool(false)]))
        }
        guard case .object(var offline) = Self.spec(observationSize: probe.observationSize, actions: actions, name: "offline") else { return }
        offline["schedule"] = .object(["epochs": .number(20), "timesteps_per_epoch": .number(0), "batches_per_epoch": .number(40),
                                       "max_seq_len": .number(8), "learning_rate": .number(3e-4), "warmup_steps": .number(100)])
        offline["evaluation"] = .object(["interval": .number(0)])
        // Offline RL the reference's way: filtered behaviour cloning carries the actor's update.
        offline["agent"] = .object(["reward_multiplier": .number(100), "gamma": .number(0.9999),
                                    "online_coefficient": .number(0), "offline_coefficient": .number(1)])
        let fresh = try client.call("POST", "/experiments", .object(offline))
        let offlineID = try #require(fresh.json?["id"]?.stringValue)
        // A bad episode refuses the whole upload, naming it; nothing is stored.
        guard case .object(var bad) = episodes[3] else { return }
        bad["actions"] = .array([.number(Double(actions))] + (bad["actions"]?.arrayValue?.dropFirst() ?? []))
        let refused = try client.call("POST", "/experiments/\(offlineID)/episodes", .object(["episodes": .array([episodes[0], .object(bad)])]))
        #expect(refused.status == 422)
        #expect(refused.json?["error"]?["field"]?.stringValue == "episodes[1].actions[0]", "\(String(describing: refused.json))")
        let uploaded = try client.call("POST", "/experiments/\(offlineID)/episodes", .object(["episodes": .array(episodes)]))
        #expect(uploaded.status == 201 && uploaded.json?["accepted"]?.doubleValue == 96, "\(String(describing: uploaded.json))")
        let builtIn = try client.call("POST", "/experiments", .object(["environment": .object(["name": .string("tmaze_passive")])]))
        let builtInID = try #require(builtIn.json?["id"]?.stringValue)
        #expect(try client.call("POST", "/experiments/\(builtInID)/episodes", .object(["episodes": .array(episodes)])).status == 409)
        _ = try client.call("DELETE", "/experiments/\(builtInID)")

        var offlineStatus = ""
        for _ in 0..<30_000 where !["succeeded", "failed"].contains(offlineStatus) {
            try await Task.sleep(for: .milliseconds(10))
            offlineStatus = try client.call("GET", "/experiments/\(offlineID)").json?["status"]?.stringValue ?? ""
        }
        try #require(offlineStatus == "succeeded")

        // The offline policy against the untrained one (same spec and seed, built here).
        let offlineTest = try Self.drive(testEnvs, client: client, experiment: offlineID, extra: [:], seedBase: 90_000) { $0.count >= 64 }
        let offlineSuccess = Double(offlineTest.trials.filter(\.1).count) / Double(offlineTest.trials.count)
        let spec = try ExperimentSpec(value: .object(offline))
        let untrained = try Agent(observationWidth: probe.observationSize, actionSpace: probe.actionSpace,
                                  configuration: spec.agentConfiguration(), seed: spec.seed)
        var untrainedSuccesses = 0
        for (i, env) in testEnvs.enumerated() {
            let memory = try untrained.makeMemory(actors: 1)
            for trial in 0..<4 {
                var observation = env.reset(seed: 90_000 &+ UInt64(i * 4 + trial))
                var rl2 = [Float](repeating: 0, count: 1 + actions), time = 0
                try memory.reset(where: [true])
                while true {
                    let a = try untrained.act(observations: [observation], rl2: [rl2], times: [time], memory: memory, sample: false)[0]
                    let r = try env.step(a)
                    if r.isDone { untrainedSuccesses += (r.info.success ?? false) ? 1 : 0; break }
                    (observation, rl2, time) = (r.observation, [Float(r.reward)] + probe.actionSpace.encode(a), time + 1)
                }
            }
        }
        let untrainedSuccess = Double(untrainedSuccesses) / Double(testEnvs.count * 4)
        print("external T-Maze: success over HTTP \(success); offline \(offlineSuccess) vs untrained \(untrainedSuccess)")
        #expect(offlineSuccess >= untrainedSuccess + 0.25, "offline \(offlineSuccess) vs untrained \(untrainedSuccess)")
    }
}
