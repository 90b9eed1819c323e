import Autograd
import NeuralNet

/// Trains an agent one batch at a time (spec §5.7): loss, backward, global-norm clipping,
/// target update, AdamW step with linear warm-up.
public final class Learner {
    public let agent: Agent
    public let optimizer: AdamW

    /// Optimizer defaults of spec §5.7: lr 1e-4, 500 warm-up steps, weight decay 1e-3, clip 1.
    public static var defaultOptimizer: AdamW.Configuration {
        var c = AdamW.Configuration()
        c.learningRate = 1e-4
        c.warmupSteps = 500
        c.weightDecay = 1e-3
        c.gradientClip = 1
        return c
    }

    public init(agent: Agent, optimizer configuration: AdamW.Configuration = Learner.defaultOptimizer) {
        self.agent = agent
        optimizer = AdamW(parameters: agent.trainableParameters, configuration: configuration)
    }

    /// One update on `batch`; returns the loss metrics plus `train/learning_rate` and
    /// `train/grad_norm` (before clipping).
    @discardableResult
    public func step(_ batch: Batch) throws -> [String: Float] {
        agent.train(true)
        optimizer.zeroGrad()
        let loss = try agent.loss(batch)
        try loss.total.backward()
        try agent.syncTargets()
        let report = optimizer.step()
        var metrics = loss.metrics
        metrics["train/learning_rate"] = report.learningRate
        metrics["train/grad_norm"] = report.gradientNorm
        return metrics
    }
}
