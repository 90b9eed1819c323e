import Environments
import Foundation

extension ExperimentSpec {
    /// `examples/<name>.json`: the recommended spec of each of `environments`, pretty-printed
    /// with sorted keys. `amago envs --write-examples examples` writes them and a test holds the
    /// folder to them, so they are generated, never edited.
    public static func exampleFiles(for environments: [String] = EnvironmentRegistry.names) throws -> [(name: String, contents: Data)] {
        try environments.map { ("\($0).json", try recommended(for: $0).encoded() + Data("\n".utf8)) }
    }

    /// A spec that trains `environment` to a useful level on a 2-core CPU in minutes, sized to
    /// its trial length (the Transformer must see a whole trial for in-context learning).
    public static func recommended(for environment: String) throws -> ExperimentSpec {
        _ = try EnvironmentRegistry.descriptor(named: environment)
        var s = ExperimentSpec()
        s.name = environment.replacingOccurrences(of: "_", with: "-")
        s.environment = environment
        s.model.dModel = 64; s.model.layers = 2; s.model.heads = 4; s.model.dFeedForward = 256
        s.model.timestepHidden = 128; s.model.timestepOutput = 64
        s.model.actorHidden = 128; s.model.criticHidden = 128
        s.schedule.learningRate = 3e-4
        s.schedule.warmupSteps = 100
        func trial(_ length: Int, epochs: Int) {
            s.schedule.maxSequenceLength = length
            s.schedule.timestepsPerEpoch = max(length, 50)
            s.evaluation.timesteps = 2 * length + 1
            s.schedule.epochs = epochs
        }
        switch environment {
        case "tmaze_passive", "tmaze_active":
            // The reference's T-Maze settings (spec §10): a −1/H step penalty, reward ×100, γ 0.9999.
            let corridor = 50, horizon = environment == "tmaze_passive" ? corridor + 1 : corridor + 3
            s.environmentParameters = ["corridor_length": .of(corridor), "penalty": .of(-1 / Float(horizon))]
            trial(horizon + 1, epochs: 60)
            s.agent.rewardMultiplier = 100; s.agent.gamma = 0.9999
            s.exploration.kind = "corridor"; s.exploration.rolloutHorizon = horizon
            s.exploration.epsilonEnd = 0.01; s.exploration.annealSteps = 20_000
            s.evaluation.timesteps = horizon
        case "meta_frozen_lake":
            s.environmentParameters = ["size": .of(4), "k_episodes": .of(5)]
            trial(80, epochs: 80)
            s.agent.rewardMultiplier = 100
            s.exploration.annealSteps = 40_000
        case "room_key_door":
            s.environmentParameters = ["size": .of(5), "meta_rollout_horizon": .of(100), "max_episode_steps": .of(25), "dark": .bool(true)]
            trial(100, epochs: 60)
            s.agent.rewardMultiplier = 100
            s.exploration.kind = "bilevel"; s.exploration.rolloutHorizon = 100; s.exploration.annealSteps = 40_000
        case "mazerunner":
            s.environmentParameters = ["maze_dim": .of(9), "num_goals": .of(2), "time_limit": .of(100),
                                       "goal_in_observation": .bool(true), "expose_position": .bool(true)]
            s.relabeling = "some"
            trial(100, epochs: 60)
            s.agent.rewardMultiplier = 100
            s.exploration.annealSteps = 40_000
        case "repeat_first", "repeat_previous", "count_recall":
            trial(64, epochs: 40)
            s.agent.rewardMultiplier = 100
            s.exploration.annealSteps = 20_000
        case "stateless_cartpole":
            trial(64, epochs: 40)
            s.exploration.annealSteps = 20_000
        case "point_robot":
            trial(76, epochs: 60)
            s.agent.multigamma = false
            s.exploration.epsilonStart = 0.5; s.exploration.epsilonEnd = 0.1; s.exploration.annealSteps = 20_000
        case "multi_task_mix":
            // Three tasks that need memory in different ways, with different reward scales; the
            // two-hot critic of AMAGO-2 on one gamma keeps an update affordable on a CPU.
            s.environmentParameters = ["tasks": .array([
                .object(["name": .string("tmaze_passive"), "weight": .of(1),
                         "parameters": .object(["corridor_length": .of(5), "penalty": .of(-1 / Float(6))])]),
                .object(["name": .string("repeat_first"), "weight": .of(1), "parameters": .object(["difficulty": .string("easy")])]),
                .object(["name": .string("stateless_cartpole"), "weight": .of(1), "parameters": .object(["difficulty": .string("easy")])]),
            ])]
            trial(64, epochs: 160)
            s.agent.variant = "multi_task"
            s.agent.multigamma = false
            s.agent.minReturn = -1000; s.agent.maxReturn = 1000
            s.exploration.annealSteps = 20_000
        case "external":
            // A CartPole-sized example: clients replace the spaces with their environment's.
            s.environmentParameters = ["observation_size": .of(4), "action_space": .object(["kind": .string("discrete"), "n": .of(2)]),
                                       "episodes_per_trial": .of(1)]
            trial(64, epochs: 40)
            s.exploration.annealSteps = 20_000
        default:
            trial(64, epochs: 40)
        }
        s.schedule.batchesPerEpoch = 50
        s.checkpointInterval = 10
        return s
    }
}
