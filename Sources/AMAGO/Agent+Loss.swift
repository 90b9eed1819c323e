import Autograd
import Foundation

// The learning update of AMAGO-1 (spec §5.3) and the pieces both variants share (§5.2, §5.4).
// Shape letters as in Agent.swift.

/// One evaluation of the loss: the scalar to differentiate and the training metrics (§5.9).
public struct AgentLoss {
    /// Rank 0: masked actor loss + critic weight · masked critic loss.
    public let total: Tensor
    /// Fixed metric keys (`train/critic_loss`, `train/actor_loss`, …) → values.
    public var metrics: [String: Float]
    /// The values the loss uses without differentiating through them.
    public let stopGradients: StopGradientTerms
}

/// The quantities the loss treats as constants: the detached states the critics read for the
/// policy's value, the TD targets and the filter weights. Handing them back to `loss` holds
/// them fixed, so a finite-difference check of the loss sees exactly what back-propagation
/// differentiates.
public struct StopGradientTerms {
    /// (B, L, D) states without history.
    public var states: Tensor
    /// TD targets (B, T, G) in return units.
    public var targets: [Float]
    /// Filter weights (B, T, G).
    public var weights: Tensor?
    /// Discrete shared pass: Q(s, ·) without history (C, B, L, G, A).
    public var actionValues: Tensor?
}

extension Agent {
    /// The loss of one batch; as a side effect PopArt folds in the batch's TD targets.
    /// - Parameter frozen: stop-gradient terms of an earlier evaluation to reuse instead of
    ///   recomputing (for gradient checks); nil in training.
    public func loss(_ batch: Batch, frozen: StopGradientTerms? = nil) throws -> AgentLoss {
        guard batch.observations.shape.last == observationWidth, batch.rl2.shape.last == 1 + actionSpace.width else {
            throw AMAGOError.invalidBatch("observation or action width does not match the agent")
        }
        return configuration.variant == .agent ? try amagoLoss(batch, frozen: frozen) : try multiTaskLoss(batch, frozen: frozen)
    }

    /// (1, B, T, 1) mask of real transitions, broadcastable over critics and gammas.
    func transitionMask(_ batch: Batch) throws -> Tensor {
        try Tensor(shape: [1, batch.batchSize, batch.transitions, 1], data: batch.transitionMask)
    }

    /// n-step TD targets (B, T, G) from reduced target values (C, B, T, G) in return units.
    func tdTargets(_ targetValues: Tensor, batch: Batch, useMinimum: Bool) throws -> [Float] {
        let c = configuration
        let reduced = reduceEnsemble(targetValues.data, critics: c.critics, subset: c.criticsForTarget,
                                     useMinimum: useMinimum, using: rng)
        let rewards = perGamma(batch.rewards.map { $0 * c.rewardMultiplier })
        let dones = perGamma(batch.dones)
        let y = nStepReturns(rewards: rewards, dones: dones, values: reduced, mask: batch.transitionMask, gammas: gammas,
                             batch: batch.batchSize, steps: batch.transitions, n: c.nStep)
        if updatesStatistics { popArt.update(values: y, mask: batch.transitionMask) }
        return y
    }

    /// Filter weights (B, T, G) from advantages, or ones for plain behaviour cloning.
    func filterWeights(_ advantage: Tensor) throws -> Tensor {
        let c = configuration
        return try Tensor(shape: advantage.shape, data: advantage.data.map { c.fakeFilter ? 1 : c.filter.weight($0) })
    }

    /// ln π(replayed action) per gamma for the first T rows: (B, T, G).
    func replayLogProbabilities(_ raw: Tensor, bufferActions: Tensor, batch: Batch) throws -> Tensor {
        let t = batch.transitions
        switch actionSpace {
        case .discrete:
            let policy = try DiscretePolicy(logits: raw)
            return try policy.logProbability(of: argmaxIndices(bufferActions)).slice(axis: 1, 0..<t)
        case .continuous:
            let policy = try TanhGaussianPolicy(raw: raw)
            return try policy.logProbability(of: bufferActions).sum(axis: -1).slice(axis: 1, 0..<t)
        }
    }

