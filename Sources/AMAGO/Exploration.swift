import Autograd
import Environments

/// How much random noise the training actors add to the policy's actions (spec §6.5).
///
/// `n` is an actor's own count of actions taken so far and `t` the time index of the observation
/// it acts on. Both schedules anneal linearly in `n` over `annealSteps`; the bilevel one also
/// anneals within a trial, linearly in `t / rolloutHorizon` (not clamped: beyond the horizon ε
/// keeps falling and may become negative, spec §11 item 14).
public enum ExplorationSchedule: Codable, Equatable, Sendable {
    /// `ε(n) = m · max(start − (start − end)·n/annealSteps, end)`; the reference's default `"egreedy"`.
    case epsilonGreedy(start: Float = 1, end: Float = 0.05, annealSteps: Int = 1_000_000, randomize: Bool = true)
    /// `ε(n, t) = m · (e₀(n) − (e₀(n) − e₁(n))·t/rolloutHorizon)`, where `e₀` anneals `startStart → startEnd`
    /// and `e₁` anneals `endStart → endEnd`; the reference's `"bilevel"`.
    case bilevel(rolloutHorizon: Int, startStart: Float = 1, startEnd: Float = 0.05, endStart: Float = 0.8,
                 endEnd: Float = 0.01, annealSteps: Int = 1_000_000, randomize: Bool = true)
    /// The reference's T-Maze exploration (examples/04): `0.5/horizon` inside the corridor
    /// (`0 < t < horizon − 3`), where a single wrong move makes the trial unwinnable, and the
    /// annealed ε-greedy schedule elsewhere (at the start and at the junction, where the goal must
    /// be discovered).
    case corridor(horizon: Int, start: Float = 1, end: Float = 0.01, annealSteps: Int = 100_000, randomize: Bool = true)
    /// No exploration noise (ε = 0).
    case none

    /// ε without the per-actor multiplier `m`, for action count `n` and time index `t`.
    public func baseEpsilon(steps n: Int, timeIndex t: Int) -> Float {
        switch self {
        case let .epsilonGreedy(start, end, anneal, _):
            return Float(Self.anneal(from: start, to: end, steps: n, over: anneal))
        case let .bilevel(horizon, ss, se, es, ee, anneal, _):
            let first = Self.anneal(from: ss, to: se, steps: n, over: anneal)
            let last = Self.anneal(from: es, to: ee, steps: n, over: anneal)
            let progress = horizon > 0 ? Double(t) / Double(horizon) : 0
            return Float(first - (first - last) * progress)
        case let .corridor(horizon, start, end, anneal, _):
            if t > 0 && t < horizon - 3 { return 0.5 / Float(max(horizon, 1)) }
            return Float(Self.anneal(from: start, to: end, steps: n, over: anneal))
        case .none:
            return 0
        }
    }

    /// Whether each actor's ε is scaled by a multiplier `m ~ U[0, 1)` re-drawn every trial.
    public var randomizesMultiplier: Bool {
        switch self {
        case let .epsilonGreedy(_, _, _, randomize), let .bilevel(_, _, _, _, _, _, randomize),
             let .corridor(_, _, _, _, randomize): return randomize
        case .none: return false
        }
    }

    /// `max(a − (a − b)/steps·n, b)` in double precision, the order of operations of the reference.
    private static func anneal(from a: Float, to b: Float, steps n: Int, over total: Int) -> Double {
        let (a, b) = (Double(a), Double(b))
        guard total > 0 else { return b }
        return Swift.max(a - (a - b) / Double(total) * Double(n), b)
    }
}

/// Exploration noise for a group of parallel training actors (spec §6.5). Each actor keeps its
/// own action counter `n` and multiplier `m` (1 unless the schedule randomizes it).
public final class Exploration {
    /// The noise schedule.
    public let schedule: ExplorationSchedule
    /// Actions each actor has taken so far (`n`); settable to resume a run.
    public var stepCounts: [Int]
    /// Each actor's current multiplier `m`.
    public private(set) var multipliers: [Float]
    private let rng: RandomGenerator

    /// Noise for `actors` actors, drawing every random number from `rng`.
    public init(schedule: ExplorationSchedule, actors: Int, using rng: RandomGenerator) {
        self.schedule = schedule
        self.rng = rng
        stepCounts = [Int](repeating: 0, count: Swift.max(actors, 0))
        multipliers = [Float](repeating: 1, count: Swift.max(actors, 0))
        for i in multipliers.indices { trialEnded(actor: i) }
    }

    /// Number of actors.
    public var actors: Int { stepCounts.count }

    /// ε for an actor given its action counter and the time index of its current observation
    /// (0 for an actor index out of range).
    public func epsilon(actor: Int, timeIndex: Int) -> Float {
        guard stepCounts.indices.contains(actor) else { return 0 }
        return multipliers[actor] * schedule.baseEpsilon(steps: stepCounts[actor], timeIndex: timeIndex)
    }

    /// Applies exploration to each actor's chosen action and counts one step per actor.
    /// Discrete: with probability ε (a draw `u ≤ ε`) a uniformly random action replaces it.
    /// Continuous: `a + ε·N(0, I)` clipped to `[-1, 1]`.
    /// - Parameters:
    ///   - actions: one action per actor (entries beyond `actors`, or of the wrong kind, pass unchanged).
    ///   - timeIndices: the time index of each actor's current observation.
    /// - Returns: the executed actions, which are what the trajectory stores as previous actions.
    public func apply(_ actions: [Action], timeIndices: [Int], actionSpace: ActionSpace) -> [Action] {
        actions.enumerated().map { i, action in
            guard i < actors, i < timeIndices.count else { return action }
            let eps = epsilon(actor: i, timeIndex: timeIndices[i])
            stepCounts[i] += 1
            return explore(action, epsilon: eps, in: actionSpace)
        }
    }

    /// Re-draws actor `i`'s multiplier (call when its trial ends, and at reset).
    public func trialEnded(actor i: Int) {
        guard multipliers.indices.contains(i) else { return }
        multipliers[i] = schedule.randomizesMultiplier ? rng.uniform() : 1
    }

    private func explore(_ action: Action, epsilon eps: Float, in space: ActionSpace) -> Action {
        guard schedule != .none else { return action }
        switch (action, space) {
        case let (.discrete, .discrete(count)) where count > 0:
            return rng.uniform() <= eps ? .discrete(rng.integer(below: count)) : action
        case let (.continuous(values), .continuous):
            return .continuous(values.map { Swift.min(Swift.max($0 + eps * rng.normal(), -1), 1) })
        default:
            return action
        }
    }
}
