import Foundation
import JSON

/// Every built-in environment by name, with documented parameters and a validating factory.
public enum EnvironmentRegistry {
    /// All registered environments.
    public static let descriptors: [EnvironmentDescriptor] = [
        tmaze(.passive), tmaze(.active), metaFrozenLake, roomKeyDoor, mazeRunner,
        memory("repeat_first", "Repeat First (POPGym): answer the suit of the first card at every step.") {
            try RepeatFirst(.preset($0), seed: $1)
        },
        memory("repeat_previous", "Repeat Previous (POPGym): answer the suit of the card dealt k steps ago.") {
            try RepeatPrevious(.preset($0), seed: $1)
        },
        memory("count_recall", "Count Recall (POPGym): how often has the query card's value been dealt so far?") {
            try CountRecall(.preset($0), seed: $1)
        },
        memory("stateless_cartpole", "Cart-pole with the velocities hidden (POPGym); survive up to T steps.") {
            try StatelessCartPole(.preset($0), seed: $1)
        },
        pointRobot, multiTaskMix, external,
    ]

    /// The registered names in order.
    public static var names: [String] { descriptors.map(\.name) }

    /// The descriptor of `name`; throws `unknownEnvironment`.
    public static func descriptor(named name: String) throws -> EnvironmentDescriptor {
        guard let d = descriptors.first(where: { $0.name == name }) else {
            throw EnvironmentError.unknownEnvironment(name: name, known: names)
        }
        return d
    }

    /// Builds `name` from a JSON object of parameters (empty data means all defaults); every
    /// invalid field is reported at once in `EnvironmentError.invalidParameters`.
    public static func make(name: String, parameters json: Data, seed: UInt64 = 0) throws -> any Environment {
        let value: JSONValue
        do {
            value = json.isEmpty ? .object([:]) : try JSONValue.parse(Array(json))
        } catch {
            throw EnvironmentError.malformedParameters(reason: "not valid JSON")
        }
        guard case .object(let fields) = value else { throw EnvironmentError.malformedParameters(reason: "got \(value)") }
        return try make(name: name, parameters: fields, seed: seed)
    }

    /// Builds `name` from already parsed parameters.
    public static func make(name: String, parameters: [String: JSONValue], seed: UInt64 = 0) throws -> any Environment {
        let d = try descriptor(named: name)
        return try d.build(try d.validate(parameters).get(), seed)
    }

    // MARK: - Descriptors

    static func tmaze(_ variant: TMaze.Variant) -> EnvironmentDescriptor {
        EnvironmentDescriptor(
            name: "tmaze_\(variant.rawValue)",
            summary: variant == .passive
                ? "T-Maze (passive, spec §8.4): the goal side is shown at the start; walk the corridor and turn to it."
                : "T-Maze (active, spec §8.4): step left to the oracle to see the goal side, then walk and turn.",
            parameters: [
                ParameterSpec("corridor_length", .integer(1...10_000), default: .number(10), "Corridor length L_c."),
                ParameterSpec("goal_reward", .number(-1e6...1e6), default: .number(1), "Reward for the correct goal cell."),
                ParameterSpec("penalty", .number(-1e6...0), default: .number(0), "Reward for each non-right action after the oracle (≤ 0)."),
            ],
            build: { p, seed in
                try TMaze(.init(variant: variant, corridorLength: p.int("corridor_length"),
                                goalReward: p.double("goal_reward"), penalty: p.double("penalty")), seed: seed)
            })
    }

    static let metaFrozenLake = EnvironmentDescriptor(
        name: "meta_frozen_lake",
        summary: "Meta-Frozen-Lake (spec §8.2): k attempts at reaching the goal of the same hidden lake.",
        parameters: [
            ParameterSpec("size", .integer(2...64), default: .number(5), "Side length of the lake."),
            ParameterSpec("k_episodes", .integer(1...10_000), default: .number(10), "Attempts per trial."),
            ParameterSpec("hard_mode", .boolean, default: .bool(false), "Swapped actions, noisy position, cracking ice."),
            ParameterSpec("recover_mode", .boolean, default: .bool(false), "Holes cost 0.1 instead of ending the attempt."),
            ParameterSpec("max_episode_steps", .optionalInteger(1...1_000_000), default: .null, "Attempt step limit; null = size² (2·size² hard)."),
            ParameterSpec("show_k_progress", .boolean, default: .bool(true), "Show the attempt progress in the observation."),
            ParameterSpec("slip_chance", .number(0...0.99), default: .number(0), "Probability that a move becomes the no-op."),
        ],
        build: { p, seed in
            try MetaFrozenLake(.init(size: p.int("size"), kEpisodes: p.int("k_episodes"), hardMode: p.bool("hard_mode"),
                                     recoverMode: p.bool("recover_mode"), maxEpisodeSteps: p.optionalInt("max_episode_steps"),
                                     showKProgress: p.bool("show_k_progress"), slipChance: p.double("slip_chance")), seed: seed)
        })

