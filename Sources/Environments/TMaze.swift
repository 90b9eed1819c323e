import Foundation
import JSON

/// T-Maze with the "Alt" penalty, passive and active variants (spec §8.4).
///
/// Corridor cells `(x, 0)` for `x = 0 … L_o + L_c` plus two goal cells `(L_o + L_c, ±1)`. The goal
/// side is shown once, the first time the agent's observation is computed at the oracle `x = 0`.
public final class TMaze: Environment {
    /// Which T-Maze: the goal shown at the start (passive) or behind one step left (active).
    public enum Variant: String, Codable, Sendable, CaseIterable {
        /// Oracle at the start cell; episode length `L_c + 1`.
        case passive
        /// Start one cell right of the oracle; episode length `L_c + 3`.
        case active
    }

    /// Documented parameters; defaults and ranges are the registry's (`EnvironmentRegistry.tmaze`).
    public struct Parameters: Codable, Equatable, Sendable {
        /// Passive or active.
        public var variant: Variant
        /// Corridor length `L_c` (≥ 1).
        public var corridorLength: Int
        /// Reward for ending in the correct goal cell.
        public var goalReward: Double
        /// Reward (≤ 0) for every non-"right" action after the oracle.
        public var penalty: Double

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.tmaze(.passive).defaultValues }

        /// Creates parameters; omitted ones take the registry's defaults.
        public init(variant: Variant = .passive, corridorLength: Int = defaults.int("corridor_length"),
                    goalReward: Double = defaults.double("goal_reward"), penalty: Double = defaults.double("penalty")) {
            self.variant = variant
            self.corridorLength = corridorLength
            self.goalReward = goalReward
            self.penalty = penalty
        }

        /// Every invalid field, by the registry's ranges.
        public func validationErrors() -> [FieldError] {
            EnvironmentRegistry.tmaze(variant).problems(["corridor_length": .number(Double(corridorLength)),
                                                          "goal_reward": .number(goalReward), "penalty": .number(penalty)])
        }
    }

    /// The parameters the maze was built with.
    public let parameters: Parameters
    /// Oracle length `L_o` (0 passive, 1 active).
    public let oracleLength: Int
    /// Steps per episode.
    public let episodeLength: Int
    /// Column of the junction, `L_o + L_c`.
    public var junctionX: Int { oracleLength + parameters.corridorLength }

    /// Agent column.
    public private(set) var x = 0
    /// Agent row offset (−1, 0, +1).
    public private(set) var y = 0
    /// Hidden goal side, −1 or +1.
    public private(set) var goalY = 1
    /// Steps taken this episode.
    public private(set) var timeStep = 0
    /// Whether the goal has been shown.
    public private(set) var oracleVisited = false
    private var rng: SeededGenerator
    private var isOver = false

    /// Creates a maze; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "tmaze", fields: errors) }
        self.parameters = parameters
        oracleLength = parameters.variant == .passive ? 0 : 1
        episodeLength = parameters.corridorLength + (parameters.variant == .passive ? 1 : 3)
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `TMazeAltPassive-<L_c>` or `TMazeAltActive-<L_c>`.
    public var name: String {
        (parameters.variant == .passive ? "TMazeAltPassive-" : "TMazeAltActive-") + "\(parameters.corridorLength)"
    }
    /// Two floats in `[-1, 1]`.
    public var observationSize: Int { 2 }
    /// Right, up, left, down.
    public var actionSpace: ActionSpace { .discrete(count: 4) }

    /// Starts an episode with a random goal side.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        return reset(goalY: rng.nextInt(below: 2) == 0 ? -1 : 1)
    }

    /// Starts an episode with the given goal side (−1 or +1; anything positive counts as +1).
    public func reset(goalY: Int) -> [Float] {
        self.goalY = goalY > 0 ? 1 : -1
        x = oracleLength
        y = 0
        timeStep = 0
        oracleVisited = false
        isOver = false
        return observe()
    }

    /// Moves, then scores the step (spec §8.4).
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard !isOver else { throw EnvironmentError.trialOver(environment: name) }
        let a = index(of: action)
        let (dx, dy) = [(1, 0), (0, 1), (-1, 0), (0, -1)][a]
        timeStep += 1
        if isWalkable(x + dx, y + dy) { x += dx; y += dy }
        let done = timeStep >= episodeLength
        let reward: Double
        var info = StepInfo()
        if done {
            let success = y == goalY
            reward = success ? parameters.goalReward : 0
            info.success = success
            isOver = true
        } else {
            reward = (a != 0 && timeStep > oracleLength) ? parameters.penalty : 0
        }
        return StepResult(observation: observe(), reward: reward, isTerminated: done, isTruncated: done, info: info)
    }

    private func isWalkable(_ cx: Int, _ cy: Int) -> Bool {
        if cy == 0 { return cx >= 0 && cx <= junctionX }
        return cx == junctionX && abs(cy) == 1
    }

    /// Computing the observation at the oracle marks it visited (the goal is shown only once).
    private func observe() -> [Float] {
        if x == 0 {
            if oracleVisited { return [0, 0] }
            oracleVisited = true
            return [0, Float(goalY)]
        }
        if x < junctionX { return [0, 0] }
        return [1, Float(y)]
    }
}
