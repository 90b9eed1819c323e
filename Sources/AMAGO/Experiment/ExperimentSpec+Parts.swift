import Environments
import JSON
import NeuralNet

/// The agent's update and its hyperparameters (spec §5.1; JSON keys in snake_case).
public struct AgentSpec: Equatable, Sendable {
    /// `agent` (AMAGO-1) or `multi_task` (AMAGO-2, two-hot critic).
    public var variant = "agent"
    public var gamma: Float = 0.999, multigamma = true, rewardMultiplier: Float = 10
    public var critics = 4, criticsForTarget = 2
    /// nil: the variant's default (agent 1 / 0.1, multi_task 0 / 1).
    public var onlineCoefficient: Float? = nil, offlineCoefficient: Float? = nil
    public var criticLossWeight: Float = 10, tau: Float = 0.003
    /// `binary`, `exp` or `leaky_relu` (spec §5.5).
    public var filter = "binary"
    public var fakeFilter = false, popArt = true, nStep = 1
    public var bins = 128, minReturn: Float = -100_000, maxReturn: Float = 100_000

    public init() {}

    init(_ r: inout SpecReader, _ value: JSONValue?) {
        let p = "agent"
        let o = r.object(value, at: p, known: ["variant", "gamma", "multigamma", "reward_multiplier", "critics", "critics_for_target",
                                                "online_coefficient", "offline_coefficient", "critic_loss_weight", "tau", "filter",
                                                "fake_filter", "popart", "n_step", "bins", "min_return", "max_return"])
        variant = r.string(o, "variant", at: p, default: variant, oneOf: ["agent", "multi_task"])
        gamma = r.float(o, "gamma", at: p, default: gamma, in: 0.01...0.99999)
        multigamma = r.bool(o, "multigamma", at: p, default: multigamma)
        rewardMultiplier = r.float(o, "reward_multiplier", at: p, default: rewardMultiplier, in: 1e-6...1e6)
        critics = r.int(o, "critics", at: p, default: critics, in: 1...32)
        criticsForTarget = r.int(o, "critics_for_target", at: p, default: criticsForTarget, in: 1...32)
        if o["online_coefficient"] != nil { onlineCoefficient = r.float(o, "online_coefficient", at: p, default: 0, in: 0...1e3) }
        if o["offline_coefficient"] != nil { offlineCoefficient = r.float(o, "offline_coefficient", at: p, default: 0, in: 0...1e3) }
        criticLossWeight = r.float(o, "critic_loss_weight", at: p, default: criticLossWeight, in: 0...1e4)
        tau = r.float(o, "tau", at: p, default: tau, in: 0...1)
        filter = r.string(o, "filter", at: p, default: filter, oneOf: ["binary", "exp", "leaky_relu"])
        fakeFilter = r.bool(o, "fake_filter", at: p, default: fakeFilter)
        popArt = r.bool(o, "popart", at: p, default: popArt)
        nStep = r.int(o, "n_step", at: p, default: nStep, in: 1...1000)
        bins = r.int(o, "bins", at: p, default: bins, in: 2...4096)
        minReturn = r.float(o, "min_return", at: p, default: minReturn, in: -1e9...1e9)
        maxReturn = r.float(o, "max_return", at: p, default: maxReturn, in: -1e9...1e9)
        if maxReturn <= minReturn { r.fail("\(p).max_return", "a number above agent.min_return") }
    }

    var json: [String: JSONValue] {
        var o: [String: JSONValue] = [
            "variant": .string(variant), "gamma": .of(gamma), "multigamma": .bool(multigamma),
            "reward_multiplier": .of(rewardMultiplier), "critics": .of(critics), "critics_for_target": .of(criticsForTarget),
            "critic_loss_weight": .of(criticLossWeight), "tau": .of(tau), "filter": .string(filter),
            "fake_filter": .bool(fakeFilter), "popart": .bool(popArt), "n_step": .of(nStep), "bins": .of(bins),
            "min_return": .of(minReturn), "max_return": .of(maxReturn),
        ]
        if let onlineCoefficient { o["online_coefficient"] = .of(onlineCoefficient) }
        if let offlineCoefficient { o["offline_coefficient"] = .of(offlineCoefficient) }
        return o
    }
}

/// The networks: timestep encoder, trajectory encoder, heads.
public struct ModelSpec: Equatable, Sendable {
    /// `transformer`, `gru` or `ff` (memory-free).
    public var encoder = "transformer"
    public var dModel = 64, layers = 2, heads = 4, dFeedForward = 256
    public var dropout: Float = 0.05
    /// `fixed`, `learnable` or `rope`; learnable needs `max_time`.
    public var positionEmbedding = "fixed", maxTime = 1000
    public var timestepHidden = 128, timestepLayers = 2, timestepOutput = 64
    public var actorHidden = 256, criticHidden = 256
    public var activation = "leaky_relu"