    /// K reparameterised (continuous) or probability-vector (discrete) policy actions: (K, B, L′, G, A).
    func policyActions(_ raw: Tensor, samples: Int) throws -> Tensor {
        switch actionSpace {
        case .discrete:
            return try DiscretePolicy(logits: raw).probabilities.unsqueezed(0)
        case .continuous:
            let policy = try TanhGaussianPolicy(raw: raw)
            return try Tensor.concatenate((0..<samples).map { _ in try policy.sample(using: rng).unsqueezed(0) }, axis: 0)
        }
    }

    /// Expected values of `actions` (K, B, L′, G, A) under a critic ensemble: (C, B, L′, G). For
    /// discrete actions `actions` holds weight vectors (K = 1) and the result is Σ_a w·Q(s, a).
    func criticValues(_ ensemble: CriticEnsemble, state: Tensor, actions: Tensor) throws -> Tensor {
        switch actionSpace {
        case .discrete:
            let q = try ensemble.actionValues(state, gammas: gammas.count)  // (C, B, L′, G, A)
            return try (q * actions.reshaped(Array(actions.shape.dropFirst()))).sum(axis: -1)
        case .continuous:
            let q = try ensemble.stateActionValues(state, actions: actions, gammaFeature: gammaFeature)
            return try q.mean(axis: 1).reshaped(Array(q.shape.dropLast()).enumerated().filter { $0.offset != 1 }.map(\.element))
        }
    }

    /// AMAGO-1: PopArt-normalised TD regression for the critics; filtered BC plus DPG for the actor.
    func amagoLoss(_ batch: Batch, frozen: StopGradientTerms?) throws -> AgentLoss {
        let c = configuration
        let (l, t) = (batch.length, batch.transitions)
        let mask = try transitionMask(batch)
        // ── Shared encoders: one sequence-model pass, with gradient ──
        let s = try encode(batch)                                   // (B, L, D)
        let sDetached = frozen?.states ?? s.detached()
        var actionValues: Tensor? = nil
        let raw = try actor(s)                                      // (B, L, G, F)
        let bufferActions = try bufferActions(batch)                // (B, L, G, A)
        let criticActions = actionSpace.isDiscrete ? try DiscretePolicy.softened(bufferActions) : bufferActions

        // ── Critic terms ──
        let qReplay: Tensor                                          // (C, B, T, G), trains critics + encoders
        let qPolicy: Tensor                                          // (C, B, L, G), gradient only via π
        if actionSpace.isDiscrete && c.shareDiscreteCriticPass {
            // Q(s, ·) once: with gradient for the replayed actions, detached for the actor's
            // expectation (identical to a frozen copy equal to the critics; spec §11 item 3).
            let q = try critics.actionValues(s, gammas: gammas.count)             // (C, B, L, G, A)
            qReplay = try (q.slice(axis: 2, 0..<t) * criticActions.slice(axis: 1, 0..<t)).sum(axis: -1)
            actionValues = frozen?.actionValues ?? q.detached()
            qPolicy = try (actionValues! * DiscretePolicy(logits: raw).probabilities).sum(axis: -1)
        } else {
            qReplay = try criticValues(critics, state: s.slice(axis: 1, 0..<t),
                                       actions: criticActions.slice(axis: 1, 0..<t).unsqueezed(0))
            qPolicy = try criticValues(maximizedCritics, state: sDetached, actions: policyActions(raw, samples: c.actorSamples))
        }

        // ── TD targets (no gradient) ──
        let nextStates = try sDetached.slice(axis: 1, 1..<l)
        func targetValues() throws -> Tensor {
            try withNoGrad {
                let targetRaw = c.useTargetActor ? try targetActor(nextStates) : try raw.detached().slice(axis: 1, 1..<l)
                let next = try policyActions(targetRaw, samples: c.criticSamples)
                return try popArt.denormalized(criticValues(targetCritics, state: nextStates, actions: next))
            }
        }
        let y = try frozen?.targets ?? tdTargets(targetValues(), batch: batch, useMinimum: c.onlineCoefficient > 0)
        let yTensor = try Tensor(shape: [batch.batchSize, t, gammas.count], data: y)
        let yNormalized = try popArt.normalizeValues(yTensor)        // with the updated statistics

        // ── Critic loss ──
        let error = try popArt.normalized(qReplay) - yNormalized     // (C, B, T, G)
        let criticLoss = try (error * error).maskedMean(mask)

        // ── Actor loss ──
        var actorTerms = Tensor.zeros([batch.batchSize, t, gammas.count])
        let qPolicyTransitions = try qPolicy.slice(axis: 2, 0..<t)
        if c.onlineCoefficient > 0 {
            let worst = try qPolicyTransitions.min(axis: 0).values   // (B, T, G)
            actorTerms = try actorTerms - popArt.normalized(worst) * c.onlineCoefficient
        }
        var weights = Tensor.zeros([1])
        if c.offlineCoefficient > 0 {
            let advantage = try withNoGrad { try qReplay.mean(axis: 0) - qPolicyTransitions.mean(axis: 0) }  // raw units
            weights = try frozen?.weights ?? filterWeights(advantage)
            let logp = try replayLogProbabilities(raw, bufferActions: bufferActions, batch: batch)
            actorTerms = try actorTerms - (weights * logp) * c.offlineCoefficient
        }
        let actorLoss = try actorTerms.maskedMean(mask.reshaped([batch.batchSize, t, 1]))
        let total = try actorLoss + criticLoss * c.criticLossWeight
        return AgentLoss(total: total, metrics: try metrics(batch: batch, total: total, critic: criticLoss, actor: actorLoss,
                                                          targets: y, qReplay: qReplay, weights: weights, raw: raw),
                         stopGradients: StopGradientTerms(states: sDetached, targets: y, weights: weights, actionValues: actionValues))
    }

