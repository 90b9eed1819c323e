import Autograd
import Environments
import Foundation

// Collecting experience and evaluating (spec §6.2, §6.4, §6.6): N actors stepped in lock-step,
// one batched policy call per step, each actor's memory reset when its trial ends.

/// What a rollout window saw: finished trials and the metrics their steps reported.
struct RolloutStatistics {
    var returns: [Double] = []
    var successes: [Double] = []
    /// Per-step info metrics (e.g. "Episode 1 Success") and per-task returns, by key.
    var metrics: [String: [Double]] = [:]
    var steps = 0

    mutating func add(_ step: SlotStep) {
        for (key, value) in step.result.info.metrics { metrics[key, default: []].append(value) }
        guard let trialReturn = step.trialReturn else { return }
        addTrial(return: trialReturn, success: step.result.info.success)
        metrics["\(step.environmentName)/return", default: []].append(trialReturn)
    }

    /// One finished trial: its return and, when the environment reports one, its success.
    mutating func addTrial(return trialReturn: Double, success: Bool?) {
        returns.append(trialReturn)
        if let success { successes.append(success ? 1 : 0) }
    }

    /// Fixed metric keys under `prefix`: return, bottom-quintile return, success rate, and every
    /// reported metric as a lower-case path segment.
    func points(prefix: String) -> [String: Double] {
        var out: [String: Double] = ["\(prefix)/trials": Double(returns.count)]
        if !returns.isEmpty {
            out["\(prefix)/return"] = returns.reduce(0, +) / Double(returns.count)
            out["\(prefix)/return_bottom_quintile"] = RolloutStatistics.percentile(returns, 0.2)
        }
        if !successes.isEmpty { out["\(prefix)/success_rate"] = successes.reduce(0, +) / Double(successes.count) }
        for (key, values) in metrics where !values.isEmpty {
            out["\(prefix)/\(RolloutStatistics.slug(key))"] = values.reduce(0, +) / Double(values.count)
        }
        return out
    }

    /// Linear-interpolated percentile, as NumPy's default.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }

    /// "Episode 1 Success" → "episode_1_success"; keeps "/" so per-task keys stay paths.
    static func slug(_ key: String) -> String {
        key.lowercased().map { $0.isLetter || $0.isNumber || $0 == "/" ? String($0) : "_" }.joined()
    }
}

/// A set of actors with their environments, rollout memory and unfinished trajectories.
final class ActorGroup {
    let environments: VectorEnvironment
    var inputs: [Timestep]
    var memory: EncoderMemory
    /// The timesteps of each actor's unfinished trial.
    var trajectories: [[Timestep]]
    /// Width of the observation the agent reads (a prefix of what the environment returns).
    let agentObservationWidth: Int

    init(environments: VectorEnvironment, agent: Agent, seed: UInt64) throws {
        self.environments = environments
        inputs = environments.reset(seed: seed)
        memory = try agent.makeMemory(actors: environments.count)
        trajectories = inputs.map { [$0] }
        agentObservationWidth = agent.observationWidth
    }

    /// Runs `steps` lock-step steps. Finished trials go to `finished`; exploration, when given,
    /// perturbs the chosen actions (the executed ones are stored).
    func run(steps: Int, agent: Agent, sample: Bool, exploration: Exploration?, shouldStop: () -> Bool,
             finished: (TrajectorySlice, String) throws -> Void) throws -> RolloutStatistics {
        var stats = RolloutStatistics()
        let space = environments.slots[0].environment.actionSpace
        for _ in 0..<steps {
            if shouldStop() { break }
            var actions = try agent.act(observations: inputs.map { Array($0.observation.prefix(agentObservationWidth)) },
                                        rl2: inputs.map(\.rl2), times: inputs.map(\.timeIndex), memory: memory, sample: sample)
            if let exploration { actions = exploration.apply(actions, timeIndices: inputs.map(\.timeIndex), actionSpace: space) }
            let results = try environments.step(actions)
            var done = [Bool](repeating: false, count: results.count)
            for (i, step) in results.enumerated() {
                stats.add(step)
                trajectories[i].append(step.timestep)
                if step.result.isDone {
                    done[i] = true
                    exploration?.trialEnded(actor: i)
                    try finished(ActorGroup.slice(trajectories[i]), step.environmentName)
                    trajectories[i] = [step.next]
                }
                inputs[i] = step.next
            }
            stats.steps += results.count
            if done.contains(true) { try memory.reset(where: done) }
        }
        return stats
    }

    /// A trial's timesteps frozen into arrays (spec §1.2): transition i's reward, done flag and
    /// action are those recorded with timestep i + 1.
    static func slice(_ timesteps: [Timestep]) -> TrajectorySlice {
        let next = timesteps.dropFirst()
        return TrajectorySlice(observations: timesteps.map(\.observation), rl2: timesteps.map(\.rl2),
                               timeIndices: timesteps.map(\.timeIndex), rewards: next.map(\.reward),
                               dones: next.map(\.isTerminal), actions: next.map(\.previousAction))
    }
}
