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

// The settings an experiment spec exposes take their defaults from the spec's parts (one
// definition of each: `ExperimentSpec+Parts.swift`), so a library user and a spec without the
// field get the same agent; a test holds `ExperimentSpec().agentConfiguration()` to `init()`.
private let specDefaults = (agent: AgentSpec(), model: ModelSpec(), schedule: ScheduleSpec())

/// Every hyperparameter of an agent, with the experiment spec's defaults for those it exposes
/// (a CPU-sized version of spec §5.1's `Agent`); use `multiTask()` for `MultiTaskAgent`'s.
public struct AgentConfiguration: Codable, Equatable, Sendable {
    /// Which update: AMAGO-1's PopArt-scaled regression critic, or AMAGO-2's two-hot classifier.
    public enum Variant: String, Codable, Sendable { case agent, multiTask }
    public var variant: Variant = .agent
    public var critics = specDefaults.agent.critics, criticsForTarget = specDefaults.agent.criticsForTarget
    public var onlineCoefficient: Float = 1, offlineCoefficient: Float = 0.1
    public var criticLossWeight = specDefaults.agent.criticLossWeight
    public var gamma = specDefaults.agent.gamma, useMultigamma = specDefaults.agent.multigamma
    public var rewardMultiplier = specDefaults.agent.rewardMultiplier
    public var tau = specDefaults.agent.tau
    /// Plain behaviour cloning: every filter weight is 1.
    public var fakeFilter = specDefaults.agent.fakeFilter
    /// Samples of a′ for TD targets and of a ~ π for values in the actor loss (continuous actions;
    /// in `MultiTaskAgent` also discrete).
    public var criticSamples = 1, actorSamples = 1
    public var filter = AgentSpec.advantageFilter(named: specDefaults.agent.filter)
    public var popArt = specDefaults.agent.popArt
    public var useTargetActor = true
    public var nStep = specDefaults.agent.nStep
    /// Two-hot critic settings (`multiTask` only).
    public var bins = specDefaults.agent.bins
    public var minReturn = specDefaults.agent.minReturn, maxReturn = specDefaults.agent.maxReturn
    public var useSymlog = true
    /// Labels for the two-hot critic: two-hot (default) or HL-Gauss with `sigma` bin widths.
    public var gaussianLabelSigma: Float? = nil
    /// Network sizes (spec §2.3, §4.2, §4.4; the reference's timestep encoder is 512 → 256 wide).
    public var timestepHidden = specDefaults.model.timestepHidden, timestepLayers = specDefaults.model.timestepLayers
    public var timestepOutput = specDefaults.model.timestepOutput
    public var normalizeInputs = true
    public var encoder = specDefaults.model.encoderKind
    /// Longest training slice (transitions); the Transformer's inference window.
    public var maxSequenceLength = specDefaults.schedule.maxSequenceLength
    public var actorHidden = specDefaults.model.actorHidden, actorLayers = specDefaults.model.actorLayers
    public var criticHidden = specDefaults.model.criticHidden, criticLayers = 2
    public var activation = Activation(rawValue: specDefaults.model.activation) ?? .leakyReLU
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
    /// The settings a spec exposes are held to the spec's ranges (named by spec path, e.g.
    /// `agent.gamma`); the others are checked here.
    public func validate() throws {
        if let problem = specRangeProblems().first {
            throw AMAGOError.invalidConfiguration(field: problem.field, message: "must be \(problem.expected)")
        }
        if criticSamples < 1 || actorSamples < 1 {
            throw AMAGOError.invalidConfiguration(field: "actorSamples", message: "sample counts must be at least 1")
        }
    }
}