    public init() {}

    init(_ r: inout SpecReader, _ value: JSONValue?) {
        let p = "model"
        let o = r.object(value, at: p, known: ["encoder", "d_model", "layers", "heads", "d_ff", "dropout", "position_embedding", "max_time",
                                                "timestep_hidden", "timestep_layers", "timestep_output", "actor_hidden", "critic_hidden", "activation"])
        encoder = r.string(o, "encoder", at: p, default: encoder, oneOf: ["transformer", "gru", "ff"])
        dModel = r.int(o, "d_model", at: p, default: dModel, in: 2...4096)
        layers = r.int(o, "layers", at: p, default: layers, in: 1...64)
        heads = r.int(o, "heads", at: p, default: heads, in: 1...64)
        dFeedForward = r.int(o, "d_ff", at: p, default: 4 * dModel, in: 1...16384)
        dropout = r.float(o, "dropout", at: p, default: dropout, in: 0...0.9)
        positionEmbedding = r.string(o, "position_embedding", at: p, default: positionEmbedding, oneOf: ["fixed", "learnable", "rope"])
        maxTime = r.int(o, "max_time", at: p, default: maxTime, in: 1...10_000_000)
        timestepHidden = r.int(o, "timestep_hidden", at: p, default: timestepHidden, in: 1...8192)
        timestepLayers = r.int(o, "timestep_layers", at: p, default: timestepLayers, in: 1...16)
        timestepOutput = r.int(o, "timestep_output", at: p, default: timestepOutput, in: 1...8192)
        actorHidden = r.int(o, "actor_hidden", at: p, default: actorHidden, in: 1...8192)
        criticHidden = r.int(o, "critic_hidden", at: p, default: criticHidden, in: 1...8192)
        activation = r.string(o, "activation", at: p, default: activation, oneOf: Activation.allCases.map(\.rawValue))
    }

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

    var json: [String: JSONValue] {
        ["encoder": .string(encoder), "d_model": .of(dModel), "layers": .of(layers), "heads": .of(heads), "d_ff": .of(dFeedForward),
         "dropout": .of(dropout), "position_embedding": .string(positionEmbedding), "max_time": .of(maxTime),
         "timestep_hidden": .of(timestepHidden), "timestep_layers": .of(timestepLayers), "timestep_output": .of(timestepOutput),
         "actor_hidden": .of(actorHidden), "critic_hidden": .of(criticHidden), "activation": .string(activation)]
    }
}

/// How long and how hard to train (spec §6.1, sized for a CPU).
public struct ScheduleSpec: Equatable, Sendable {
    public var epochs = 50, parallelActors = 8
    /// Env steps per actor per epoch, and gradient batches per epoch.
    public var timestepsPerEpoch = 100, batchesPerEpoch = 50
    public var batchSize = 24, maxSequenceLength = 64
    public var learningRate: Float = 1e-4, warmupSteps = 500, gradientClip: Float = 1, weightDecay: Float = 1e-3
    /// Trajectory files kept in the FIFO replay buffer.
    public var bufferCapacity = 20_000
    /// `none`, `left`, `right` or `both` (spec §1.5).
    public var paddedSampling = "none"
    public var startLearningAtEpoch = 0

    public init() {}

    init(_ r: inout SpecReader, _ value: JSONValue?) {
        let p = "schedule"
        let o = r.object(value, at: p, known: ["epochs", "parallel_actors", "timesteps_per_epoch", "batches_per_epoch", "batch_size",
                                                "max_seq_len", "learning_rate", "warmup_steps", "grad_clip", "weight_decay",
                                                "buffer_capacity", "padded_sampling", "start_learning_at_epoch"])
        epochs = r.int(o, "epochs", at: p, default: epochs, in: 1...10_000_000)
        parallelActors = r.int(o, "parallel_actors", at: p, default: parallelActors, in: 1...4096)
        timestepsPerEpoch = r.int(o, "timesteps_per_epoch", at: p, default: timestepsPerEpoch, in: 0...100_000_000)
        batchesPerEpoch = r.int(o, "batches_per_epoch", at: p, default: batchesPerEpoch, in: 0...100_000_000)
        batchSize = r.int(o, "batch_size", at: p, default: batchSize, in: 1...4096)
        maxSequenceLength = r.int(o, "max_seq_len", at: p, default: maxSequenceLength, in: 1...100_000)
        learningRate = r.float(o, "learning_rate", at: p, default: learningRate, in: 0...1)
        warmupSteps = r.int(o, "warmup_steps", at: p, default: warmupSteps, in: 0...100_000_000)
        gradientClip = r.float(o, "grad_clip", at: p, default: gradientClip, in: 0...1e6)
        weightDecay = r.float(o, "weight_decay", at: p, default: weightDecay, in: 0...1)
        bufferCapacity = r.int(o, "buffer_capacity", at: p, default: bufferCapacity, in: 2...100_000_000)
        paddedSampling = r.string(o, "padded_sampling", at: p, default: paddedSampling, oneOf: ["none", "left", "right", "both"])
        startLearningAtEpoch = r.int(o, "start_learning_at_epoch", at: p, default: startLearningAtEpoch, in: 0...10_000_000)
    }

