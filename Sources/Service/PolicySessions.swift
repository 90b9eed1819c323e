import AMAGO
import Environments
import Foundation
import HTTPCore
import Storage

/// The `/act` sessions of a server: loaded policies and each session's rollout context.
///
/// The database's session records are the source of truth for which sessions are open; this
/// object keeps the in-memory contexts (key/value caches) of those records and drops them when
/// the records expire or are evicted. Expiry runs lazily: on every call that opens or describes
/// a session, and on `/act` at most every `sweepInterval`. Steps are counted in memory and
/// written to the records together, at most every `flushInterval` and before every sweep or
/// description, so a busy session costs the database nothing per step. Thread-safe: the maps
/// are guarded by a lock, and each policy's `ActBatcher` runs its forward passes one at a time,
/// answering the steps of several sessions in one pass when they arrive together.
public final class PolicySessions: @unchecked Sendable {
    /// The database holding session and checkpoint records.
    public let store: Store
    /// The data folder checkpoint paths are relative to.
    public let dataDirectory: URL
    /// The API host whose memory holds these sessions' contexts (recorded with each session;
    /// empty when one host owns the database).
    public let host: String
    /// Seconds a session may stay unused before it expires.
    public let idleTimeout: TimeInterval
    /// How many sessions may be open at once; the least recently used beyond it are evicted.
    public let capacity: Int
    /// How many loaded policies are kept when no session uses them.
    let spareCapacity = 4
    /// The most session steps one forward pass answers: past this, a pass costs about as much
    /// per step as two smaller ones, and only delays its first answers.
    public static let maxBatchSize = 64

    private let lock = NSLock()
    private var policies: [String: LoadedPolicy] = [:]
    private var contexts: [String: PolicyContext] = [:]
    private var batchingEnabled = true
    private var lastSweep = Date.distantPast
    // Steps not yet written to the session records, by session: written together at most every
    // `flushInterval`, and always before anything reads the records (sweeps, descriptions).
    private var unrecorded: [String: (steps: Int, lastUsed: Date)] = [:]
    private var lastFlush = Date.distantPast

    /// Seconds between writes of the sessions' step counts and last-use times.
    static let flushInterval: TimeInterval = 0.25

    /// Seconds between expiry sweeps on the `/act` path: a tenth of the idle timeout, at most
    /// one second (so a step usually touches no database at all).
    public var sweepInterval: TimeInterval { min(1, idleTimeout / 10) }

    /// Whether concurrent steps of one policy share forward passes (on by default); off, every
    /// step runs its own pass, one after another.
    public var batching: Bool {
        get { lock.withLock { batchingEnabled } }
        set { lock.withLock { batchingEnabled = newValue } }
    }

    /// What one `/act` call chose.
    public struct Step: Sendable {
        /// The action chosen, in the environment's units; nil when the step ended the trial.
        public var action: Action?
        /// The session it belongs to.
        public var session: String
        /// The experiment and checkpoint whose policy chose it.
        public var experimentID: String, checkpointID: String
        /// Tokens of context the policy saw, this step included.
        public var contextLength: Int
    }

    /// Creates the session table.
    /// - Parameters:
    ///   - idleTimeout: seconds of disuse after which a session expires (default 15 minutes).
    ///   - capacity: the most sessions open at once on this host (default 1024).
    ///   - host: names this API host in the session records (when hosts share the database).
    public init(store: Store, dataDirectory: URL, idleTimeout: TimeInterval = 15 * 60, capacity: Int = 1024,
                host: String = "") {
        self.store = store
        self.dataDirectory = dataDirectory
        self.host = host
        self.idleTimeout = idleTimeout
        self.capacity = max(capacity, 1)
    }

    /// Opens a session on a checkpoint (`latest` when nil, `best`, or an id) of an experiment.
    public func open(experimentID: String, checkpoint: String?) throws -> ActSession {
        try sweep()
        let experiment = try store.experiment(id: experimentID)
        let record = try resolve(checkpoint, of: experiment)
        let policy = try policy(experiment: experiment, checkpoint: record)
        let session = try store.createSession(experimentID: experiment.id, checkpointID: record.id, host: host)
        let context = try PolicyContext(id: session.id, policy: policy)
        lock.withLock { contexts[session.id] = context }
        try sweep()  // the new session is the most recent, so the cap evicts older ones
        return session
    }