    /// The metric keys of spec §5.9 that the loss can fill.
    func metrics(batch: Batch, total: Tensor, critic: Tensor, actor: Tensor, targets: [Float], qReplay: Tensor,
                 weights: Tensor, raw: Tensor) throws -> [String: Float] {
        let maskSum = max(batch.transitionMask.reduce(0, +), 1)
        let g = gammas.count
        let real = targets.enumerated().filter { batch.transitionMask[$0.offset / g] > 0 }.map(\.element)
        let mainGamma = targets.enumerated().filter { $0.offset % g == g - 1 && batch.transitionMask[$0.offset / g] > 0 }.map(\.element)
        var m: [String: Float] = [
            "train/loss": total.item, "train/critic_loss": critic.item, "train/actor_loss": actor.item,
            "train/sequence_length": Float(batch.length),
            "train/batch_timesteps": Float(batch.batchSize * batch.transitions),
            "train/unmasked_batch_timesteps": maskSum,
            "train/td_target_min": real.min() ?? 0, "train/td_target_max": real.max() ?? 0,
            "train/td_target_main_gamma": mainGamma.isEmpty ? 0 : mainGamma.reduce(0, +) / Float(mainGamma.count),
            "train/q_replay_mean": qReplay.data.reduce(0, +) / Float(max(qReplay.count, 1)),
            "train/reward_mean": zip(batch.rewards, batch.transitionMask).map { $0 * $1 }.reduce(0, +) / maskSum,
            "train/popart_mu": popArt.mean.reduce(0, +) / Float(g),
            "train/popart_sigma": popArt.sigma.reduce(0, +) / Float(g),
        ]
        if weights.count > 1 {
            m["train/filter_mean"] = weights.data.reduce(0, +) / Float(weights.count)
            m["train/filter_approved_fraction"] = Float(weights.data.filter { $0 > 0 }.count) / Float(weights.count)
        }
        if actionSpace.isDiscrete {
            let entropy = try DiscretePolicy(logits: raw.detached()).entropy()
            m["train/policy_entropy"] = entropy.data.reduce(0, +) / Float(max(entropy.count, 1))
        }
        return m
    }
}
