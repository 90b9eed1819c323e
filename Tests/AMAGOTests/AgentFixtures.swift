import AMAGO
import Autograd
import Environments
import NeuralNet

/// Small agents and synthetic batches shared by the agent tests.
enum AgentFixtures {
    static func tinyConfiguration(_ variant: AgentConfiguration.Variant, smooth: Bool = true) -> AgentConfiguration {
        var c = variant == .agent ? AgentConfiguration() : AgentConfiguration.multiTask()
        c.critics = 3
        c.timestepHidden = 8; c.timestepLayers = 1; c.timestepOutput = 8
        var t = TransformerConfiguration(inputs: 8)
        t.dModel = 8; t.heads = 2; t.dFeedForward = 16; t.layers = 1
        t.dropoutEmbedding = 0; t.dropoutFeedForward = 0
        if smooth { t.activation = .gelu }
        c.encoder = .transformer(t)
        c.actorHidden = 8; c.criticHidden = 8
        c.bins = 16; c.minReturn = -20; c.maxReturn = 20
        c.maxSequenceLength = 8
        if smooth { c.activation = .gelu }
        return c
    }

    /// Random slices of different lengths (so the batch has padding), seeded.
    static func slices(count: Int, lengths: [Int], observationWidth: Int, actionSpace: ActionSpace, seed: UInt64) -> [TrajectorySlice] {
        let rng = RandomGenerator(seed: seed)
        let a = actionSpace.width
        return (0..<count).map { i in
            let n = lengths[i % lengths.count]
            let actions: [[Float]] = (0..<(n - 1)).map { _ in
                switch actionSpace {
                case .discrete(let k):
                    var v = [Float](repeating: 0, count: k); v[rng.integer(below: k)] = 1; return v
                case .continuous(let d):
                    return (0..<d).map { _ in rng.uniform(-1, 1) }
                }
            }
            let rewards = (0..<(n - 1)).map { _ in rng.uniform(-1, 1) }
            var rl2: [[Float]] = [[Float](repeating: 0, count: 1 + a)]
            for t in 1..<n { rl2.append([rewards[t - 1]] + actions[t - 1]) }
            return TrajectorySlice(observations: (0..<n).map { _ in (0..<observationWidth).map { _ in rng.normal() } },
                                   rl2: rl2, timeIndices: Array(0..<n), rewards: rewards,
                                   dones: (0..<(n - 1)).map { $0 == n - 2 && i % 2 == 0 }, actions: actions)
        }
    }
}
