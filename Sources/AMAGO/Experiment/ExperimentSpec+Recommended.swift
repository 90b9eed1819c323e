import Environments

extension ExperimentSpec {
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
            trial(16, epochs: 30)
            s.environmentParameters = ["corridor_length": .of(10)]
            s.exploration.kind = "bilevel"; s.exploration.rolloutHorizon = 13
        case "meta_frozen_lake":
            s.environmentParameters = ["size": .of(3), "k_episodes": .of(3)]
            trial(32, epochs: 40)
            s.exploration.kind = "bilevel"; s.exploration.rolloutHorizon = 27
        case "room_key_door":
            s.environmentParameters = ["size": .of(5), "meta_rollout_horizon": .of(100), "max_episode_steps": .of(25)]
            trial(100, epochs: 60)
        case "mazerunner":
            s.environmentParameters = ["maze_dim": .of(9), "num_goals": .of(2), "time_limit": .of(100),
                                       "goal_in_observation": .bool(true), "expose_position": .bool(true)]
            s.relabeling = "some"
            trial(100, epochs: 60)
        case "repeat_first", "repeat_previous", "count_recall":
            trial(64, epochs: 40)
        case "stateless_cartpole":
            trial(64, epochs: 40)
        case "point_robot":
            trial(76, epochs: 60)
            s.exploration.epsilonStart = 0.5
        case "multi_task_mix":
            trial(64, epochs: 60)
            s.agent.variant = "multi_task"
            s.agent.minReturn = -1000; s.agent.maxReturn = 1000
        default:
            trial(64, epochs: 40)
        }
        s.schedule.batchesPerEpoch = 50
        s.checkpointInterval = 10
        return s
    }
}