    /// One step of a session: creates a session when `session` is nil.
    /// - Parameters:
    ///   - experimentID: must match the session's experiment when both are given.
    ///   - checkpoint: used when creating a session; must match an existing session's when given.
    /// - Parameters:
    ///   - ends: the step reports that the trial ended (terminated or truncated): no action is
    ///     chosen, and the session's next step starts a new trial.
    public func act(experimentID: String, checkpoint: String?, session: String?, observation: [Float],
                    reward: Float, reset: Bool, ends: Bool = false, sample: Bool) async throws -> Step {
        let now = Date()
        if lock.withLock({ now.timeIntervalSince(lastSweep) >= sweepInterval }) { try sweep() }
        let context: PolicyContext
        if let session {
            // A context in memory belongs to a session open at its last step; one that ended since
            // is caught by the write that records this step.
            context = try lock.withLock({ contexts[session] }) ?? existingContext(id: session)
            guard context.policy.experimentID == experimentID else {
                _ = try store.experiment(id: experimentID)  // an unknown experiment is still a 404
                throw ServiceError.conflict("session '\(session)' belongs to experiment '\(context.policy.experimentID)'")
            }
            if let checkpoint, !["latest", "best", context.policy.checkpointID].contains(checkpoint) {
                throw ServiceError.conflict("session '\(session)' runs checkpoint '\(context.policy.checkpointID)', not '\(checkpoint)'")
            }
        } else {
            let opened = try open(experimentID: experimentID, checkpoint: checkpoint)
            guard let created = lock.withLock({ contexts[opened.id] }) else {
                throw ServiceError.sessionEnded(id: opened.id, reason: "evicted")  // by a concurrent opening
            }
            context = created
        }
        let policy = context.policy
        let input = try policy.agentObservation(observation)
        var outcome: ActOutcome?
        if ends {
            policy.lock.withLock { context.endTrial() }
        } else {
            let request = ActRequest(context: context, observation: input, reward: reward, reset: reset, sample: sample)
            outcome = try await policy.batcher.step(request, maxBatch: batching ? Self.maxBatchSize : 1)
        }
        try countStep(of: context)
        return Step(action: outcome.map { policy.environmentAction($0.action) }, session: context.id, experimentID: policy.experimentID,
                    checkpointID: policy.checkpointID, contextLength: outcome?.contextLength ?? 0)
    }

    /// Counts one step of a session, writing the counts when a write is due; throws 410 when
    /// the session ended while the step ran.
    func countStep(of context: PolicyContext) throws {
        let done = Date()
        let (isOpen, flushDue): (Bool, Bool) = lock.withLock {
            // Expiry, eviction and closing drop the context: one gone while this step ran ended.
            guard contexts[context.id] != nil else { return (false, false) }
            let pending = unrecorded[context.id]
            unrecorded[context.id] = ((pending?.steps ?? 0) + 1, done)
            return (true, done.timeIntervalSince(lastFlush) >= Self.flushInterval)
        }
        guard isOpen else {
            let reason = (try? store.session(id: context.id))?.endReason ?? "ended"
            throw ServiceError.sessionEnded(id: context.id, reason: reason)
        }
        if flushDue { try recordUse() }
    }

    /// One step of a batch (`POST /act/batch` without collection).
    public struct BatchStep: Sendable {
        public var session: String?
        public var observation: [Float]
        public var reward: Float
        public var reset: Bool
        /// The step reports that the trial ended: no action, the next step starts a new trial.
        public var ends: Bool
        public init(session: String?, observation: [Float], reward: Float, reset: Bool, ends: Bool) {
            (self.session, self.observation, self.reward, self.reset, self.ends) = (session, observation, reward, reset, ends)
        }
    }

