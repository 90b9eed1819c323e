import Foundation

/// The action space of an environment.
public enum ActionSpace: Equatable, Codable, Sendable {
    /// `count` discrete actions, indexed `0 ..< count`.
    case discrete(count: Int)
    /// A real vector of `dimension` entries, each in `[-1, 1]`.
    case continuous(dimension: Int)

    /// Width of the previous-action part of the rl2 input: the action count (one-hot) or the dimension.
    public var width: Int {
        switch self {
        case .discrete(let count): return count
        case .continuous(let dimension): return dimension
        }
    }

    /// Whether `action` has the right kind and size for this space (values of a continuous action
    /// must also lie in `[-1, 1]`).
    public func contains(_ action: Action) -> Bool {
        switch (self, action) {
        case (.discrete(let count), .discrete(let index)):
            return index >= 0 && index < count
        case (.continuous(let dimension), .continuous(let values)):
            return values.count == dimension && values.allSatisfy { $0.isFinite && abs($0) <= 1 }
        default:
            return false
        }
    }

    /// The action as the rl2 "previous action" vector: one-hot for discrete, the values for continuous.
    public func encode(_ action: Action) -> [Float] {
        switch action {
        case .discrete(let index):
            var oneHot = [Float](repeating: 0, count: width)
            if index >= 0 && index < width { oneHot[index] = 1 }
            return oneHot
        case .continuous(let values):
            return values
        }
    }
}

/// One action chosen by an agent.
public enum Action: Equatable, Codable, Sendable {
    /// Index of a discrete action.
    case discrete(Int)
    /// A continuous action with entries in `[-1, 1]`.
    case continuous([Float])
}

/// Side information of one step.
public struct StepInfo: Equatable, Sendable {
    /// Whether the task was solved, for tasks where that is meaningful (`nil` otherwise).
    public var success: Bool?
    /// Named per-step metrics, e.g. per-attempt success `"Episode 1 Success"` (1 or 0) of meta-RL tasks.
    public var metrics: [String: Double]

    /// Creates an info value.
    public init(success: Bool? = nil, metrics: [String: Double] = [:]) {
        self.success = success
        self.metrics = metrics
    }
}

/// What one call to `Environment.step(_:)` returns.
public struct StepResult: Equatable, Sendable {
    /// The observation after the step (flat vector of `observationSize` floats).
    public var observation: [Float]
    /// The raw reward of the step.
    public var reward: Double
    /// The trial ended in a way value learning should not bootstrap across.
    public var isTerminated: Bool
    /// The trial was cut short by a time limit the agent cannot see.
    public var isTruncated: Bool
    /// Success flag and named metrics.
    public var info: StepInfo

    /// Creates a step result.
    public init(observation: [Float], reward: Double, isTerminated: Bool, isTruncated: Bool, info: StepInfo = StepInfo()) {
        self.observation = observation
        self.reward = reward
        self.isTerminated = isTerminated
        self.isTruncated = isTruncated
        self.info = info
    }

    /// The trial is over (terminated or truncated) and the environment must be reset.
    public var isDone: Bool { isTerminated || isTruncated }
}

/// A (possibly multi-episode) task an agent interacts with, one trial at a time.
///
/// A trial is what the agent's memory spans: meta-RL tasks perform their own soft resets between
/// attempts and only report `isTerminated`/`isTruncated` when the whole trial is over (spec §8.1).
/// Instances hold mutable state and their own seeded generator; use one instance per thread.
public protocol Environment: AnyObject {
    /// Label for metrics and trajectory files; a multi-task environment may change it at each reset.
    var name: String { get }
    /// Length of every observation vector.
    var observationSize: Int { get }
    /// The actions the environment accepts.
    var actionSpace: ActionSpace { get }
    /// Starts a new trial (new task) and returns its first observation.
    /// - Parameter seed: reseeds the instance's generator first; `nil` continues its stream.
    func reset(seed: UInt64?) -> [Float]
    /// An action that leaves the task unchanged, if there is one (a multi-task mix maps actions a
    /// task does not have to it).
    var noOpAction: Action? { get }
    /// Advances one step. Throws `EnvironmentError.invalidAction` for an action outside
    /// `actionSpace`, and `EnvironmentError.trialOver` when the trial has ended and needs a reset.
    func step(_ action: Action) throws -> StepResult
}

extension Environment {
    /// No no-op unless the task declares one.
    public var noOpAction: Action? { nil }

    /// Starts a new trial, continuing the instance's random stream.
    public func reset() -> [Float] { reset(seed: nil) }

    /// Throws `EnvironmentError.invalidAction` unless `action` belongs to the action space.
    func validate(_ action: Action) throws {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.invalidAction(environment: name, expected: actionSpace, got: action)
        }
    }

    /// The discrete index of an already validated action (0 for a continuous one).
    func index(of action: Action) -> Int {
        if case .discrete(let index) = action { return index }
        return 0
    }
}
