import Autograd

// The learning update of AMAGO-2's MultiTaskAgent (spec §5.6): a two-hot classification
// critic over state–action inputs for discrete and continuous actions alike, and filtered
// behaviour cloning. Shape letters as in Agent.swift; Z bins.

extension Agent {
    /// K sampled actions per row, as the two-hot critic reads them: hard one-hots (discrete) or
    /// squashed samples (continuous), (K, B, L′, G, A), with no gradient.
    func sampledActions(_ raw: Tensor, samples: Int) throws -> Tensor {
        try withNoGrad {
            switch actionSpace {
            case .discrete(let count):
                let policy = try DiscretePolicy(logits: raw)
                return try Tensor.concatenate((0..<samples).map { _ in
                    try DiscretePolicy.oneHot(policy.sample(using: rng), count: count, shape: [1] + policy.probabilities.shape)
                }, axis: 0)
            case .continuous:
                return try policyActions(raw, samples: samples)
            }
        }
    }

    /// Returns in reward-multiplied units of critic logits (C, K, B, L′, G, Z) averaged over
    /// the K samples: (C, B, L′, G).
    func decodedValues(_ logits: Tensor, bins: ValueBins) throws -> Tensor {
        let s = logits.shape
        return try bins.decode(logits: logits).mean(axis: 1).reshaped([s[0], s[2], s[3], s[4]])
    }

    func multiTaskLoss(_ batch: Batch, frozen: StopGradientTerms?) throws -> AgentLoss {
        guard let bins = valueBins else { throw AMAGOError.invalidConfiguration(field: "variant", message: "no value bins") }
        let c = configuration
        let (b, l, t, g) = (batch.batchSize, batch.length, batch.transitions, gammas.count)
        let mask = try transitionMask(batch)
        let s = try encode(batch)                                   // (B, L, D)
        let sDetached = frozen?.states ?? s.detached()
        let raw = try actor(s)                                      // (B, L, G, F)
        let bufferActions = try bufferActions(batch)                // (B, L, G, A)
        // The critic reads softened one-hots for discrete replay actions (spec §11 item 19).
        let criticActions = actionSpace.isDiscrete ? try DiscretePolicy.softened(bufferActions) : bufferActions

        // ── Critic logits for the replayed actions, all L rows, with gradient ──
        let logits = try critics.stateActionValues(s, actions: criticActions.unsqueezed(0), gammaFeature: gammaFeature)
        let replayLogits = try logits.reshaped([c.critics, b, l, g, bins.values.count])   // (C, B, L, G, Z)

        // ── TD targets from the target critics' expected returns (no gradient) ──
        let nextStates = try sDetached.slice(axis: 1, 1..<l)
        func targetValues() throws -> Tensor {
            try withNoGrad {
                let targetRaw = c.useTargetActor ? try targetActor(nextStates) : try raw.detached().slice(axis: 1, 1..<l)
                let next = try sampledActions(targetRaw, samples: c.criticSamples)
                let q = try targetCritics.stateActionValues(nextStates, actions: next, gammaFeature: gammaFeature)
                return try decodedValues(q, bins: bins)              // (C, B, T, G)
            }
        }
        let y = try frozen?.targets ?? tdTargets(targetValues(), batch: batch, useMinimum: c.onlineCoefficient > 0)
        let labels = c.gaussianLabelSigma.map { bins.gaussianLabels(y, sigma: $0) } ?? bins.twoHotLabels(y)
        let labelTensor = try Tensor(shape: [1, b, t, g, bins.values.count], data: labels)
            .broadcast(to: [c.critics, b, t, g, bins.values.count])

        // ── Critic loss: cross-entropy against the soft labels ──
        let criticLoss = try replayLogits.slice(axis: 2, 0..<t).crossEntropy(softLabels: labelTensor).maskedMean(mask)

        // ── Advantage in raw return units (no gradient) ──
        let advantage = try withNoGrad { () -> Tensor in
            let policySamples = try sampledActions(raw.detached(), samples: c.actorSamples)
            let v = try decodedValues(critics.stateActionValues(sDetached, actions: policySamples, gammaFeature: gammaFeature),
                                      bins: bins).mean(axis: 0)           // (B, L, G)
            let q = try bins.decode(logits: replayLogits.detached()).mean(axis: 0).reshaped([b, l, g])
            return try (q - v).slice(axis: 1, 0..<t)
        }

        // ── Actor loss: filtered BC, plus an optional DPG term ──
        var actorTerms = Tensor.zeros([b, t, g])
        var weights = Tensor.zeros([1])
        if c.offlineCoefficient > 0 {
            weights = try frozen?.weights ?? filterWeights(advantage)
            let logp = try replayLogProbabilities(raw, bufferActions: bufferActions, batch: batch)
            actorTerms = try actorTerms - (weights * logp) * c.offlineCoefficient
        }
        if c.onlineCoefficient > 0 {
            let actions: Tensor
            switch actionSpace {
            case .discrete:
                let policy = try DiscretePolicy(logits: raw)
                actions = try Tensor.concatenate((0..<c.actorSamples).map { _ in try policy.relaxedSample(using: rng).unsqueezed(0) }, axis: 0)
            case .continuous:
                actions = try policyActions(raw, samples: c.actorSamples)
            }
            let q = try decodedValues(maximizedCritics.stateActionValues(sDetached, actions: actions, gammaFeature: gammaFeature), bins: bins)
            let worst = try q.slice(axis: 2, 0..<t).min(axis: 0).values          // (B, T, G)
            actorTerms = try actorTerms - popArt.normalizeValues(worst) * c.onlineCoefficient
        }
        let actorLoss = try actorTerms.maskedMean(mask.reshaped([b, t, 1]))
        let total = try actorLoss + criticLoss * c.criticLossWeight
        let qReplay = try withNoGrad { try bins.decode(logits: replayLogits.slice(axis: 2, 0..<t)) }
        return AgentLoss(total: total, metrics: try metrics(batch: batch, total: total, critic: criticLoss, actor: actorLoss,
                                                          targets: y, qReplay: qReplay, weights: weights, raw: raw),
                         stopGradients: StopGradientTerms(states: sDetached, targets: y, weights: weights, actionValues: nil))
    }
}
