import Environments
import JSON
import NeuralNet

extension AgentSpec {
    /// The filter of a spec's `filter` name (`binary`, `exp`, `leaky_relu`).
    static func advantageFilter(named name: String) -> AdvantageFilter {
        name == "exp" ? .exponential() : name == "leaky_relu" ? .leakyReLU() : .binary()
    }
}

extension AgentConfiguration {
    /// The settings an experiment spec exposes that lie outside the spec's ranges, by spec path
    /// (`agent.gamma`, …): one range per setting for the library and the service alike.
    func specRangeProblems() -> [FieldError] {
        AgentSpec.problems(in: self, at: "agent") + ModelSpec.problems(in: self, at: "model") + ScheduleSpec.problems(in: self, at: "schedule")
    }
}

extension ExperimentSpec {
    /// The agent's configuration as this spec describes it: the rows that name an
    /// `AgentConfiguration` field are copied by the field tables, the rest is mapped here.
    public func agentConfiguration() -> AgentConfiguration {
        var c = agent.variant == "multi_task" ? AgentConfiguration.multiTask() : AgentConfiguration()
        agent.configure(&c); model.configure(&c); schedule.configure(&c)
        c.filter = AgentSpec.advantageFilter(named: agent.filter)
        c.encoder = model.encoderKind
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
