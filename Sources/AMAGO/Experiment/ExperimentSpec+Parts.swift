import Environments
import JSON
import NeuralNet

// Each part's settings: the stored properties hold the defaults, the `fields` table holds each
// one's JSON key, range and meaning (`SpecField.swift` derives the rest).

/// The agent's update and its hyperparameters (spec §5.1; JSON keys in snake_case).
public struct AgentSpec: Equatable, Sendable, SpecPart {
    /// Defaults of the settings below; their meanings and ranges are the rows of `fields`.
    public var variant = "agent", gamma: Float = 0.999, multigamma = true, rewardMultiplier: Float = 10
    /// Critic ensemble.
    public var critics = 4, criticsForTarget = 2
    /// nil: the variant's default (agent 1 / 0.1, multi_task 0 / 1).
    public var onlineCoefficient: Float? = nil, offlineCoefficient: Float? = nil
    /// Loss weights and targets.
    public var criticLossWeight: Float = 10, tau: Float = 0.003, filter = "binary", fakeFilter = false, popArt = true, nStep = 1
    /// Two-hot critic (`multi_task`).
    public var bins = 128, minReturn: Float = -100_000, maxReturn: Float = 100_000

    /// Every default.
    public init() {}

    static let fields: [SpecField<AgentSpec>] = [
        .string("variant", \.variant, oneOf: ["agent", "multi_task"], "AMAGO (`agent`) or AMAGO-2 with two-hot critics (`multi_task`)."),
        .float("gamma", \.gamma, 0.01...0.99999, "The main discount factor (the last of the gammas).", into: \.gamma),
        .bool("multigamma", \.multigamma, "Learn at the spec's extra discount factors too (spec §4.3).", into: \.useMultigamma),
        .float("reward_multiplier", \.rewardMultiplier, 1e-6...1e6, "Rewards are scaled by this before the update.",
               into: \.rewardMultiplier),
        .int("critics", \.critics, 1...32, "Critics in the ensemble.", into: \.critics),
        .int("critics_for_target", \.criticsForTarget, 1...32, "Critics sampled for the clipped TD target (at most `critics`).",
             into: \.criticsForTarget),
        .optionalFloat("online_coefficient", \.onlineCoefficient, 0...1e3, "Weight of the −Q actor loss; default 1 (`agent`), 0 (`multi_task`).",
                       into: \.onlineCoefficient),
        .optionalFloat("offline_coefficient", \.offlineCoefficient, 0...1e3,
                       "Weight of the filtered-BC actor loss; default 0.1 (`agent`), 1 (`multi_task`).", into: \.offlineCoefficient),
        .float("critic_loss_weight", \.criticLossWeight, 0...1e4, "Weight of the critic loss against the actor's.",
               into: \.criticLossWeight),
        .float("tau", \.tau, 0...1, "Polyak rate of the target networks.", into: \.tau),
        .string("filter", \.filter, oneOf: ["binary", "exp", "leaky_relu"], "Advantage filter of the BC term (spec §5.5)."),
        .bool("fake_filter", \.fakeFilter, "Plain behaviour cloning: every filter weight is 1.", into: \.fakeFilter),
        .bool("popart", \.popArt, "PopArt-normalised critic targets (`agent`).", into: \.popArt),
        .int("n_step", \.nStep, 1...1000, "Steps of the n-step TD target.", into: \.nStep),
        .int("bins", \.bins, 2...4096, "Bins of the two-hot critic (`multi_task`).", into: \.bins),
        .float("min_return", \.minReturn, -1e9...1e9, "Lowest bin of the two-hot critic, in scaled return.", into: \.minReturn),
        .float("max_return", \.maxReturn, -1e9...1e9, "Highest bin of the two-hot critic (above `min_return`).", into: \.maxReturn),
    ]

    func partErrors(at path: String) -> [FieldError] {
        maxReturn > minReturn ? [] : [FieldError(field: "\(path).max_return", expected: "a number above agent.min_return")]
    }
}

