import AMAGO
import Autograd
import Environments
import NeuralNet
import Testing
import TestSupport

/// Finite-difference checks of the complete loss, with its stop-gradient terms held at their
/// unperturbed values (exactly what back-propagation differentiates).
@Suite struct AgentGradientTests {
    static let cases: [(AgentConfiguration.Variant, ActionSpace)] = [
        (.agent, .discrete(count: 3)), (.agent, .continuous(dimension: 2)),
        (.multiTask, .discrete(count: 3)), (.multiTask, .continuous(dimension: 2)),
    ]

    @Test(arguments: 0..<4)
    func completeLoss_matchesFiniteDifferences(index: Int) throws {
        let (variant, space) = Self.cases[index]
        var c = AgentFixtures.tinyConfiguration(variant)
        c.filter = .exponential()  // a filter whose weights vary, frozen below like every stop-gradient term
        if variant == .multiTask {
            // The optional DPG term is checked where it is differentiable: with continuous actions.
            // For discrete ones it uses the straight-through Gumbel estimator, whose gradient is a
            // surrogate by design (its forward pass is piecewise constant), so finite differences
            // cannot check it; `gumbelStraightThrough_isOneHotWithSoftGradient` covers it instead.
            if !space.isDiscrete { c.onlineCoefficient = 0.5 }
            c.criticLossWeight = 1  // keeps the loss near 3 rather than 30: less float32 rounding in the differences
        }
        let agent = try Agent(observationWidth: 3, actionSpace: space, configuration: c, seed: 1)
        let batch = try Batch(AgentFixtures.slices(count: 3, lengths: [5, 4], observationWidth: 3, actionSpace: space, seed: 2),
                              discreteActions: space.isDiscrete)
        _ = try agent.loss(batch)          // move PopArt and InputNorm off their initial values
        agent.train(false)                 // then hold buffers fixed: no statistics updates, no power iteration
        agent.updatesStatistics = false
        agent.reseed(5)
        let frozen = try agent.loss(batch).stopGradients
        let named = Dictionary(uniqueKeysWithValues: agent.namedParameters().map { ($0.name, $0.tensor) })
        let picks = ["timestepEncoder.mlp.hidden.0.weight", "timestepEncoder.outputNorm.gain",
                     "trajectoryEncoder.transformer.inputProjection.weight", "trajectoryEncoder.transformer.layers.0.qkv.weight",
                     "trajectoryEncoder.transformer.layers.0.feedForward2.gamma", "trajectoryEncoder.transformer.finalNorm.bias",
                     "actor.mlp.hidden.0.weight", "actor.mlp.output.bias", "critics.layers.0.weight", "critics.layers.2.bias"]
        let inputs = try picks.map { name -> Tensor in
            guard let t = named[name] else { throw AMAGOError.invalidConfiguration(field: name, message: "no such parameter") }
            return t
        }
        let result = try checkGradients(inputs, step: 1e-3, absoluteTolerance: 1e-3, relativeTolerance: 3e-2, samplesPerInput: 4) { _ in
            agent.reseed(5)
            return try agent.loss(batch, frozen: frozen).total
        }
        #expect(result.passed, "\(variant) \(space): \(result)")
    }

    /// For discrete actions, sharing one critic pass for the replayed actions and the policy's
    /// expectation gives the same loss and gradients as a separate frozen copy equal to the critics.
    @Test func sharedDiscreteCriticPass_equalsFrozenCopy() throws {
        func run(shared: Bool) throws -> (Float, [[Float]]) {
            var c = AgentFixtures.tinyConfiguration(.agent, smooth: false)
            c.shareDiscreteCriticPass = shared
            let agent = try Agent(observationWidth: 3, actionSpace: .discrete(count: 4), configuration: c, seed: 3)
            let batch = try Batch(AgentFixtures.slices(count: 4, lengths: [6, 3], observationWidth: 3,
                                                       actionSpace: .discrete(count: 4), seed: 4), discreteActions: true)
            agent.reseed(9)
            let loss = try agent.loss(batch)
            try loss.total.backward()
            return (loss.total.item, agent.parameters.map { $0.grad ?? [] })
        }
        let (a, ga) = try run(shared: true), (b, gb) = try run(shared: false)
        #expect(Swift.abs(a - b) <= 1e-6 * Swift.max(1, Swift.abs(a)))
        for (x, y) in zip(ga, gb) { #expect(isClose(x, y, relative: 1e-4, absolute: 1e-4 * 1e-4)) }
    }

    /// Changing any padded entry leaves the loss and every gradient unchanged.
    @Test(arguments: [AgentConfiguration.Variant.agent, .multiTask])
    func padding_doesNotReachLossOrGradients(variant: AgentConfiguration.Variant) throws {
        let space = ActionSpace.discrete(count: 3)
        let slices = AgentFixtures.slices(count: 2, lengths: [6, 3], observationWidth: 2, actionSpace: space, seed: 8)
        func run(junk: Float) throws -> (Float, [[Float]]) {
            let agent = try Agent(observationWidth: 2, actionSpace: space, configuration: AgentFixtures.tinyConfiguration(variant), seed: 2)
            let batch = try Batch(slices, discreteActions: true)
            // Overwrite the padded observations (sequence 1, steps 3…5) with junk.
            var obs = batch.observations.data
            for t in 3..<6 { for i in 0..<2 { obs[(1 * 6 + t) * 2 + i] = junk } }
            try batch.observations.assign(obs)
            agent.reseed(1)
            let loss = try agent.loss(batch)
            try loss.total.backward()
            return (loss.total.item, agent.parameters.map { $0.grad ?? [] })
        }
        let (a, ga) = try run(junk: 4), (b, gb) = try run(junk: -7.5)
        #expect(a == b)
        for (x, y) in zip(ga, gb) { #expect(x == y) }
    }
}
