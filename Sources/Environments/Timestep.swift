import Foundation

/// What the policy sees when it must act (spec §1.1): observation o_t, the action a_{t−1} and
/// reward r_{t−1} that led to it, the time index within the trial and the terminated flag.
public struct Timestep: Equatable, Sendable {
    /// The current observation.
    public var observation: [Float]
    /// Previous action: one-hot for discrete spaces, the vector for continuous ones; zeros at a trial's start.
    public var previousAction: [Float]
    /// Raw reward of the previous step; 0 at a trial's start.
    public var reward: Float
    /// Steps since the trial started (soft resets inside a trial do not reset it).
    public var timeIndex: Int
    /// The `terminated` flag of the step that produced the observation (truncation is not stored).
    public var isTerminal: Bool

    /// Creates a timestep.
    public init(observation: [Float], previousAction: [Float], reward: Float, timeIndex: Int, isTerminal: Bool) {
        self.observation = observation
        self.previousAction = previousAction
        self.reward = reward
        self.timeIndex = timeIndex
        self.isTerminal = isTerminal
    }

    /// The RL² input `[reward] + previousAction` (reward first), length `1 + A`.
    public var rl2: [Float] { [reward] + previousAction }

    /// The same observation as the start of a trial: reward 0, zero action, time 0, not terminal.
    public func resetVersion() -> Timestep {
        Timestep(observation: observation, previousAction: [Float](repeating: 0, count: previousAction.count),
                 reward: 0, timeIndex: 0, isTerminal: false)
    }
}

/// One step seen through `TimestepWrapper`.
public struct TimestepTransition: Equatable, Sendable {
    /// The timestep built from the step (time index counts this step; `isTerminal` = terminated).
    public var timestep: Timestep
    /// The environment's own result (terminal observation, reward, flags, info).
    public var result: StepResult
    /// What the policy sees next: `timestep`, or its reset version when the trial ended.
    public var next: Timestep
}

/// Turns an environment's steps into `Timestep`s with the rl2 fields (spec §8.1).
///
/// The time index is 0 at `reset`, +1 per step, and back to 0 after a step that ended the trial.
/// Continuous actions must lie in `[-1, 1]`; built-in continuous tasks use that box directly.
public final class TimestepWrapper {
    /// The wrapped environment.
    public let environment: any Environment
    /// Steps since the trial started.
    public private(set) var stepCount = 0
    /// Sum of rewards since the trial started.
    public private(set) var trialReturn = 0.0

    /// Wraps `environment`.
    public init(_ environment: any Environment) { self.environment = environment }

    /// Width of the rl2 vector, `1 + A`.
    public var rl2Size: Int { 1 + environment.actionSpace.width }

    /// Starts a trial and returns its first timestep.
    public func reset(seed: UInt64? = nil) -> Timestep {
        return reset(firstObservation: environment.reset(seed: seed))
    }

    /// Starts a trial that the caller already began on the environment itself (e.g. with an
    /// injected task), given the observation that reset returned.
    public func reset(firstObservation observation: [Float]) -> Timestep {
        stepCount = 0
        trialReturn = 0
        return Timestep(observation: observation, previousAction: [Float](repeating: 0, count: environment.actionSpace.width),
                 reward: 0, timeIndex: 0, isTerminal: false)
    }

    /// Steps the environment and builds the timestep and the policy's next input.
    public func step(_ action: Action) throws -> TimestepTransition {
        let result = try environment.step(action)
        stepCount += 1
        trialReturn += result.reward
        let timestep = Timestep(observation: result.observation, previousAction: environment.actionSpace.encode(action),
                                reward: Float(result.reward), timeIndex: stepCount, isTerminal: result.isTerminated)
        if result.isDone { stepCount = 0; trialReturn = 0 }
        return TimestepTransition(timestep: timestep, result: result,
                                  next: result.isDone ? timestep.resetVersion() : timestep)
    }
}