/// The networks: timestep encoder, trajectory encoder, heads.
public struct ModelSpec: Equatable, Sendable, SpecPart {
    /// Trajectory encoder; meanings and ranges are the rows of `fields`.
    public var encoder = "transformer", dModel = 64, layers = 2, heads = 4, dFeedForward = 256, dropout: Float = 0.05
    /// Positions (`learnable` needs `maxTime`).
    public var positionEmbedding = "fixed", maxTime = 1000
    /// Timestep encoder and heads.
    public var timestepHidden = 128, timestepLayers = 2, timestepOutput = 64, actorHidden = 256, criticHidden = 256
    /// Depth of the actor's MLP.
    public var actorLayers = 2
    /// Activation of every MLP and the Transformer's feed-forward.
    public var activation = "leaky_relu"

    /// Every default.
    public init() {}

    static let fields: [SpecField<ModelSpec>] = [
        .string("encoder", \.encoder, oneOf: ["transformer", "gru", "ff"], "Trajectory encoder (`ff`: memory-free)."),
        .int("d_model", \.dModel, 2...4096, "Width of the trajectory encoder."),
        .int("layers", \.layers, 1...64, "Layers of the trajectory encoder."),
        .int("heads", \.heads, 1...64, "Attention heads (a divisor of `d_model`)."),
        .int("d_ff", \.dFeedForward, 1...16384, "Feed-forward width of a Transformer layer; default 4 × d_model.",
             derived: { 4 * $0.dModel }),
        .float("dropout", \.dropout, 0...0.9, "Dropout of the Transformer's embedding and feed-forward."),
        .string("position_embedding", \.positionEmbedding, oneOf: ["fixed", "learnable", "rope"], "Position embedding of the Transformer."),
        .int("max_time", \.maxTime, 1...10_000_000, "Longest trial the learnable position embedding covers."),
        .int("timestep_hidden", \.timestepHidden, 1...8192, "Hidden width of the timestep encoder's MLP.", into: \.timestepHidden),
        .int("timestep_layers", \.timestepLayers, 1...16, "Layers of the timestep encoder's MLP.", into: \.timestepLayers),
        .int("timestep_output", \.timestepOutput, 1...8192, "Width of each timestep's embedding.", into: \.timestepOutput),
        .int("actor_hidden", \.actorHidden, 1...8192, "Hidden width of the actor's MLP.", into: \.actorHidden),
        .int("actor_layers", \.actorLayers, 1...16, "Hidden layers of the actor's MLP (spec §4.2).", into: \.actorLayers),
        .int("critic_hidden", \.criticHidden, 1...8192, "Hidden width of each critic's MLP.", into: \.criticHidden),
        .string("activation", \.activation, oneOf: Activation.allCases.map(\.rawValue), "Activation of the MLPs and feed-forward layers."),
    ]

    var encoderKind: TrajectoryEncoderKind {
        switch encoder {
        case "gru": return .gru(hidden: dModel, layers: layers, outputs: dModel)
        case "ff": return .feedForward(dModel: dModel, layers: layers)
        default:
            var t = TransformerConfiguration(inputs: timestepOutput)
            t.dModel = dModel; t.layers = layers; t.heads = heads; t.dFeedForward = dFeedForward
            t.dropoutFeedForward = dropout; t.dropoutEmbedding = dropout
            t.activation = Activation(rawValue: activation) ?? .leakyReLU
            t.positionEmbedding = positionEmbedding == "rope" ? .rotary : positionEmbedding == "learnable" ? .learnable(maxTime: maxTime) : .fixed
            return .transformer(t)
        }
    }
}

/// How long and how hard to train (spec §6.1, sized for a CPU).
public struct ScheduleSpec: Equatable, Sendable, SpecPart {
    /// Epochs and collection; meanings and ranges are the rows of `fields`.
    public var epochs = 50, parallelActors = 8, timestepsPerEpoch = 100, batchesPerEpoch = 50
    /// Batches and the optimizer.
    public var batchSize = 24, maxSequenceLength = 64, learningRate: Float = 1e-4, warmupSteps = 500
    /// Optimizer regularisation.
    public var gradientClip: Float = 1, weightDecay: Float = 1e-3
    /// The replay buffer.
    public var bufferCapacity = 20_000, paddedSampling = "none", startLearningAtEpoch = 0

    /// Every default.
    public init() {}

