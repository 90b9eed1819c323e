import Foundation
import JSON

/// MazeRunner: reach `k` goal cells of a random maze in order, using depth sensors (spec §8.5).
///
/// Observation `[row/n, col/n, west/n, north/n, east/n, south/n, timer/time_limit]`, where each
/// direction counts the free cells before the first wall. Optional parts follow in this order:
/// the `2·k` goal coordinates (`goalInObservation`), then the agent's cell (`exposePosition`),
/// all divided by the maze side `n`; together they are the `goals` and `achieved` keys that
/// hindsight relabeling reads (spec §7).
public final class MazeRunner: Environment {
    /// Documented parameters (defaults from the reference's example 13).
    public struct Parameters: Codable, Equatable, Sendable {
        /// Maze dimension; the side is `2·⌊dim/2⌋ + 1`.
        public var mazeDim: Int
        /// Goals per trial.
        public var numGoals: Int
        /// Steps per trial; at the limit both flags are set.
        public var timeLimit: Int
        /// Permute the five actions at every reset.
        public var randomizedActionSpace: Bool
        /// Append the remaining goals (reached ones as −1, divided by n) to the observation.
        public var goalInObservation: Bool
        /// Append the agent's cell `(row/n, col/n)` after everything else (the `achieved` key of
        /// spec §7, for relabeling; the relabeler removes it before the policy sees it).
        public var exposePosition: Bool

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.mazeRunner.defaultValues }

        /// Creates parameters; omitted ones take the registry's defaults.
        public init(mazeDim: Int = defaults.int("maze_dim"), numGoals: Int = defaults.int("num_goals"),
                    timeLimit: Int = defaults.int("time_limit"), randomizedActionSpace: Bool = defaults.bool("randomized_action_space"),
                    goalInObservation: Bool = defaults.bool("goal_in_observation"), exposePosition: Bool = defaults.bool("expose_position")) {
            self.mazeDim = mazeDim
            self.numGoals = numGoals
            self.timeLimit = timeLimit
            self.randomizedActionSpace = randomizedActionSpace
            self.goalInObservation = goalInObservation
            self.exposePosition = exposePosition
        }
        /// Every invalid field, by the registry's ranges.
        public func validationErrors() -> [FieldError] {
            EnvironmentRegistry.mazeRunner.problems([
                "maze_dim": .number(Double(mazeDim)), "num_goals": .number(Double(numGoals)), "time_limit": .number(Double(timeLimit)),
                "randomized_action_space": .bool(randomizedActionSpace), "goal_in_observation": .bool(goalInObservation),
                "expose_position": .bool(exposePosition),
            ])
        }
    }

    /// The parameters of the task.
    public let parameters: Parameters
    /// The trial's maze.
    public private(set) var maze: Maze
    /// The start cell `(n−2, ⌊n/2⌋)`.
    public private(set) var start: GridCell
    /// Goal cells `(row, col)` in the order they must be reached.
    public private(set) var goals: [GridCell] = []
    /// Index of the goal being sought.
    public private(set) var activeGoal = 0
    /// Agent cell `(row, col)`.
    public private(set) var position: GridCell
    /// Steps taken.
    public private(set) var timer = 0
    /// `(Δrow, Δcol)` of each action index.
    public private(set) var directions = MazeRunner.defaultDirections
    private var isOver = false
    private var rng: SeededGenerator
    static let defaultDirections = [GridCell(0, -1), GridCell(-1, 0), GridCell(0, 1), GridCell(1, 0), GridCell(0, 0)]

    /// Creates the task; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "mazerunner", fields: errors) }
        self.parameters = parameters
        maze = Maze(bordered: 3)
        start = GridCell(1, 1)
        position = start
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `MazeRunner-<dim>x<dim>-k<goals>`.
    public var name: String { "MazeRunner-\(parameters.mazeDim)x\(parameters.mazeDim)-k\(parameters.numGoals)" }
    /// 7 floats, plus `2·k` with the goals in the observation, plus 2 with the position exposed.
    public var observationSize: Int {
        7 + (parameters.goalInObservation ? 2 * parameters.numGoals : 0) + (parameters.exposePosition ? 2 : 0)
    }
    /// West, north, east, south, stay (possibly permuted).
    public var actionSpace: ActionSpace { .discrete(count: 5) }

    /// Generates a maze and draws distinct goals among its free cells (start excluded).
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        let maze = Maze.random(dimension: parameters.mazeDim, using: &rng)
        let n = maze.size
        let start = GridCell(n - 2, n / 2)
        var free = maze.freeCells.filter { $0 != start }
        rng.shuffle(&free)
        var directions = Self.defaultDirections
        if parameters.randomizedActionSpace { rng.shuffle(&directions) }
        return reset(maze: maze, start: start, goals: Array(free.prefix(parameters.numGoals)), directions: directions)
    }

    /// The action that does nothing.
    public var noOpAction: Action? { .discrete(directions.firstIndex(of: GridCell(0, 0)) ?? 4) }

    /// Starts a trial on a given maze, start and goal list (tests, replays).
    public func reset(maze: Maze, start: GridCell, goals: [GridCell], directions: [GridCell]? = nil) -> [Float] {
        self.maze = maze
        self.start = start
        self.goals = goals
        self.directions = directions ?? Self.defaultDirections
        activeGoal = 0
        position = start
        timer = 0
        isOver = goals.isEmpty
        return observe()
    }

    /// Goals left to reach, in the relabeling format: reached ones become `(−1, −1)` (spec §7).
    public var goalSequence: [GridCell] {
        goals.enumerated().map { $0.offset < activeGoal ? GridCell(-1, -1) : $0.element }
    }

    /// Moves if the target cell is free and checks the active goal.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard !isOver else { throw EnvironmentError.trialOver(environment: name) }
        timer += 1
        let d = directions[index(of: action)]
        let target = GridCell(position.x + d.x, position.y + d.y)
        if !maze.isWall(target.x, target.y) { position = target }
        let success = position == goals[activeGoal]
        var terminated = false
        if success {
            terminated = activeGoal == goals.count - 1
            activeGoal += 1
        }
        let truncated = timer >= parameters.timeLimit
        terminated = terminated || truncated
        isOver = terminated
        return StepResult(observation: observe(), reward: success ? 1 : 0, isTerminated: terminated,
                          isTruncated: truncated, info: StepInfo(success: success))
    }

    /// Free cells from the agent in direction `(dr, dc)` before the first wall.
    public func depth(_ dr: Int, _ dc: Int) -> Int {
        var count = 0
        var (r, c) = (position.x + dr, position.y + dc)
        while !maze.isWall(r, c) {
            count += 1
            r += dr
            c += dc
        }
        return count
    }

    private func observe() -> [Float] {
        let n = Double(maze.size)
        var obs = [position.x, position.y, depth(0, -1), depth(-1, 0), depth(0, 1), depth(1, 0)].map { f32(Double($0) / n) }
        obs.append(f32(Double(timer) / Double(parameters.timeLimit)))
        if parameters.goalInObservation {
            obs += goalSequence.flatMap { [f32(Double($0.x) / n), f32(Double($0.y) / n)] }
        }
        if parameters.exposePosition {
            obs += [f32(Double(position.x) / n), f32(Double(position.y) / n)]
        }
        return obs
    }
}