    /// Steps several sessions at once: every element is checked first (nothing is recorded or
    /// opened when one is bad; errors name `steps[i].field`), sessions are opened for elements
    /// without one, and each round of distinct sessions of one policy is one forward pass. A
    /// session appearing twice has its steps applied in order.
    public func actBatch(experimentID: String, checkpoint: String?, steps: [BatchStep], sample: Bool) throws -> [Step] {
        try sweep()
        let experiment = try store.experiment(id: experimentID)
        var chosen: [PolicyContext?] = []
        var inputs: [[Float]] = []
        var fresh: (record: CheckpointRecord, policy: LoadedPolicy)?
        for (i, step) in steps.enumerated() {
            let field = "steps[\(i)]"
            if let id = step.session {
                let context: PolicyContext
                do {
                    context = try lock.withLock({ contexts[id] }) ?? existingContext(id: id)
                } catch StorageError.notFound {
                    throw HTTPError(.notFound, code: "session_not_found", message: "\(field).session: no session '\(id)'", field: "\(field).session")
                } catch let ServiceError.sessionEnded(_, reason) {
                    throw HTTPError(HTTPStatus(410, reasonPhrase: "Gone"), code: "session_ended",
                                    message: "\(field).session: session '\(id)' has ended (\(reason)); start a new one", field: "\(field).session")
                }
                guard context.policy.experimentID == experimentID else {
                    throw HTTPError(.conflict, code: "conflict", message: "session '\(id)' belongs to experiment '\(context.policy.experimentID)'",
                                    field: "\(field).session")
                }
                if let checkpoint, !["latest", "best", context.policy.checkpointID].contains(checkpoint) {
                    throw HTTPError(.conflict, code: "conflict", message: "session '\(id)' runs checkpoint '\(context.policy.checkpointID)', not '\(checkpoint)'",
                                    field: "\(field).session")
                }
                inputs.append(try Self.observation(step.observation, for: context.policy, field: field))
                chosen.append(context)
            } else {
                if fresh == nil {
                    let record = try resolve(checkpoint, of: experiment)
                    fresh = (record, try policy(experiment: experiment, checkpoint: record))
                }
                inputs.append(try Self.observation(step.observation, for: fresh!.policy, field: field))
                chosen.append(nil)
            }
        }
        if let fresh {
            for i in steps.indices where chosen[i] == nil {
                let session = try store.createSession(experimentID: experiment.id, checkpointID: fresh.record.id, host: host)
                let context = try PolicyContext(id: session.id, policy: fresh.policy)
                lock.withLock { contexts[session.id] = context }
                chosen[i] = context
            }
            try sweep()
        }
        let contextsInOrder = chosen.map { $0! }
        var outcomes = [ActOutcome?](repeating: nil, count: steps.count)
        var remaining = Array(steps.indices)
        while !remaining.isEmpty {
            // Each session's steps in order up to the first that needs an action; a step that
            // ends a trial needs none, so the reset after it joins the same pass.
            var acted: Set<ObjectIdentifier> = [], later: [Int] = []
            var byPolicy: [ObjectIdentifier: [Int]] = [:]
            for i in remaining {
                let context = contextsInOrder[i]
                if acted.contains(ObjectIdentifier(context)) { later.append(i); continue }
                if steps[i].ends && !steps[i].reset {
                    context.policy.lock.withLock { context.endTrial() }
                } else {
                    byPolicy[ObjectIdentifier(context.policy), default: []].append(i)
                    acted.insert(ObjectIdentifier(context))
                }
            }
            remaining = later
            for group in byPolicy.values {
                let requests = group.map { i in
                    ActRequest(context: contextsInOrder[i], observation: inputs[i], reward: steps[i].reward, reset: steps[i].reset, sample: sample)
                }
                for (i, result) in zip(group, ActBatcher.run(requests)) { outcomes[i] = try result.get() }
            }
        }
        var answers: [Step] = []
        for (i, context) in contextsInOrder.enumerated() {
            try countStep(of: context)
            let policy = context.policy
            answers.append(Step(action: outcomes[i].map { policy.environmentAction($0.action) }, session: context.id,
                                experimentID: policy.experimentID, checkpointID: policy.checkpointID,
                                contextLength: outcomes[i]?.contextLength ?? 0))
        }
        return answers
    }

    static func observation(_ values: [Float], for policy: LoadedPolicy, field: String) throws -> [Float] {
        do {
            return try policy.agentObservation(values)
        } catch ServiceError.invalidField(_, let expected) {
            throw ServiceError.invalidField(field: "\(field).observation", expected: expected)
        }
    }

    /// Writes the steps taken since the last write to the session records, in one transaction.
    func recordUse() throws {
        let touches = lock.withLock { () -> [(id: String, steps: Int, lastUsed: Date)] in
            lastFlush = Date()
            defer { unrecorded.removeAll(keepingCapacity: true) }
            return unrecorded.map { ($0.key, $0.value.steps, $0.value.lastUsed) }
        }
        try store.touchSessions(touches)
    }

    /// The session's record and its context length; throws 404 or 410 like `act`.
    public func describe(id: String) throws -> (record: ActSession, contextLength: Int) {
        try sweep()
        let record = try store.session(id: id)
        let context = lock.withLock { contexts[id] }
        let length = context.map { c in c.policy.lock.withLock { c.contextLength } } ?? 0
        return (record, length)
    }