    static let fields: [SpecField<ScheduleSpec>] = [
        .int("epochs", \.epochs, 1...10_000_000, "Epochs of collect → train → checkpoint."),
        .int("parallel_actors", \.parallelActors, 1...4096, "Training environments stepped together."),
        .int("timesteps_per_epoch", \.timestepsPerEpoch, 0...100_000_000, "Env steps per actor per epoch."),
        .int("batches_per_epoch", \.batchesPerEpoch, 0...100_000_000, "Gradient batches per epoch."),
        .int("batch_size", \.batchSize, 1...4096, "Sequences per gradient batch."),
        .int("max_seq_len", \.maxSequenceLength, 1...100_000, "Longest training slice; the Transformer's inference window.",
             into: \.maxSequenceLength),
        .float("learning_rate", \.learningRate, 0...1, "AdamW learning rate after warm-up."),
        .int("warmup_steps", \.warmupSteps, 0...100_000_000, "Gradient steps of linear learning-rate warm-up."),
        .float("grad_clip", \.gradientClip, 0...1e6, "Global gradient-norm clip (0: none)."),
        .float("weight_decay", \.weightDecay, 0...1, "AdamW weight decay."),
        .int("buffer_capacity", \.bufferCapacity, 2...100_000_000, "Trajectory files kept in the FIFO replay buffer."),
        .string("padded_sampling", \.paddedSampling, oneOf: ["none", "left", "right", "both"], "Where slices may hang over a trajectory (spec §1.5)."),
        .int("start_learning_at_epoch", \.startLearningAtEpoch, 0...10_000_000, "Epochs of collection before the first update."),
    ]
}

/// Exploration of the training actors (spec §6.5).
public struct ExplorationSpec: Equatable, Sendable, SpecPart {
    /// Kind and ε schedule; meanings and ranges are the rows of `fields`.
    public var kind = "egreedy", epsilonStart: Float = 1, epsilonEnd: Float = 0.05, annealSteps = 1_000_000
    /// Bilevel only: the trial length over which ε decays within a trial, and its end values.
    public var rolloutHorizon = 100, epsilonEndStart: Float = 0.8, epsilonEndEnd: Float = 0.01
    /// Draw each actor's ε schedule at random below the annealed value.
    public var randomize = true

    /// Every default.
    public init() {}

    static let fields: [SpecField<ExplorationSpec>] = [
        .string("kind", \.kind, oneOf: ["egreedy", "bilevel", "corridor", "none"],
                "ε-greedy, bilevel (ε also decays within a trial), corridor (T-Maze: quiet inside the corridor) or none."),
        .float("eps_start", \.epsilonStart, 0...1, "ε at the start of annealing."),
        .float("eps_end", \.epsilonEnd, 0...1, "ε after `anneal_steps`."),
        .int("anneal_steps", \.annealSteps, 1...1_000_000_000, "Env steps per actor over which ε anneals."),
        .int("rollout_horizon", \.rolloutHorizon, 1...100_000_000, "Trial length for bilevel and corridor exploration."),
        .float("eps_end_start", \.epsilonEndStart, 0...1, "Bilevel: ε at a trial's end, at the start of annealing."),
        .float("eps_end_end", \.epsilonEndEnd, 0...1, "Bilevel: ε at a trial's end, after annealing."),
        .bool("randomize", \.randomize, "Scale each actor's ε by a multiplier drawn from U[0, 1) every trial."),
    ]
}

/// Evaluation on separate environments without exploration.
public struct EvaluationSpec: Equatable, Sendable, SpecPart {
    /// Epochs between evaluations; meanings and ranges are the rows of `fields`.
    public var interval = 5
    /// Env steps per evaluation actor, and actors.
    public var timesteps = 200, actors = 8
    /// Sample from the policy (true) or act greedily.
    public var sample = false

    /// Every default.
    public init() {}

    static let fields: [SpecField<EvaluationSpec>] = [
        .int("interval", \.interval, 0...10_000_000, "Epochs between evaluations (also at epoch 0 and at the end); 0 turns them off."),
        .int("timesteps", \.timesteps, 1...100_000_000, "Env steps per evaluation actor; must cover at least one whole trial."),
        .int("actors", \.actors, 1...4096, "Evaluation environments."),
        .bool("sample", \.sample, "Sample from the policy instead of acting greedily."),
    ]
}
