import Environments
import NeuralNet

extension ExperimentSpec {
    /// The agent's configuration as this spec describes it.
    public func agentConfiguration() -> AgentConfiguration {
        var c = agent.variant == "multi_task" ? AgentConfiguration.multiTask() : AgentConfiguration()
        c.gamma = agent.gamma
        c.useMultigamma = agent.multigamma
        c.rewardMultiplier = agent.rewardMultiplier
        c.critics = agent.critics
        c.criticsForTarget = agent.criticsForTarget
        if let v = agent.onlineCoefficient { c.onlineCoefficient = v }
        if let v = agent.offlineCoefficient { c.offlineCoefficient = v }
        c.criticLossWeight = agent.criticLossWeight
        c.tau = agent.tau
        c.filter = agent.filter == "exp" ? .exponential() : agent.filter == "leaky_relu" ? .leakyReLU() : .binary()
        c.fakeFilter = agent.fakeFilter
        c.popArt = agent.popArt
        c.nStep = agent.nStep
        c.bins = agent.bins
        c.minReturn = agent.minReturn
        c.maxReturn = agent.maxReturn
        c.timestepHidden = model.timestepHidden
        c.timestepLayers = model.timestepLayers
        c.timestepOutput = model.timestepOutput
        c.encoder = model.encoderKind
        c.maxSequenceLength = schedule.maxSequenceLength
        c.actorHidden = model.actorHidden
        c.criticHidden = model.criticHidden
        c.activation = Activation(rawValue: model.activation) ?? .leakyReLU
        return c
    }

    /// AdamW settings of the schedule (spec §5.7).
    public func optimizerConfiguration() -> AdamW.Configuration {
        var o = AdamW.Configuration()
        o.learningRate = schedule.learningRate
        o.warmupSteps = schedule.warmupSteps
        o.gradientClip = schedule.gradientClip > 0 ? schedule.gradientClip : nil
        o.weightDecay = schedule.weightDecay
        return o
    }

    /// The exploration schedule of the training actors.
    public func explorationSchedule() -> ExplorationSchedule {
        let e = exploration
        switch e.kind {
        case "none": return .none
        case "corridor":
            return .corridor(horizon: e.rolloutHorizon, start: e.epsilonStart, end: e.epsilonEnd, annealSteps: e.annealSteps,
                             randomize: e.randomize)
        case "bilevel":
            return .bilevel(rolloutHorizon: e.rolloutHorizon, startStart: e.epsilonStart, startEnd: e.epsilonEnd,
                            endStart: e.epsilonEndStart, endEnd: e.epsilonEndEnd, annealSteps: e.annealSteps, randomize: e.randomize)
        default:
            return .epsilonGreedy(start: e.epsilonStart, end: e.epsilonEnd, annealSteps: e.annealSteps, randomize: e.randomize)
        }
    }
}