    var json: [String: JSONValue] {
        ["epochs": .of(epochs), "parallel_actors": .of(parallelActors), "timesteps_per_epoch": .of(timestepsPerEpoch),
         "batches_per_epoch": .of(batchesPerEpoch), "batch_size": .of(batchSize), "max_seq_len": .of(maxSequenceLength),
         "learning_rate": .of(learningRate), "warmup_steps": .of(warmupSteps), "grad_clip": .of(gradientClip),
         "weight_decay": .of(weightDecay), "buffer_capacity": .of(bufferCapacity), "padded_sampling": .string(paddedSampling),
         "start_learning_at_epoch": .of(startLearningAtEpoch)]
    }
}

/// Exploration of the training actors (spec §6.5).
public struct ExplorationSpec: Equatable, Sendable {
    /// `egreedy`, `bilevel`, `corridor` (T-Maze: quiet inside the corridor, see
    /// `ExplorationSchedule.corridor`; uses `rollout_horizon`) or `none`.
    public var kind = "egreedy"
    public var epsilonStart: Float = 1, epsilonEnd: Float = 0.05, annealSteps = 1_000_000
    /// Bilevel only: the trial length over which ε decays within a trial, and its end values.
    public var rolloutHorizon = 100, epsilonEndStart: Float = 0.8, epsilonEndEnd: Float = 0.01
    public var randomize = true

    public init() {}

    init(_ r: inout SpecReader, _ value: JSONValue?) {
        let p = "exploration"
        let o = r.object(value, at: p, known: ["kind", "eps_start", "eps_end", "anneal_steps", "rollout_horizon", "eps_end_start",
                                                "eps_end_end", "randomize"])
        kind = r.string(o, "kind", at: p, default: kind, oneOf: ["egreedy", "bilevel", "corridor", "none"])
        epsilonStart = r.float(o, "eps_start", at: p, default: epsilonStart, in: 0...1)
        epsilonEnd = r.float(o, "eps_end", at: p, default: epsilonEnd, in: 0...1)
        annealSteps = r.int(o, "anneal_steps", at: p, default: annealSteps, in: 1...1_000_000_000)
        rolloutHorizon = r.int(o, "rollout_horizon", at: p, default: rolloutHorizon, in: 1...100_000_000)
        epsilonEndStart = r.float(o, "eps_end_start", at: p, default: epsilonEndStart, in: 0...1)
        epsilonEndEnd = r.float(o, "eps_end_end", at: p, default: epsilonEndEnd, in: 0...1)
        randomize = r.bool(o, "randomize", at: p, default: randomize)
    }

    var json: [String: JSONValue] {
        ["kind": .string(kind), "eps_start": .of(epsilonStart), "eps_end": .of(epsilonEnd), "anneal_steps": .of(annealSteps),
         "rollout_horizon": .of(rolloutHorizon), "eps_end_start": .of(epsilonEndStart), "eps_end_end": .of(epsilonEndEnd),
         "randomize": .bool(randomize)]
    }
}

/// Evaluation on separate environments without exploration.
public struct EvaluationSpec: Equatable, Sendable {
    /// Epochs between evaluations (also at epoch 0 and at the end); 0 turns evaluation off.
    public var interval = 5
    /// Env steps per evaluation actor; must cover at least one whole trial.
    public var timesteps = 200, actors = 8
    /// Sample from the policy (true) or act greedily.
    public var sample = false

    public init() {}

    init(_ r: inout SpecReader, _ value: JSONValue?) {
        let p = "evaluation"
        let o = r.object(value, at: p, known: ["interval", "timesteps", "actors", "sample"])
        interval = r.int(o, "interval", at: p, default: interval, in: 0...10_000_000)
        timesteps = r.int(o, "timesteps", at: p, default: timesteps, in: 1...100_000_000)
        actors = r.int(o, "actors", at: p, default: actors, in: 1...4096)
        sample = r.bool(o, "sample", at: p, default: sample)
    }

    var json: [String: JSONValue] {
        ["interval": .of(interval), "timesteps": .of(timesteps), "actors": .of(actors), "sample": .bool(sample)]
    }
}
