import Foundation
import JSON

/// A weighted mix of tasks: one task per trial, padded to common spaces (more-tasks.md, AMAGO-2).
///
/// Observations are zero-padded to the widest task; discrete actions to the largest action count
/// (indices a task lacks become its no-op, or its action 0 when it has none); continuous actions to
/// the largest dimension (extra entries are ignored). The task's identity is not observed, but
/// `name` reports it and every metric is also given per task as `<task>/<metric>`.
public final class MultiTaskMix: Environment {
    /// One task of the mix.
    public struct Member {
        /// Label used for `name` and the per-task metric prefix.
        public var name: String
        /// Relative probability of drawing this task for a trial.
        public var weight: Double
        /// The task itself.
        public var environment: any Environment
        /// Creates a member.
        public init(name: String, weight: Double = 1, environment: any Environment) {
            self.name = name
            self.weight = weight
            self.environment = environment
        }
    }

    /// The tasks.
    public let members: [Member]
    /// Index of the current trial's task.
    public private(set) var current = 0
    /// Padded observation width.
    public let observationSize: Int
    /// Padded action space.
    public let actionSpace: ActionSpace
    private var trialReturn = 0.0
    private var rng: SeededGenerator

    /// Creates a mix; throws `invalidParameters` for an empty list, bad weights or a mix of
    /// discrete and continuous tasks.
    public init(_ members: [Member], seed: UInt64 = 0) throws {
        var errors: [FieldError] = []
        if members.isEmpty { errors.append(FieldError(field: "tasks", expected: "at least one task")) }
        for (i, m) in members.enumerated() where !(m.weight.isFinite && m.weight >= 0) {
            errors.append(FieldError(field: "tasks[\(i)].weight", expected: "a finite number ≥ 0"))
        }
        if !members.isEmpty && members.map(\.weight).reduce(0, +) <= 0 {
            errors.append(FieldError(field: "tasks", expected: "weights with a positive sum"))
        }
        let discrete = members.compactMap { m -> Int? in
            if case .discrete(let n) = m.environment.actionSpace { return n } else { return nil }
        }
        if !discrete.isEmpty && discrete.count != members.count {
            errors.append(FieldError(field: "tasks", expected: "all discrete-action or all continuous-action tasks"))
        }
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "multi_task_mix", fields: errors) }
        self.members = members
        observationSize = members.map(\.environment.observationSize).max() ?? 0
        let widest = members.map(\.environment.actionSpace.width).max() ?? 0
        actionSpace = discrete.isEmpty ? .continuous(dimension: widest) : .discrete(count: widest)
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// The current task's name.
    public var name: String { members[current].name }

    /// Draws a task by weight and starts its trial. A seed also reseeds every member.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed {
            rng = SeededGenerator(seed: seed)
            for (i, m) in members.enumerated() { _ = m.environment.reset(seed: seed &+ UInt64(i + 1)) }
        }
        return reset(taskIndex: rng.nextIndex(weights: members.map(\.weight)))
    }

    /// Starts a trial of member `taskIndex` (clamped to the valid range).
    public func reset(taskIndex: Int) -> [Float] {
        current = min(max(taskIndex, 0), members.count - 1)
        trialReturn = 0
        return pad(members[current].environment.reset(seed: nil))
    }

    /// Steps the current task with the action cut down to its space.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        let member = members[current]
        var result = try member.environment.step(translate(action, for: member.environment))
        trialReturn += result.reward
        result.observation = pad(result.observation)
        for (key, value) in result.info.metrics { result.info.metrics["\(member.name)/\(key)"] = value }
        if result.isDone {
            result.info.metrics["\(member.name)/return"] = trialReturn
            if let success = result.info.success { result.info.metrics["\(member.name)/success"] = success ? 1 : 0 }
        }
        return result
    }

    private func translate(_ action: Action, for env: any Environment) -> Action {
        switch (action, env.actionSpace) {
        case (.discrete(let i), .discrete(let n)):
            return i < n ? action : env.noOpAction ?? .discrete(0)
        case (.continuous(let values), .continuous(let dimension)):
            return .continuous(Array(values.prefix(dimension)))
        default:
            return env.noOpAction ?? action
        }
    }

    private func pad(_ observation: [Float]) -> [Float] {
        observation + [Float](repeating: 0, count: max(0, observationSize - observation.count))
    }
}
