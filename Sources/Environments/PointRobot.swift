import Foundation
import JSON

/// Point-robot navigation to a hidden goal, several attempts per trial (more-tasks.md).
///
/// Observation `[p_x, p_y, t/steps]` with `t` the step within the attempt (the goal is never
/// shown). Reward per step `−‖p − g‖`, plus 1 within `0.1` of the goal.
public final class PointRobot: Environment {
    /// Documented parameters; those of the registry take its defaults and ranges
    /// (`EnvironmentRegistry.pointRobot`).
    public struct Parameters: Codable, Equatable, Sendable {
        /// Attempts per trial, all with the same goal.
        public var attempts: Int
        /// Steps per attempt.
        public var steps: Int
        /// Radius of the circle the goal lies on (not a registry parameter).
        public var goalRadius: Double

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.pointRobot.defaultValues }

        /// Creates parameters; omitted ones take the registry's defaults.
        public init(attempts: Int = defaults.int("attempts"), steps: Int = defaults.int("steps"), goalRadius: Double = 0.8) {
            self.attempts = attempts
            self.steps = steps
            self.goalRadius = goalRadius
        }
        /// Every invalid field.
        public func validationErrors() -> [FieldError] {
            var errors = EnvironmentRegistry.pointRobot.problems(["attempts": .number(Double(attempts)), "steps": .number(Double(steps))])
            if !(goalRadius >= 0 && goalRadius <= 1) { errors.append(FieldError(field: "goal_radius", expected: "a number in [0, 1]")) }
            return errors
        }
    }

    /// Velocity scale of an action.
    public static let speed = 0.1
    /// Distance within which the bonus is paid.
    public static let bonusRadius = 0.1

    /// The parameters of the task.
    public let parameters: Parameters
    /// The trial's hidden goal.
    public private(set) var goal: (x: Double, y: Double) = (0, 0)
    /// Robot position.
    public private(set) var position: (x: Double, y: Double) = (0, 0)
    /// Attempts finished in this trial.
    public private(set) var attempt = 0
    /// Steps taken in the current attempt.
    public private(set) var attemptStep = 0
    private var attemptReturn = 0.0
    private var rng: SeededGenerator

    /// Creates the task; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "point_robot", fields: errors) }
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `PointRobot-k<attempts>`.
    public var name: String { "PointRobot-k\(parameters.attempts)" }
    /// Position and time within the attempt.
    public var observationSize: Int { 3 }
    /// A velocity in `[-1, 1]²`.
    public var actionSpace: ActionSpace { .continuous(dimension: 2) }

    /// The action that does nothing.
    public var noOpAction: Action? { .continuous([0, 0]) }

    /// Starts a trial with a goal drawn uniformly on the circle.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        let angle = rng.nextDouble(in: 0, 2 * Double.pi)
        return reset(goal: (parameters.goalRadius * cos(angle), parameters.goalRadius * sin(angle)))
    }

    /// Starts a trial with the given goal.
    public func reset(goal: (x: Double, y: Double)) -> [Float] {
        self.goal = goal
        attempt = 0
        startAttempt()
        return observe()
    }

    private func startAttempt() {
        position = (0, 0)
        attemptStep = 0
        attemptReturn = 0
    }

    /// The reward at a position: `−‖p − g‖`, plus 1 within the bonus radius.
    public func reward(at p: (x: Double, y: Double)) -> Double {
        let distance = ((p.x - goal.x) * (p.x - goal.x) + (p.y - goal.y) * (p.y - goal.y)).squareRoot()
        return -distance + (distance <= Self.bonusRadius ? 1 : 0)
    }

    /// Moves, scores, and starts the next attempt at the origin when this one is over.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard attempt < parameters.attempts, case .continuous(let a) = action else {
            throw EnvironmentError.trialOver(environment: name)
        }
        position = (min(max(position.x + Self.speed * Double(a[0]), -1), 1),
                     min(max(position.y + Self.speed * Double(a[1]), -1), 1))
        let r = reward(at: position)
        attemptReturn += r
        attemptStep += 1
        var info = StepInfo()
        if attemptStep >= parameters.steps {
            info.metrics["Attempt \(attempt) Return"] = attemptReturn
            attempt += 1
            startAttempt()
        }
        let done = attempt >= parameters.attempts
        return StepResult(observation: observe(), reward: r, isTerminated: done, isTruncated: false, info: info)
    }

    private func observe() -> [Float] {
        [Float(position.x), Float(position.y), Float(Double(attemptStep) / Double(parameters.steps))]
    }
}
