import Foundation
import JSON

/// Cart-pole with the velocities hidden: the agent sees only cart position and pole angle (more-tasks.md).
///
/// Classic dynamics with an explicit Euler step. Reward `+1/T` per step survived and `−1` on the
/// failing step; a trial ends on failure or after `T` steps (both flags set at `T`).
public final class StatelessCartPole: Environment {
    /// The full physical state.
    public struct State: Equatable, Sendable {
        /// Cart position.
        public var x: Double
        /// Cart velocity.
        public var xDot: Double
        /// Pole angle in radians (0 = upright).
        public var theta: Double
        /// Pole angular velocity.
        public var thetaDot: Double
        /// Creates a state.
        public init(x: Double, xDot: Double, theta: Double, thetaDot: Double) {
            self.x = x
            self.xDot = xDot
            self.theta = theta
            self.thetaDot = thetaDot
        }
    }

    /// Documented parameters.
    public struct Parameters: Codable, Equatable, Sendable {
        /// Step limit `T`; presets 200 / 400 / 600.
        public var maxSteps: Int = 200
        /// Creates parameters.
        public init(maxSteps: Int = 200) { self.maxSteps = maxSteps }
        /// The preset of a difficulty level.
        public static func preset(_ level: MemoryDifficulty) -> Parameters {
            Parameters(maxSteps: [.easy: 200, .medium: 400, .hard: 600][level] ?? 200)
        }
        /// Every invalid field.
        public func validationErrors() -> [FieldError] {
            (1...100_000).contains(maxSteps) ? [] : [FieldError(field: "max_steps", expected: "an integer in 1...100000")]
        }
    }

    static let gravity = 9.8, cartMass = 1.0, poleMass = 0.1, halfLength = 0.5, forceMagnitude = 10.0, tau = 0.02
    static let xLimit = 2.4, thetaLimit = 12 * 2 * Double.pi / 360

    /// The parameters of the task.
    public let parameters: Parameters
    /// The current physical state.
    public private(set) var state = State(x: 0, xDot: 0, theta: 0, thetaDot: 0)
    /// Steps taken.
    public private(set) var stepIndex = 0
    private var isOver = false
    private var rng: SeededGenerator

    /// Creates the task; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "stateless_cartpole", fields: errors) }
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `StatelessCartPole-<T>`.
    public var name: String { "StatelessCartPole-\(parameters.maxSteps)" }
    /// Cart position and pole angle.
    public var observationSize: Int { 2 }
    /// Push left (0) or right (1).
    public var actionSpace: ActionSpace { .discrete(count: 2) }

    /// Starts from a state uniform in ±0.05 per coordinate.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        let u = (0..<4).map { _ in rng.nextDouble(in: -0.05, 0.05) }
        return reset(state: State(x: u[0], xDot: u[1], theta: u[2], thetaDot: u[3]))
    }

    /// Starts from the given state.
    public func reset(state: State) -> [Float] {
        self.state = state
        stepIndex = 0
        isOver = false
        return [Float(state.x), Float(state.theta)]
    }

    /// The state after one Euler step of `tau` under `force` (classic cart-pole equations).
    public static func integrate(_ s: State, force: Double) -> State {
        let totalMass = cartMass + poleMass, poleMassLength = poleMass * halfLength
        let cosT = cos(s.theta), sinT = sin(s.theta)
        let temp = (force + poleMassLength * s.thetaDot * s.thetaDot * sinT) / totalMass
        let thetaAcc = (gravity * sinT - cosT * temp) / (halfLength * (4.0 / 3.0 - poleMass * cosT * cosT / totalMass))
        let xAcc = temp - poleMassLength * thetaAcc * cosT / totalMass
        return State(x: s.x + tau * s.xDot, xDot: s.xDot + tau * xAcc,
                     theta: s.theta + tau * s.thetaDot, thetaDot: s.thetaDot + tau * thetaAcc)
    }

    /// Pushes the cart and checks for failure.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard !isOver else { throw EnvironmentError.trialOver(environment: name) }
        state = Self.integrate(state, force: index(of: action) == 1 ? Self.forceMagnitude : -Self.forceMagnitude)
        stepIndex += 1
        let failed = abs(state.x) > Self.xLimit || abs(state.theta) > Self.thetaLimit
        let timeUp = !failed && stepIndex >= parameters.maxSteps
        isOver = failed || timeUp
        var info = StepInfo()
        if isOver { info.success = timeUp }
        return StepResult(observation: [Float(state.x), Float(state.theta)],
                          reward: failed ? -1 : 1 / Double(parameters.maxSteps),
                          isTerminated: isOver, isTruncated: timeUp, info: info)
    }
}
