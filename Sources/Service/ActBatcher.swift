import AMAGO
import Environments
import Foundation

/// One `/act` step of a session, its observation already of the agent's width.
struct ActRequest {
    /// The session's context; it belongs to the policy of the batcher the request goes to.
    let context: PolicyContext
    let observation: [Float]
    let reward: Float
    let reset: Bool
    let sample: Bool
}

/// What one step chose, and the tokens of context the policy saw (this step included).
struct ActOutcome {
    let action: Action
    let contextLength: Int
}

/// How the forward passes of `/act` have been shared out so far.
public struct ActBatchStatistics: Equatable, Sendable {
    /// Forward passes run.
    public var passes = 0
    /// Session steps those passes answered.
    public var steps = 0
    /// The most session steps one pass answered.
    public var largestBatch = 0
    /// Steps waiting for a pass now.
    public var waiting = 0
}

/// Runs the `/act` steps of one loaded policy, several sessions in one forward pass when they
/// arrive together.
///
/// A step that finds no pass in flight runs at once on its caller's thread. Steps arriving
/// while a pass runs wait (suspended, holding no thread); when the pass ends, the first of them
/// leads the next pass and takes every waiting step along, one per session, up to the cap. No
/// step is ever delayed to wait for company. Each session keeps its own encoder memory, and
/// the agent steps several memories as one batch of actors with the same per-actor results.
final class ActBatcher: @unchecked Sendable {
    // @unchecked: the mutable state is guarded by `lock`.
    /// Turns of a waiting step: lead the next pass, or the outcome a pass computed for it.
    private enum Turn { case lead, done(Result<ActOutcome, Error>) }
    private struct Waiting {
        let request: ActRequest
        let continuation: CheckedContinuation<Turn, Never>
    }

    private let lock = NSLock()
    private var busy = false
    private var held = false
    private var queue: [Waiting] = []
    private var counts = ActBatchStatistics()

    /// Counts of the passes run so far.
    var statistics: ActBatchStatistics {
        lock.withLock {
            var s = counts
            s.waiting = queue.count
            return s
        }
    }

    /// Holds passes (steps queue up) or lets them run again, the first pass then taking every
    /// waiting step along.
    func hold(_ hold: Bool) {
        let next: Waiting? = lock.withLock {
            held = hold
            guard !hold, !busy, !queue.isEmpty else { return nil }
            busy = true
            return queue.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
    }

    /// Runs one step, batched with the steps of other sessions waiting at the same time.
    /// - Parameter maxBatch: the most session steps one pass may answer (1: no batching).
    func step(_ request: ActRequest, maxBatch: Int) async throws -> ActOutcome {
        if lock.withLock({ claim() }) { return try lead(request, maxBatch: maxBatch).get() }
        let turn: Turn = await withCheckedContinuation { continuation in
            let leads: Bool = lock.withLock {
                if claim() { return true }
                queue.append(Waiting(request: request, continuation: continuation))
                return false
            }
            if leads { continuation.resume(returning: .lead) }  // the pass ended meanwhile
        }
        switch turn {
        case .done(let outcome): return try outcome.get()
        case .lead: return try lead(request, maxBatch: maxBatch).get()
        }
    }

    /// Takes the pass when none runs; call with `lock` held.
    private func claim() -> Bool {
        if busy || held { return false }
        busy = true
        return true
    }

    /// Runs `mine` with the waiting steps of other sessions, answers them, and hands the next
    /// pass to the first step still waiting.
    private func lead(_ mine: ActRequest, maxBatch: Int) -> Result<ActOutcome, Error> {
        var taken: [Waiting] = []
        lock.withLock {
            var sessions: Set<ObjectIdentifier> = [ObjectIdentifier(mine.context)]
            var kept: [Waiting] = []
            for waiting in queue {
                // A session's second step needs its first step's memory: it waits for the next pass.
                if 1 + taken.count < maxBatch, sessions.insert(ObjectIdentifier(waiting.request.context)).inserted {
                    taken.append(waiting)
                } else {
                    kept.append(waiting)
                }
            }
            queue = kept
        }
        let outcomes = Self.run([mine] + taken.map(\.request))
        let next: Waiting? = lock.withLock {
            counts.passes += 1
            counts.steps += outcomes.count
            counts.largestBatch = max(counts.largestBatch, outcomes.count)
            if queue.isEmpty || held {
                busy = false
                return nil
            }
            return queue.removeFirst()
        }
        // The next pass starts before the answers go out, so it overlaps with their writing.
        next?.continuation.resume(returning: .lead)
        for (waiting, outcome) in zip(taken, outcomes.dropFirst()) { waiting.continuation.resume(returning: .done(outcome)) }
        return outcomes[0]
    }

    /// One forward pass for steps of distinct sessions of one policy (two when they differ in
    /// `sample`); the outcomes are in the order of `batch`.
    static func run(_ batch: [ActRequest]) -> [Result<ActOutcome, Error>] {
        guard let policy = batch.first?.context.policy else { return [] }
        var outcomes = [Result<ActOutcome, Error>](repeating: .failure(ServiceError.malformedBody("the policy returned no action")),
                                                    count: batch.count)
        policy.lock.withLock {
            for sample in [false, true] {
                let group = batch.indices.filter { batch[$0].sample == sample }
                if group.isEmpty { continue }
                do {
                    var observations: [[Float]] = [], rl2: [[Float]] = [], times: [Int] = [], memories: [EncoderMemory] = []
                    for i in group {
                        let r = batch[i]
                        let input = try r.context.begin(reward: r.reward, reset: r.reset)
                        observations.append(r.observation)
                        rl2.append(input.rl2)
                        times.append(input.time)
                        memories.append(r.context.memory)
                    }
                    let actions = try policy.agent.act(observations: observations, rl2: rl2, times: times,
                                                       memories: memories, sample: sample)
                    for (i, action) in zip(group, actions) {
                        let context = batch[i].context
                        context.finish(action)
                        outcomes[i] = .success(ActOutcome(action: action, contextLength: context.contextLength))
                    }
                } catch {
                    for i in group { outcomes[i] = .failure(error) }
                }
            }
        }
        return outcomes
    }
}
