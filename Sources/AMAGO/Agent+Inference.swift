import Autograd
import Environments

// Acting (spec §5.8): eval mode, one step for every actor, the main gamma's distribution.
// Shape letters: N actors, O observation width, A action width, P policy parameters per gamma.

extension Agent {
    /// An empty rollout memory for `actors` actors.
    public func makeMemory(actors: Int) throws -> EncoderMemory { try trajectoryEncoder.makeMemory(actors: actors) }

    /// Chooses an action for every actor from its new timestep and its memory, which then
    /// includes that timestep. Runs in evaluation mode: no dropout and no statistics updates.
    /// - Parameters:
    ///   - observations: (N, O)
    ///   - rl2: (N, 1 + A): the reward and previous action each actor just received.
    ///   - times: (N) steps since each actor's trial began.
    ///   - sample: draw from the policy (true) or take its mode, tanh(μ) for continuous actions.
    public func act(observations: [[Float]], rl2: [[Float]], times: [Int], memory: EncoderMemory,
                    sample: Bool) throws -> [Action] {
        try act(observations: observations, rl2: rl2, times: times, memories: [memory], sample: sample)
    }

    /// `act` for the actors of several memories in one forward pass: row n of the inputs
    /// belongs to the n-th actor of the memories taken in order. Each actor's action is the one
    /// it would get stepped alone (the same greedy choice; sampling draws from the one generator).
    public func act(observations: [[Float]], rl2: [[Float]], times: [Int], memories: [EncoderMemory],
                    sample: Bool) throws -> [Action] {
        let raw = try policyParameters(observations: observations, rl2: rl2, times: times, memories: memories)
        let n = observations.count
        return try withNoGrad {
            switch actionSpace {
            case .discrete:
                let policy = try DiscretePolicy(logits: raw)
                return try (sample ? policy.sample(using: rng) : policy.mode()).map { .discrete($0) }
            case .continuous(let d):
                let policy = try TanhGaussianPolicy(raw: raw)
                let a = try sample ? policy.sample(using: rng) : policy.meanAction()
                return (0..<n).map { .continuous(Array(a.data[($0 * d)..<($0 * d + d)])) }
            }
        }
    }

    /// The main gamma's policy parameters (N, P) for every actor's new timestep (logits for
    /// discrete actions, mean and log-std for continuous ones); the memories then include it.
    public func policyParameters(observations: [[Float]], rl2: [[Float]], times: [Int],
                                 memories: [EncoderMemory]) throws -> Tensor {
        let n = observations.count, actors = memories.reduce(0) { $0 + $1.actors }
        guard n > 0, n == actors, rl2.count == n, times.count == n,
              observations.allSatisfy({ $0.count == observationWidth }), rl2.allSatisfy({ $0.count == 1 + actionSpace.width }) else {
            throw AMAGOError.invalidBatch("act needs \(actors) observations of width \(observationWidth) and rl2 of width \(1 + actionSpace.width)")
        }
        let wasTraining = isTraining
        train(false)
        defer { train(wasTraining) }
        return try withNoGrad {
            let obs = try Tensor(shape: [n, 1, observationWidth], data: observations.flatMap { $0 })
            let r = try Tensor(shape: [n, 1, 1 + actionSpace.width], data: rl2.flatMap { $0 })
            let o = try timestepEncoder(observations: obs, rl2: r)
            let s = try trajectoryEncoder.step(o, times: times, memories: memories)
            let g = gammas.count
            return try actor(s).slice(axis: 2, (g - 1)..<g).reshaped([n, actor.parametersPerGamma])  // main gamma
        }
    }
}
