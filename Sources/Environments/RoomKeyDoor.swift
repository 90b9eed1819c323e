import Foundation
import JSON

/// A grid cell `(x, y)`.
public struct GridCell: Equatable, Hashable, Codable, Sendable {
    /// First coordinate.
    public var x: Int
    /// Second coordinate.
    public var y: Int
    /// Creates a cell.
    public init(_ x: Int, _ y: Int) {
        self.x = x
        self.y = y
    }
}

/// Dark (or light) Key-To-Door: find the key, then the door, again and again within one trial (spec §8.3).
public final class RoomKeyDoor: Environment {
    /// Documented parameters; defaults and ranges are the registry's (`EnvironmentRegistry.roomKeyDoor`).
    public struct Parameters: Codable, Equatable, Sendable {
        /// Hide the door and key positions from the observation.
        public var dark: Bool
        /// Side of the square room.
        public var size: Int
        /// Steps per episode `H`.
        public var maxEpisodeSteps: Int
        /// Steps per trial `H_meta`.
        public var metaRolloutHorizon: Int
        /// Fixed start cell, or `nil` for a random one per trial.
        public var startLocation: GridCell?
        /// Fixed key cell, or `nil` for a random one per trial.
        public var keyLocation: GridCell?
        /// Fixed door cell, or `nil` for a random one per trial.
        public var goalLocation: GridCell?
        /// Shuffle the action directions at every trial.
        public var randomizeActions: Bool

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.roomKeyDoor.defaultValues }

        /// Creates parameters; omitted ones take the registry's defaults.
        public init(dark: Bool = defaults.bool("dark"), size: Int = defaults.int("size"),
                    maxEpisodeSteps: Int = defaults.int("max_episode_steps"), metaRolloutHorizon: Int = defaults.int("meta_rollout_horizon"),
                    startLocation: GridCell? = defaults.cell("start_location"), keyLocation: GridCell? = defaults.cell("key_location"),
                    goalLocation: GridCell? = defaults.cell("goal_location"), randomizeActions: Bool = defaults.bool("randomize_actions")) {
            self.dark = dark
            self.size = size
            self.maxEpisodeSteps = maxEpisodeSteps
            self.metaRolloutHorizon = metaRolloutHorizon
            self.startLocation = startLocation
            self.keyLocation = keyLocation
            self.goalLocation = goalLocation
            self.randomizeActions = randomizeActions
        }

        /// Every invalid field: the registry's ranges, then fixed cells inside the room.
        public func validationErrors() -> [FieldError] {
            let json = { (c: GridCell?) in c.map { JSONValue.array([.number(Double($0.x)), .number(Double($0.y))]) } ?? .null }
            var errors = EnvironmentRegistry.roomKeyDoor.problems([
                "dark": .bool(dark), "size": .number(Double(size)), "max_episode_steps": .number(Double(maxEpisodeSteps)),
                "meta_rollout_horizon": .number(Double(metaRolloutHorizon)), "start_location": json(startLocation),
                "key_location": json(keyLocation), "goal_location": json(goalLocation), "randomize_actions": .bool(randomizeActions),
            ])
            for (field, cell) in [("start_location", startLocation), ("key_location", keyLocation), ("goal_location", goalLocation)] {
                if let c = cell, !(0..<size).contains(c.x) || !(0..<size).contains(c.y) {
                    errors.append(FieldError(field: field, expected: "null or [x, y] with both in 0..<size"))
                }
            }
            return errors
        }
    }

    /// One trial's hidden layout.
    public struct Task: Equatable, Sendable {
        /// Start cell of every episode.
        public var start: GridCell
        /// Key cell.
        public var key: GridCell
        /// Door cell.
        public var door: GridCell
        /// Creates a task.
        public init(start: GridCell, key: GridCell, door: GridCell) {
            self.start = start
            self.key = key
            self.door = door
        }
    }

    /// The parameters the room was built with.
    public let parameters: Parameters
    /// The current trial's layout.
    public private(set) var task: Task
    /// Agent cell.
    public private(set) var position: GridCell
    /// Whether the key has been picked up this episode.
    public private(set) var hasKey = false
    /// Steps in this episode.
    public private(set) var episodeTime = 0
    /// Steps in this trial.
    public private(set) var globalTime = 0
    /// The next step only returns to the start.
    public private(set) var resetNextStep = false
    private var directions = [(0, -1), (-1, 0), (0, 1), (1, 0), (0, 0)]
    private var rng: SeededGenerator

    /// Creates a room; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "room_key_door", fields: errors) }
        self.parameters = parameters
        task = Task(start: GridCell(0, 0), key: GridCell(0, 0), door: GridCell(0, 0))
        position = GridCell(0, 0)
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `Dark-Key-To-Door-<size>x<size>` or `Key-To-Door-<size>x<size>`.
    public var name: String { (parameters.dark ? "Dark-Key-To-Door-" : "Key-To-Door-") + "\(parameters.size)x\(parameters.size)" }
    /// 4 floats when dark, 8 when light.
    public var observationSize: Int { parameters.dark ? 4 : 8 }
    /// Four moves and a no-op.
    public var actionSpace: ActionSpace { .discrete(count: 5) }

    /// The action that does nothing.
    public var noOpAction: Action? { .discrete(directions.firstIndex { $0 == (0, 0) } ?? 4) }

    /// Starts a trial; random cells are drawn for every location not fixed by the parameters.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        func draw(_ fixed: GridCell?) -> GridCell {
            fixed ?? GridCell(rng.nextInt(below: parameters.size), rng.nextInt(below: parameters.size))
        }
        let start = draw(parameters.startLocation), key = draw(parameters.keyLocation), door = draw(parameters.goalLocation)
        return reset(task: Task(start: start, key: key, door: door))
    }

    /// Starts a trial with the given layout.
    public func reset(task: Task) -> [Float] {
        self.task = task
        directions = [(0, -1), (-1, 0), (0, 1), (1, 0), (0, 0)]
        if parameters.randomizeActions { rng.shuffle(&directions) }
        globalTime = 0
        resetEpisode()
        return observe()
    }

    private func resetEpisode() {
        position = task.start
        episodeTime = 0
        hasKey = false
        resetNextStep = false
    }

    /// One step (spec §8.3); after the door or a time-out the next step only returns to the start.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard globalTime < parameters.metaRolloutHorizon else { throw EnvironmentError.trialOver(environment: name) }
        globalTime += 1
        var reward = 0.0
        if resetNextStep {
            resetEpisode()
        } else {
            episodeTime += 1
            let (dx, dy) = directions[index(of: action)]
            let last = parameters.size - 1
            position = GridCell(min(max(position.x + dx, 0), last), min(max(position.y + dy, 0), last))
            if hasKey && position == task.door {
                reward = 1
                resetNextStep = true
            } else if !hasKey && position == task.key {
                reward = 1
                hasKey = true
            }
            if episodeTime >= parameters.maxEpisodeSteps { resetNextStep = true }
        }
        let done = globalTime >= parameters.metaRolloutHorizon
        return StepResult(observation: observe(), reward: reward, isTerminated: done, isTruncated: done)
    }

    private func observe() -> [Float] {
        let s = Double(parameters.size)
        var obs = [f32(Double(position.x) / s), f32(Double(position.y) / s), hasKey ? 1 : 0,
                   f32(Double(episodeTime) / Double(parameters.maxEpisodeSteps))]
        if !parameters.dark {
            obs += [task.door.x, task.door.y, task.key.x, task.key.y].map { f32(Double($0) / s) }
        }
        return obs
    }
}