    /// Ends a session and frees its context; throws `notFound` for an unknown id.
    public func close(id: String) throws {
        try store.deleteSession(id: id)
        lock.withLock {
            _ = contexts.removeValue(forKey: id)
            _ = unrecorded.removeValue(forKey: id)
        }
    }

    /// Forgets the contexts and loaded policies of a deleted experiment (its records are gone).
    public func forget(experimentID: String) {
        lock.withLock {
            contexts = contexts.filter { $0.value.policy.experimentID != experimentID }
            policies = policies.filter { $0.value.experimentID != experimentID }
        }
    }

    /// How many sessions have a context in memory.
    public var openCount: Int { lock.withLock { contexts.count } }

    /// Holds (true) or lets run (false) the forward passes of the loaded policies. Held, steps
    /// wait in their policy's queue; let run, the next pass answers every waiting session at
    /// once. For lining up a known batch in tests and measurements.
    public func holdPasses(_ hold: Bool) {
        for policy in lock.withLock({ Array(policies.values) }) { policy.batcher.hold(hold) }
    }

    /// How the forward passes of the loaded policies were shared out, summed over policies.
    public var batchStatistics: ActBatchStatistics {
        lock.withLock { policies.values.map(\.batcher.statistics) }.reduce(into: ActBatchStatistics()) { total, s in
            total.passes += s.passes
            total.steps += s.steps
            total.largestBatch = max(total.largestBatch, s.largestBatch)
            total.waiting += s.waiting
        }
    }

    /// Ends idle sessions and those beyond the cap in the database, and drops their contexts.
    func sweep() throws {
        try recordUse()  // expiry and eviction go by the records' last use
        lock.withLock { lastSweep = Date() }
        _ = try store.expireIdleSessions(idleFor: idleTimeout, host: host) + store.evictSessions(beyond: capacity, host: host)
        // Drop every context whose record is no longer open, however it ended. Only contexts
        // known before the read: one made since belongs to a record the read may not have seen.
        let known = lock.withLock { Array(contexts.keys) }
        let open = Set(try store.openSessions(host: host).map(\.id))
        lock.withLock {
            for id in known where !open.contains(id) {
                contexts.removeValue(forKey: id)
                unrecorded.removeValue(forKey: id)
            }
        }
    }

    /// The in-memory context of an open session; 404 if unknown, 410 if it ended.
    func existingContext(id: String) throws -> PolicyContext {
        let record = try store.session(id: id)
        guard record.isOpen else { throw ServiceError.sessionEnded(id: id, reason: record.endReason ?? "ended") }
        guard record.host == host else { throw ServiceError.sessionOnAnotherHost(id: id, host: record.host) }
        guard let context = lock.withLock({ contexts[id] }) else {
            // An open record without a context outlived a restart: it cannot continue.
            throw ServiceError.sessionEnded(id: id, reason: "its context was lost in a restart")
        }
        return context
    }

    /// `latest` (or nil), `best`, or a checkpoint id of this experiment.
    func resolve(_ name: String?, of experiment: ExperimentRecord) throws -> CheckpointRecord {
        let name = name ?? "latest"
        switch name {
        case "latest", "best":
            let latest = try store.latestCheckpoint(experimentID: experiment.id)
            guard let latest else { throw ServiceError.noCheckpoint(experimentID: experiment.id) }
            return name == "best" ? (try store.bestCheckpoint(experimentID: experiment.id) ?? latest) : latest
        default:
            guard let found = try? store.checkpoint(id: name), found.experimentID == experiment.id else {
                throw StorageError.notFound(kind: "checkpoint", id: name)
            }
            return found
        }
    }

    /// The loaded policy of a checkpoint, loading it on first use.
    func policy(experiment: ExperimentRecord, checkpoint: CheckpointRecord) throws -> LoadedPolicy {
        let key = "\(experiment.id)/\(checkpoint.id)"
        if let cached = lock.withLock({ policies[key] }) { return cached }
        let loaded = try LoadedPolicy.load(experiment: experiment, checkpoint: checkpoint, store: store, dataDirectory: dataDirectory)
        return lock.withLock {
            if let raced = policies[key] { return raced }
            let inUse = Set(contexts.values.map { "\($0.policy.experimentID)/\($0.policy.checkpointID)" })
            let spare = policies.keys.filter { !inUse.contains($0) }
            if spare.count >= spareCapacity { for k in spare { policies.removeValue(forKey: k) } }
            policies[key] = loaded
            return loaded
        }
    }
}
