import Autograd
import Environments
import Foundation
import NeuralNet

// The AMAGO agent (spec §5): encoders, actor, critic ensemble with target and frozen copies,
// PopArt. Shape letters: B batch, L observations, T = L−1 transitions, D state width,
// G gammas, A actions, C critics, K action samples, N actors.

/// An off-policy, sequence-based actor-critic: AMAGO-1's `Agent` or AMAGO-2's `MultiTaskAgent`,
/// as its configuration's `variant` says.
public final class Agent: Module {
    public let configuration: AgentConfiguration
    public let actionSpace: ActionSpace
    public let observationWidth: Int
    /// Discounts, main gamma last (index G−1).
    public let gammas: [Float]
    public let gammaFeature: [Float]
    public let timestepEncoder: TimestepEncoder
    public let trajectoryEncoder: any TrajectoryEncoder
    public let actor: Actor, critics: CriticEnsemble
    /// Polyak-averaged copies for TD targets, and the frozen copy the DPG term differentiates through.
    public let targetActor: Actor, targetCritics: CriticEnsemble, maximizedCritics: CriticEnsemble
    public let popArt: PopArt
    /// The two-hot critic's bins (`multiTask` only).
    public let valueBins: ValueBins?
    /// Draws for REDQ subsets and action samples.
    public private(set) var rng: RandomGenerator
    /// Whether a loss evaluation folds its TD targets into PopArt (off for gradient checks).
    public var updatesStatistics = true

    /// A fresh agent with weights drawn from `seed` (spec §4.7); targets start as exact copies.
    public init(observationWidth: Int, actionSpace: ActionSpace, configuration c: AgentConfiguration, seed: UInt64) throws {
        try c.validate()
        guard observationWidth >= 1, actionSpace.width >= 1 else {
            throw AMAGOError.invalidConfiguration(field: "actionSpace", message: "observation and action widths must be positive")
        }
        configuration = c
        self.actionSpace = actionSpace
        self.observationWidth = observationWidth
        gammas = Gammas.list(gamma: c.gamma, multigamma: c.useMultigamma)
        gammaFeature = Gammas.feature(gammas)
        let rng = RandomGenerator(seed: seed)
        self.rng = rng
        let a = actionSpace.width, g = gammas.count
        timestepEncoder = TimestepEncoder(observationWidth: observationWidth, rl2Width: 1 + a, hidden: c.timestepHidden,
                                          layers: c.timestepLayers, output: c.timestepOutput, activation: c.activation,
                                          normalizeInputs: c.normalizeInputs, using: rng)
        let width = c.timestepOutput
        switch c.encoder {
        case .transformer(var tc):
            tc.inputs = width
            trajectoryEncoder = TransformerEncoder(tc, contextLength: c.maxSequenceLength, using: rng)
        case let .gru(hidden, layers, outputs):
            trajectoryEncoder = GRUEncoder(inputs: width, hidden: hidden, layers: layers, outputs: outputs, using: rng)
        case let .feedForward(dModel, layers):
            trajectoryEncoder = FeedForwardEncoder(inputs: width, dModel: dModel, layers: layers, activation: c.activation, using: rng)
        }
        let d = trajectoryEncoder.outputWidth
        func makeActor() -> Actor {
            Actor(stateWidth: d, actionSpace: actionSpace, gammas: g, hidden: c.actorHidden, layers: c.actorLayers,
                  activation: c.activation, using: rng)
        }
        func makeCritics() -> CriticEnsemble {
            let stateOnly = c.variant == .agent && actionSpace.isDiscrete
            return CriticEnsemble(members: c.critics, inputs: stateOnly ? d : d + 1 + a,
                                  outputs: c.variant == .multiTask ? c.bins : (stateOnly ? g * a : 1),
                                  hidden: c.criticHidden, hiddenLayers: c.criticLayers, activation: c.activation, using: rng)
        }
        actor = makeActor()
        critics = makeCritics()
        targetActor = makeActor()
        targetCritics = makeCritics()
        maximizedCritics = makeCritics()
        popArt = PopArt(gammas: g, enabled: c.popArt)
        valueBins = c.variant == .multiTask
            ? try ValueBins(count: c.bins, minReturn: c.minReturn, maxReturn: c.maxReturn, usesSymlog: c.useSymlog) : nil
        super.init()
        for copy in [targetActor, targetCritics, maximizedCritics] as [Module] { copy.freeze() }
        try targetActor.copyTensors(from: actor)
        try targetCritics.copyTensors(from: critics)
        try maximizedCritics.copyTensors(from: critics)
    }

    /// Restarts the sampling stream (REDQ subsets, policy samples) from `seed`.
    public func reseed(_ seed: UInt64) { rng = RandomGenerator(seed: seed) }

    /// The trainable parameters: both encoders, the critics and the actor.
    public var trainableParameters: [(name: String, tensor: Tensor)] { namedParameters() }

    /// Polyak-averages the target actor and critics toward the online ones and refreshes the
    /// frozen critic copy (spec §5.7 step 3, done before the optimizer step).
    public func syncTargets() throws {
        try targetCritics.polyakUpdate(from: critics, tau: configuration.tau)
        try targetActor.polyakUpdate(from: actor, tau: configuration.tau)
        try maximizedCritics.copyTensors(from: critics)
    }

    /// The timestep and trajectory encoders over a batch: states (B, L, D).
    func encode(_ batch: Batch) throws -> Tensor {
        let o = try timestepEncoder(observations: batch.observations, rl2: batch.rl2, validRows: batch.stateMask)
        return try trajectoryEncoder(o, times: batch.timeIndices)
    }

    /// Replay actions with the last row repeated so every observation has one: (B, L, G, A).
    func bufferActions(_ batch: Batch) throws -> Tensor {
        let (b, l, t, a, g) = (batch.batchSize, batch.length, batch.transitions, actionSpace.width, gammas.count)
        let last = try batch.actions.slice(axis: 1, (t - 1)..<t)
        return try Tensor.concatenate([batch.actions, last], axis: 1).reshaped([b, l, 1, a]).broadcast(to: [b, l, g, a])
    }

    /// The index of each row's largest entry (the stored discrete action): (…).
    func argmaxIndices(_ x: Tensor) throws -> [Int] { try x.max(axis: -1).indices }

    /// Per-(b, t) values repeated over gammas: (B, T) → (B, T, G).
    func perGamma(_ values: [Float]) -> [Float] {
        values.flatMap { v in [Float](repeating: v, count: gammas.count) }
    }
}
