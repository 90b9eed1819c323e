import AMAGO
import Autograd
import Environments
import NeuralNet
import Testing
import TestSupport

@Suite struct AgentBehaviourTests {
    /// A fixed synthetic batch: in every step action 1 earned +1 and the others nothing. A few
    /// hundred updates must fit the critic and move the policy to the approved action.
    @Test(arguments: [AgentConfiguration.Variant.agent, .multiTask])
    func learning_fitsCriticAndMovesPolicyTowardApprovedActions(variant: AgentConfiguration.Variant) throws {
        var c = AgentFixtures.tinyConfiguration(variant, smooth: false)
        c.useMultigamma = false
        c.gamma = 0.5
        c.minReturn = -100; c.maxReturn = 100; c.bins = 32  // returns reach 20 after the reward multiplier
        // The two-hot critic reads the action as an input (AMAGO-1's discrete critic has an output
        // per action), so it needs a little more width to tell the actions apart.
        c.criticHidden = 32
        let space = ActionSpace.discrete(count: 3)
        let agent = try Agent(observationWidth: 2, actionSpace: space, configuration: c, seed: 3)
        let rng = RandomGenerator(seed: 4)
        let slices = (0..<8).map { _ -> TrajectorySlice in
            let n = 7
            let actions = (0..<(n - 1)).map { _ -> [Float] in var v: [Float] = [0, 0, 0]; v[rng.integer(below: 3)] = 1; return v }
            let rewards = actions.map { $0[1] == 1 ? Float(1) : 0 }
            var rl2: [[Float]] = [[0, 0, 0, 0]]
            for t in 1..<n { rl2.append([rewards[t - 1]] + actions[t - 1]) }
            return TrajectorySlice(observations: (0..<n).map { _ in [rng.normal(), rng.normal()] }, rl2: rl2,
                                   timeIndices: Array(0..<n), rewards: rewards, dones: [Bool](repeating: false, count: n - 1),
                                   actions: actions)
        }
        let batch = try Batch(slices, discreteActions: true)
        var optimizer = Learner.defaultOptimizer
        optimizer.learningRate = 1e-3
        optimizer.warmupSteps = 10
        let learner = Learner(agent: agent, optimizer: optimizer)
        let first = try learner.step(batch)
        var last = first
        for _ in 0..<1500 { last = try learner.step(batch) }
        #expect(last["train/critic_loss"]! < 0.5 * first["train/critic_loss"]!, "critic loss \(first["train/critic_loss"]!) → \(last["train/critic_loss"]!)")
        // The policy's probability of the rewarded action, over every state in the batch.
        agent.train(false)
        let probabilityOfApproved = try withNoGrad { () -> Float in
            let states = try agent.trajectoryEncoder(agent.timestepEncoder(observations: batch.observations, rl2: batch.rl2), times: batch.timeIndices)
            let policy = try DiscretePolicy(logits: agent.actor(states))
            let p = policy.probabilities.data
            return stride(from: 1, to: p.count, by: 3).map { p[$0] }.reduce(0, +) / Float(p.count / 3)
        }
        #expect(probabilityOfApproved > 0.8, "π(rewarded action) = \(probabilityOfApproved)")
    }

    @Test func inference_usesTheMainGammaAndLeavesBuffersUntouched() throws {
        var c = AgentFixtures.tinyConfiguration(.agent)
        c.normalizeInputs = true
        let agent = try Agent(observationWidth: 2, actionSpace: .discrete(count: 3), configuration: c, seed: 1)
        // Make the main gamma's policy prefer action 2 and every other gamma's action 0.
        let bias = agent.actor.mlp.output.bias!
        var values = [Float](repeating: 0, count: bias.count)
        for g in 0..<agent.gammas.count { values[g * 3 + (g == agent.gammas.count - 1 ? 2 : 0)] = 50 }
        try bias.assign(values)
        let buffers = agent.namedTensors().filter { !$0.tensor.requiresGrad }.map { ($0.name, $0.tensor.data) }
        let memory = try agent.makeMemory(actors: 2)
        let actions = try agent.act(observations: [[0.5, -1], [2, 3]], rl2: [[0, 0, 0, 0], [0, 0, 0, 0]], times: [0, 0],
                                    memory: memory, sample: false)
        #expect(actions == [.discrete(2), .discrete(2)])
        for (name, data) in buffers {
            #expect(agent.namedTensors().first { $0.name == name }!.tensor.data == data, "\(name) changed")
        }
        #expect(agent.isTraining)
        let continuous = try Agent(observationWidth: 2, actionSpace: .continuous(dimension: 2), configuration: c, seed: 1)
        let chosen = try continuous.act(observations: [[1, 1]], rl2: [[0, 0, 0]], times: [0], memory: continuous.makeMemory(actors: 1), sample: true)
        guard case .continuous(let a) = chosen[0] else { Issue.record("expected a continuous action"); return }
        #expect(a.count == 2 && a.allSatisfy { Swift.abs($0) <= 1 })
        #expect(throws: AMAGOError.self) {
            try agent.act(observations: [[1, 1, 1]], rl2: [[0, 0, 0, 0]], times: [0], memory: agent.makeMemory(actors: 1), sample: false)
        }
    }

    @Test func targets_startAsCopiesAndFollowByPolyakAveraging() throws {
        let agent = try Agent(observationWidth: 2, actionSpace: .continuous(dimension: 1),
                              configuration: AgentFixtures.tinyConfiguration(.agent), seed: 1)
        let online = agent.critics.namedTensors(), target = agent.targetCritics.namedTensors()
        for (a, b) in zip(online, target) { #expect(a.tensor.data == b.tensor.data) }
        #expect(agent.targetCritics.namedParameters().isEmpty && agent.maximizedCritics.namedParameters().isEmpty)
        let before = target[0].tensor.data
        try online[0].tensor.assign(online[0].tensor.data.map { $0 + 1 })
        try agent.syncTargets()
        #expect(zip(target[0].tensor.data, before).allSatisfy { Swift.abs($0 - ($1 + 0.003)) < 1e-6 })
        #expect(agent.maximizedCritics.namedTensors()[0].tensor.data == online[0].tensor.data)
    }
}
