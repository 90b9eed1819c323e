import Foundation
import JSON

/// One slot's outcome of `VectorEnvironment.step(_:)`.
public struct SlotStep: Equatable, Sendable {
    /// The timestep the step produced, with the terminal observation if the trial ended.
    public var timestep: Timestep
    /// The environment's own result, before any reset.
    public var result: StepResult
    /// What the policy sees next: after a finished trial, the first timestep of the new one.
    public var next: Timestep
    /// Total reward of the trial, set on the step that ended it.
    public var trialReturn: Double?
    /// Steps of the trial, set on the step that ended it.
    public var trialLength: Int?
    /// Name of the task the step belonged to (a mix changes it per trial).
    public var environmentName: String
}

/// N copies of an environment stepped together, with automatic reset of finished trials (spec §6.2).
public final class VectorEnvironment {
    /// One wrapper per slot.
    public let slots: [TimestepWrapper]
    /// Step the slots on several threads (worth it only when a step is expensive).
    public var isParallel: Bool

    /// Creates `count` environments with `make(slotIndex)`.
    public init(count: Int, parallel: Bool = false, make: (Int) throws -> any Environment) throws {
        guard count >= 1 else {
            throw EnvironmentError.invalidParameters(environment: "vector", fields: [FieldError(field: "count", expected: "a positive integer")])
        }
        slots = try (0..<count).map { TimestepWrapper(try make($0)) }
        isParallel = parallel
    }

    /// Number of slots.
    public var count: Int { slots.count }

    /// Resets every slot; slot `i` is seeded with `seed + i` when a seed is given.
    public func reset(seed: UInt64? = nil) -> [Timestep] {
        return slots.enumerated().map { i, slot in slot.reset(seed: seed.map { $0 &+ UInt64(i) }) }
    }

    /// Steps slot `i` with `actions[i]`; finished slots are reset at once and report their
    /// terminal step in `timestep`/`result` and the new trial's start in `next`.
    public func step(_ actions: [Action]) throws -> [SlotStep] {
        guard actions.count == count else { throw EnvironmentError.actionCountMismatch(expected: count, got: actions.count) }
        var outcomes = [Result<SlotStep, Error>?](repeating: nil, count: count)
        if isParallel && count > 1 {
            outcomes.withUnsafeMutableBufferPointer { buffer in
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    buffer[i] = Result { try stepSlot(i, actions[i]) }
                }
            }
        } else {
            for i in 0..<count { outcomes[i] = Result { try stepSlot(i, actions[i]) } }
        }
        return try outcomes.map { try $0!.get() }
    }

    /// Steps one slot; touches only that slot's state, so slots may run concurrently.
    private func stepSlot(_ i: Int, _ action: Action) throws -> SlotStep {
        let slot = slots[i]
        let name = slot.environment.name
        let length = slot.stepCount + 1
        let trialReturn = slot.trialReturn
        let transition = try slot.step(action)
        var outcome = SlotStep(timestep: transition.timestep, result: transition.result, next: transition.next,
                               trialReturn: nil, trialLength: nil, environmentName: name)
        if transition.result.isDone {
            outcome.trialReturn = trialReturn + transition.result.reward
            outcome.trialLength = length
            outcome.next = slot.reset(seed: nil)
        }
        return outcome
    }
}
