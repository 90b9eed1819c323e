import NeuralNet

/// Which sequence model reads the trajectory.
public enum TrajectoryEncoderKind: Codable, Equatable, Sendable {
    /// The causal Transformer (spec §3.1) with this configuration (its `inputs` is ignored:
    /// the timestep encoder's width is used).
    case transformer(TransformerConfiguration)
    /// A GRU with `hidden` state width, `layers` layers, `outputs` output width (spec §3.3).
    case gru(hidden: Int, layers: Int, outputs: Int)
    /// The memory-free encoder (spec §3.4).
    case feedForward(dModel: Int, layers: Int)
}

/// Every hyperparameter of an agent, with the defaults of spec §5.1 (`Agent`); use
/// `multiTask()` for the defaults of `MultiTaskAgent`.
public struct AgentConfiguration: Codable, Equatable, Sendable {
    /// Which update: AMAGO-1's PopArt-scaled regression critic, or AMAGO-2's two-hot classifier.
    public enum Variant: String, Codable, Sendable { case agent, multiTask }
    public var variant: Variant = .agent
    public var critics = 4, criticsForTarget = 2
    public var onlineCoefficient: Float = 1, offlineCoefficient: Float = 0.1
    public var criticLossWeight: Float = 10
    public var gamma: Float = 0.999, useMultigamma = true
    public var rewardMultiplier: Float = 10
    public var tau: Float = 0.003
    /// Plain behaviour cloning: every filter weight is 1.
    public var fakeFilter = false
    /// Samples of a′ for TD targets and of a ~ π for values in the actor loss (continuous actions;
    /// in `MultiTaskAgent` also discrete).
    public var criticSamples = 1, actorSamples = 1
    public var filter: AdvantageFilter = .binary()
    public var popArt = true
    public var useTargetActor = true
    public var nStep = 1
    /// Two-hot critic settings (`multiTask` only).
    public var bins = 128
    public var minReturn: Float = -100_000, maxReturn: Float = 100_000
    public var useSymlog = true
    /// Labels for the two-hot critic: two-hot (default) or HL-Gauss with `sigma` bin widths.
    public var gaussianLabelSigma: Float? = nil
    /// Network sizes (spec §2.3, §4.2, §4.4).
    public var timestepHidden = 512, timestepLayers = 2, timestepOutput = 256
    public var normalizeInputs = true
    public var encoder: TrajectoryEncoderKind = .transformer(TransformerConfiguration(inputs: 0))
    /// Longest training slice (transitions); the Transformer's inference window.
    public var maxSequenceLength = 256
    public var actorHidden = 256, actorLayers = 2
    public var criticHidden = 256, criticLayers = 2
    public var activation: Activation = .leakyReLU
    /// For discrete actions, compute Q(s, ·) once for the critic loss and (detached) for the
    /// actor's expectation, instead of evaluating a lagged frozen copy (spec §11 item 3).
    public var shareDiscreteCriticPass = true

    public init() {}

    /// `MultiTaskAgent`'s defaults: two-hot critic, filtered BC only, three samples for V(s).
    public static func multiTask() -> AgentConfiguration {
        var c = AgentConfiguration()
        c.variant = .multiTask
        c.onlineCoefficient = 0
        c.offlineCoefficient = 1
        c.actorSamples = 3
        return c
    }

    /// Checks the values that would make training meaningless; reports the first offending field.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ message: String) throws {
            if !ok { throw AMAGOError.invalidConfiguration(field: field, message: message) }
        }
        try check(critics >= 1, "critics", "must be at least 1")
        try check(criticsForTarget >= 1, "criticsForTarget", "must be at least 1")
        try check(gamma > 0 && gamma < 1, "gamma", "must lie in (0, 1)")
        try check(tau >= 0 && tau <= 1, "tau", "must lie in [0, 1]")
        try check(nStep >= 1, "nStep", "must be at least 1")
        try check(criticSamples >= 1 && actorSamples >= 1, "actorSamples", "sample counts must be at least 1")
        try check(maxSequenceLength >= 1, "maxSequenceLength", "must be at least 1")
        try check(onlineCoefficient >= 0 && offlineCoefficient >= 0, "offlineCoefficient", "loss coefficients must be non-negative")
        try check(variant == .agent || bins >= 2, "bins", "the two-hot critic needs at least 2 bins")
    }
}