    static let roomKeyDoor = EnvironmentDescriptor(
        name: "room_key_door",
        summary: "Dark Key-To-Door (spec §8.3): find the key, then the door, as often as possible within the trial.",
        parameters: [
            ParameterSpec("dark", .boolean, default: .bool(true), "Hide key and door positions."),
            ParameterSpec("size", .integer(1...1000), default: .number(9), "Side of the room."),
            ParameterSpec("max_episode_steps", .integer(1...1_000_000), default: .number(50), "Steps per episode H."),
            ParameterSpec("meta_rollout_horizon", .integer(1...10_000_000), default: .number(500), "Steps per trial H_meta."),
            ParameterSpec("start_location", .optionalCell, default: .null, "Fixed start [x, y] or null for random."),
            ParameterSpec("key_location", .optionalCell, default: .null, "Fixed key [x, y] or null for random."),
            ParameterSpec("goal_location", .optionalCell, default: .null, "Fixed door [x, y] or null for random."),
            ParameterSpec("randomize_actions", .boolean, default: .bool(false), "Shuffle action directions per trial."),
        ],
        build: { p, seed in
            try RoomKeyDoor(.init(dark: p.bool("dark"), size: p.int("size"), maxEpisodeSteps: p.int("max_episode_steps"),
                                  metaRolloutHorizon: p.int("meta_rollout_horizon"), startLocation: p.cell("start_location"),
                                  keyLocation: p.cell("key_location"), goalLocation: p.cell("goal_location"),
                                  randomizeActions: p.bool("randomize_actions")), seed: seed)
        })

    static let mazeRunner = EnvironmentDescriptor(
        name: "mazerunner",
        summary: "MazeRunner (spec §8.5): reach k goals of a random maze in order, with depth sensors only.",
        parameters: [
            ParameterSpec("maze_dim", .integer(7...101), default: .number(11), "Maze dimension (side 2·⌊dim/2⌋+1)."),
            ParameterSpec("num_goals", .integer(1...10), default: .number(3), "Goals per trial."),
            ParameterSpec("time_limit", .integer(1...1_000_000), default: .number(250), "Steps per trial."),
            ParameterSpec("randomized_action_space", .boolean, default: .bool(false), "Permute the actions at every reset."),
            ParameterSpec("goal_in_observation", .boolean, default: .bool(false),
                          "Append the remaining goals (2·k values) to the observation (needed for relabeling)."),
            ParameterSpec("expose_position", .boolean, default: .bool(false),
                          "Append the agent's cell (2 values) after the goals; hindsight relabeling reads and removes it."),
        ],
        build: { p, seed in
            try MazeRunner(.init(mazeDim: p.int("maze_dim"), numGoals: p.int("num_goals"), timeLimit: p.int("time_limit"),
                                 randomizedActionSpace: p.bool("randomized_action_space"),
                                 goalInObservation: p.bool("goal_in_observation"), exposePosition: p.bool("expose_position")), seed: seed)
        })

    static func memory(_ name: String, _ summary: String,
                       _ make: @escaping @Sendable (MemoryDifficulty, UInt64) throws -> any Environment) -> EnvironmentDescriptor {
        EnvironmentDescriptor(
            name: name, summary: summary + " (more-tasks.md)",
            parameters: [ParameterSpec("difficulty", .choice(MemoryDifficulty.allCases.map(\.rawValue)), default: .string("easy"),
                                       "Preset level: easy (the table's default), medium or hard.")],
            build: { p, seed in try make(MemoryDifficulty(rawValue: p.string("difficulty")) ?? .easy, seed) })
    }

    static let external = EnvironmentDescriptor(
        name: ExternalEnvironment.registryName,
        summary: "Your own environment, stepped by a client process over HTTP (POST /act or /act/batch with \"collect\": true) "
            + "with actions from the training policy; recorded episodes can also be uploaded (POST /experiments/{id}/episodes).",
        parameters: [
            ParameterSpec("observation_size", .integer(1...65_536), default: .null, "Length of every (flattened) observation.", required: true),
            ParameterSpec("action_space", .actionSpace, default: .null,
                          "{\"kind\": \"discrete\", \"n\": N} or {\"kind\": \"continuous\", \"low\": [...], \"high\": [...]}; "
                          + "continuous actions are rescaled from the policy's [-1, 1].", required: true),
            ParameterSpec("episodes_per_trial", .integer(1...10_000), default: .number(1),
                          "Episodes one trial spans: the agent's memory carries over between them (meta-RL)."),
        ],
        build: { p, _ in
            guard let space = p.actionSpace("action_space") else {
                throw EnvironmentError.invalidParameters(environment: "external", fields: [FieldError(field: "action_space", expected: ParameterKind.actionSpace.expectation)])
            }
            return ExternalEnvironment(.init(observationSize: p.int("observation_size"), actionSpace: space,
                                             episodesPerTrial: p.int("episodes_per_trial")))
        })

    static let pointRobot = EnvironmentDescriptor(
        name: "point_robot",
        summary: "Point-robot navigation to a hidden goal on a circle, several attempts per trial (more-tasks.md).",
        parameters: [
            ParameterSpec("attempts", .integer(1...1000), default: .number(3), "Attempts per trial."),
            ParameterSpec("steps", .integer(1...10_000), default: .number(25), "Steps per attempt."),
        ],
        build: { p, seed in try PointRobot(.init(attempts: p.int("attempts"), steps: p.int("steps")), seed: seed) })
}
