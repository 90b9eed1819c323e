import Autograd
import Environments
import Foundation

/// One step a client reports for an external environment (`POST /act` with `collect`, or an
/// element of `/act/batch`): the observation, and what followed the previous action.
public struct ExternalStep: Sendable {
    /// The session; nil opens a new one, whose observation begins a trial.
    public var session: String?
    /// The observation (`observation_size` numbers).
    public var observation: [Float]
    /// The reward that followed the previous action.
    public var reward: Float
    /// The previous action ended the episode: terminated (no bootstrapping) or truncated.
    public var terminated: Bool, truncated: Bool
    /// The observation begins a new trial (the client reset its environment).
    public var reset: Bool
    /// Whether the episode succeeded, on its last step.
    public var success: Bool?

    public init(session: String?, observation: [Float], reward: Float = 0, terminated: Bool = false, truncated: Bool = false,
                reset: Bool = false, success: Bool? = nil) {
        (self.session, self.observation, self.reward) = (session, observation, reward)
        (self.terminated, self.truncated, self.reset, self.success) = (terminated, truncated, reset, success)
    }
}

/// The answer to one `ExternalStep`.
public struct ExternalStepResult: Sendable {
    /// The action to execute, in the environment's units; nil when the step ended an episode.
    public var action: Action?
    public var session: String
    /// Tokens of context the policy saw (0 when it did not act).
    public var contextLength: Int
    /// The step ended an episode; `trialOver`: and with it the trial (the next step must reset).
    public var episodeOver: Bool, trialOver: Bool
}

/// Why a batch of external steps was refused; nothing of it was recorded.
public enum ExternalStepError: Error, Equatable, CustomStringConvertible {
    /// Element `index` has an observation of the wrong width.
    case observationWidth(index: Int, expected: Int, got: Int)
    /// Element `index` names a session this collection never opened.
    case unknownSession(index: Int, id: String)
    /// Element `index` names a session that ended (expired, evicted, or from an earlier run).
    case sessionEnded(index: Int, id: String, reason: String)
    /// Element `index` continues a trial that is over: it must reset.
    case trialOver(index: Int, id: String)
    /// Element `index` names a session of the other mode (collection vs evaluation).
    case wrongMode(index: Int, id: String, mode: String)
    /// The collection no longer takes steps (the run ended or stopped).
    case closed
    /// Collection is refused: the experiment trains offline only.
    case offline

    public var description: String {
        switch self {
        case let .observationWidth(_, expected, got): return "an array of \(expected) numbers (got \(got))"
        case let .unknownSession(_, id): return "no session '\(id)'"
        case let .sessionEnded(_, id, reason): return "session '\(id)' has ended (\(reason)); start a new one"
        case let .trialOver(_, id): return "the trial of session '\(id)' is over: send its next observation with \"reset\": true"
        case let .wrongMode(_, id, mode): return "session '\(id)' is a \(mode) session"
        case .closed: return "the experiment is no longer collecting: its run has ended (it is finishing, stopping or stopped)"
        case .offline: return "the experiment trains offline (timesteps_per_epoch 0): upload episodes instead of collecting"
        }
    }
}

/// Collection and evaluation over HTTP for an experiment on an external environment.
///
/// Clients step their own environments with actions from the *collecting policy*, a copy of the
/// learner's agent refreshed after every epoch (so its lag is at most one epoch). Each session
/// keeps its rollout memory and its unfinished trajectory here; finished trials (and pieces of
/// `pieceLength` transitions of very long ones) are written to the replay buffer at once, so a
/// crash loses only unfinished trials. Evaluation sessions act greedily and store nothing;
/// their trial returns become `val/…` metrics. Thread-safe: every call holds one lock, and one
/// batch of steps costs one forward pass (more only when a session appears several times).
public final class ExternalCollection: @unchecked Sendable {
    /// Collection (training data, exploration) or greedy evaluation.
    public enum Mode: String, Sendable { case collect, eval }

    /// What a session is waiting for.
    enum Phase {
        /// The outcome of the action it was given.
        case acting
        /// The first observation of the trial's next episode (meta-RL soft reset).
        case betweenEpisodes(reward: Float)
        /// A reset: its trial is over.
        case trialOver
    }

    final class Session {
        let id: String
        let mode: Mode
        let memory: EncoderMemory
        let exploration: Exploration?
        var trajectory: [Timestep] = []
        var phase = Phase.trialOver
        var previousAction: [Float]
        var time = 0, episodes = 0, trialReturn = 0.0
        var lastUsed = Date()
        init(id: String, mode: Mode, memory: EncoderMemory, exploration: Exploration?, actionWidth: Int) {
            (self.id, self.mode, self.memory, self.exploration) = (id, mode, memory, exploration)
            previousAction = [Float](repeating: 0, count: actionWidth)
        }
    }

    public let parameters: ExternalEnvironment.Parameters
    /// Collected env steps per epoch (`timesteps_per_epoch × parallel_actors`); 0 trains offline.
    public let quota: Int
    /// Transitions after which an unfinished trajectory is written as a piece.
    public let pieceLength: Int
    /// Seconds a session may stay unused before it expires (its unfinished trial is lost).
    public let idleTimeout: TimeInterval
    /// The most sessions open at once; the least recently used is dropped beyond it.
    public let capacity: Int
    let agent: Agent
    let buffer: ReplayBuffer
    let schedule: ExplorationSchedule
    let parallelActors: Int
    let rng: RandomGenerator
    /// Distinguishes this run's session ids from those of earlier runs.
    let runToken: String
    private let condition = NSCondition()
    private var sessions: [String: Session] = [:]
    private var opened = 0
    private var isClosed = false
    private var collected = 0, epochCollected = 0, learnerEpoch = 0
    /// Trial returns and successes since they were last taken, by mode.
    private var outcomes: [Mode: RolloutStatistics] = [:]
    private var recent: [(time: Date, steps: Int)] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Held while an upload writes its files and while the trainer reads the buffer's file list,
    /// so that an epoch sees an upload whole or not at all.
    private let uploadGate = NSLock()
    /// Trajectories finished by the step under way, written once the lock is released.
    private var finished: [TrajectorySlice] = []

    /// Prefixes of the session ids of collection and evaluation sessions.
    public static let sessionPrefixes = ["col-", "eval-"]

    /// A collection over `buffer` whose policy is a copy of `learnerAgent` (refresh it with
    /// `refresh(from:)` before the first step).
    init(spec: ExperimentSpec, parameters: ExternalEnvironment.Parameters, learnerAgent: Agent, buffer: ReplayBuffer,
         collectedSteps: Int, idleTimeout: TimeInterval, capacity: Int = 4096) throws {
        self.parameters = parameters
        quota = spec.schedule.timestepsPerEpoch * spec.schedule.parallelActors
        pieceLength = max(1000, spec.schedule.maxSequenceLength)
        self.idleTimeout = idleTimeout
        self.capacity = max(capacity, 1)
        agent = try Agent(observationWidth: learnerAgent.observationWidth, actionSpace: learnerAgent.actionSpace,
                          configuration: spec.agentConfiguration(), seed: spec.seed &+ 0xC011EC7)
        self.buffer = buffer
        schedule = spec.explorationSchedule()
        parallelActors = spec.schedule.parallelActors
        rng = RandomGenerator(seed: spec.seed &+ 0xE8A1)
        runToken = String(format: "%06x", UInt32.random(in: 0..<(1 << 24)))
        collected = collectedSteps
    }

    // MARK: - The trainer's side

    /// Copies the learner's weights into the collecting policy; `environmentSteps` restores the
    /// count of a resumed run.
    func refresh(from learner: Agent, epoch: Int, environmentSteps: Int? = nil) throws {
        condition.lock()
        defer { condition.unlock() }
        if let environmentSteps { collected = environmentSteps }
        try agent.copyWeights(from: learner)
        learnerEpoch = epoch
    }

    /// Waits until `ready` holds (checked at every collected step and upload, and at least four
    /// times a second); polls `shouldStop` and calls `waiting` about once a second meanwhile.
    /// Returns false when stopped.
    func wait(until ready: () throws -> Bool, shouldStop: () -> Bool, waiting: () -> Void) rethrows -> Bool {
        var lastReport = Date.distantPast
        while true {
            if shouldStop() { return false }
            if try ready() { return true }
            condition.lock()
            _ = condition.wait(until: Date().addingTimeInterval(0.25))
            condition.unlock()
            if Date().timeIntervalSince(lastReport) >= 1 {
                lastReport = Date()
                waiting()
            }
        }
    }

    /// Runs `body` (a refresh of the buffer's file list) while no upload is being written.
    func excludingUploads<T>(_ body: () throws -> T) rethrows -> T { try uploadGate.withLock(body) }

    /// Whether the epoch's quota of steps has been collected.
    var quotaReached: Bool { condition.lock(); defer { condition.unlock() }; return epochCollected >= quota }

    /// Adds uploaded episodes to the replay buffer at once (the learner samples them from its
    /// next epoch on) and wakes a trainer waiting for data.
    public func upload(_ episodes: [TrajectorySlice]) throws {
        try uploadGate.withLock { for e in episodes { try buffer.add(e, environmentName: "external") } }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Starts the next epoch's count (steps beyond the quota count toward it) and returns the
    /// trial outcomes reported since the last call, as metric values.
    func takeEpoch() -> [String: Double] {
        condition.lock()
        epochCollected = max(0, epochCollected - quota)
        let taken = outcomes
        outcomes = [:]
        let resumed = waiters
        waiters = []
        condition.unlock()
        for w in resumed { w.resume() }
        var values = (taken[.collect] ?? RolloutStatistics()).points(prefix: "train")
        if let evaluated = taken[.eval] { values.merge(evaluated.points(prefix: "val")) { $1 } }
        return values
    }

    /// Ends collection: further steps are refused and waiting clients are answered.
    public func close() {
        condition.lock()
        isClosed = true
        sessions.removeAll()
        let resumed = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        for w in resumed { w.resume() }
    }

    // MARK: - The clients' side

    /// What the collection is doing, for progress reports and `/metrics`.
    public struct Status: Sendable {
        public var sessions: Int, environmentSteps: Int, stepsPerSecond: Double, epochSteps: Int, epochQuota: Int, epoch: Int
        public init(sessions: Int, environmentSteps: Int, stepsPerSecond: Double, epochSteps: Int, epochQuota: Int, epoch: Int) {
            (self.sessions, self.environmentSteps, self.stepsPerSecond) = (sessions, environmentSteps, stepsPerSecond)
            (self.epochSteps, self.epochQuota, self.epoch) = (epochSteps, epochQuota, epoch)
        }
    }

    /// The live counters.
    public var status: Status {
        condition.lock()
        defer { condition.unlock() }
        sweepLocked(now: Date())
        let live = sessions.values.filter { $0.mode == .collect }.count
        return Status(sessions: live, environmentSteps: collected, stepsPerSecond: rateLocked(now: Date()),
                      epochSteps: epochCollected, epochQuota: quota, epoch: learnerEpoch)
    }

    /// Collected env steps so far.
    public var environmentSteps: Int { condition.lock(); defer { condition.unlock() }; return collected }

    /// Suspends a collecting client while two epochs' worth of steps wait for the learner, so
    /// that neither memory nor the ratio of data to updates runs away.
    public func awaitCapacity() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            if isClosed || quota == 0 || epochCollected < 2 * quota {
                condition.unlock()
                c.resume()
            } else {
                waiters.append(c)
                condition.unlock()
            }
        }
    }

    /// Applies a batch of steps in order and answers each; a session may appear several times
    /// (its steps apply one after another). Every element is checked before anything is
    /// recorded: on an error, nothing of the batch took effect.
    /// The trajectories a batch finished are written to the buffer after the lock is released
    /// (each write syncs a file), but before the batch is answered: an acknowledged trial is stored.
    public func step(_ steps: [ExternalStep], mode: Mode, sample: Bool = false) throws -> (results: [ExternalStepResult], epoch: Int, environmentSteps: Int) {
        condition.lock()
        let answer: (results: [ExternalStepResult], epoch: Int, environmentSteps: Int)
        let written: [TrajectorySlice]
        do {
            answer = try stepLocked(steps, mode: mode, sample: sample)
            written = finished
            finished = []
        } catch {
            finished = []
            condition.unlock()
            throw error
        }
        condition.unlock()
        for trajectory in written { try buffer.add(trajectory, environmentName: "external") }
        return answer
    }

    private func stepLocked(_ steps: [ExternalStep], mode: Mode, sample: Bool) throws -> (results: [ExternalStepResult], epoch: Int, environmentSteps: Int) {
        if isClosed { throw ExternalStepError.closed }
        if mode == .collect && quota == 0 { throw ExternalStepError.offline }
        let now = Date()
        sweepLocked(now: now)
        try checkLocked(steps, mode: mode)
        // Sessions are created here, after every check passed.
        var ids: [String] = []
        for step in steps {
            if let id = step.session { ids.append(id); continue }
            opened += 1
            let id = "\(mode == .collect ? "col" : "eval")-\(runToken)-\(opened)"
            let exploration = mode == .collect ? Exploration(schedule: schedule, actors: 1, using: rng) : nil
            sessions[id] = Session(id: id, mode: mode, memory: try agent.makeMemory(actors: 1), exploration: exploration,
                                   actionWidth: agent.actionSpace.width)
            ids.append(id)
        }
        var results = [ExternalStepResult?](repeating: nil, count: steps.count)
        var remaining = Array(steps.indices)
        var stepsBefore = collected
        while !remaining.isEmpty {
            // One round: each session's pending steps in order up to the first that needs an
            // action (a step that ends an episode needs none, so the reset after it joins the
            // same forward pass); the rest wait for the next round.
            var acted: Set<String> = [], later: [Int] = []
            var acting: [(index: Int, session: Session, input: Timestep)] = []
            for i in remaining {
                if acted.contains(ids[i]) { later.append(i); continue }
                let session = sessions[ids[i]]!
                session.lastUsed = now
                switch try advance(session, with: steps[i], opening: steps[i].session == nil) {
                case .act(let input):
                    acting.append((i, session, input))
                    acted.insert(ids[i])
                case .over(let trial):
                    results[i] = ExternalStepResult(action: nil, session: session.id, contextLength: 0, episodeOver: true, trialOver: trial)
                }
            }
            remaining = later
            guard !acting.isEmpty else { continue }
            let chosen = try agent.act(observations: acting.map(\.input.observation), rl2: acting.map(\.input.rl2),
                                       times: acting.map(\.input.timeIndex), memories: acting.map(\.session.memory),
                                       sample: mode == .collect ? true : sample)
            for (entry, policyAction) in zip(acting, chosen) {
                var executed = policyAction
                if let exploration = entry.session.exploration {
                    exploration.stepCounts[0] = collected / max(parallelActors, 1)
                    executed = exploration.apply([policyAction], timeIndices: [entry.input.timeIndex], actionSpace: agent.actionSpace)[0]
                }
                entry.session.previousAction = agent.actionSpace.encode(executed)
                entry.session.phase = .acting
                let context = entry.session.memory.transformer?.lengths.first ?? (entry.input.timeIndex + 1)
                results[entry.index] = ExternalStepResult(action: parameters.actionSpace.rescale(executed), session: entry.session.id,
                                                          contextLength: context, episodeOver: false, trialOver: false)
            }
        }
        if collected > stepsBefore {
            recent.append((now, collected - stepsBefore))
            stepsBefore = collected
            condition.broadcast()
        }
        return (results.map { $0! }, learnerEpoch, collected)
    }

    /// Rejects the batch if any element is malformed or does not fit its session's state,
    /// following each session's state through the batch in order.
    private func checkLocked(_ steps: [ExternalStep], mode: Mode) throws {
        enum Expect { case outcome, nextEpisode, reset }
        var states: [String: (expect: Expect, episodes: Int)] = [:]
        for (i, step) in steps.enumerated() {
            guard step.observation.count == parameters.observationSize else {
                throw ExternalStepError.observationWidth(index: i, expected: parameters.observationSize, got: step.observation.count)
            }
            guard let id = step.session else { continue }
            var state: (expect: Expect, episodes: Int)
            if let known = states[id] { state = known } else {
                guard let session = sessions[id] else {
                    if Self.sessionPrefixes.contains(where: id.hasPrefix) {
                        throw ExternalStepError.sessionEnded(index: i, id: id, reason: "it expired, or its run ended or restarted")
                    }
                    throw ExternalStepError.unknownSession(index: i, id: id)
                }
                guard session.mode == mode else { throw ExternalStepError.wrongMode(index: i, id: id, mode: session.mode.rawValue) }
                switch session.phase {
                case .acting: state = (.outcome, session.episodes)
                case .betweenEpisodes: state = (.nextEpisode, session.episodes)
                case .trialOver: state = (.reset, session.episodes)
                }
            }
            if step.reset {
                state = (.outcome, 0)
            } else {
                switch state.expect {
                case .reset: throw ExternalStepError.trialOver(index: i, id: id)
                case .nextEpisode: state.expect = .outcome
                case .outcome:
                    if step.terminated || step.truncated {
                        state = state.episodes + 1 >= parameters.episodesPerTrial ? (.reset, 0) : (.nextEpisode, state.episodes + 1)
                    }
                }
            }
            states[id] = state
        }
    }

    private enum Advance { case act(Timestep), over(trial: Bool) }

    /// Moves a session's trial forward by one reported step; returns the input the policy acts
    /// on, or that the step ended an episode (and whether the trial).
    private func advance(_ s: Session, with step: ExternalStep, opening: Bool) throws -> Advance {
        let width = agent.actionSpace.width
        if opening || step.reset {
            storeUnfinished(s)
            try s.memory.reset(where: [true])
            s.exploration?.trialEnded(actor: 0)
            (s.time, s.episodes, s.trialReturn) = (0, 0, 0)
            let first = Timestep(observation: step.observation, previousAction: [Float](repeating: 0, count: width),
                                 reward: 0, timeIndex: 0, isTerminal: false)
            s.trajectory = [first]
            return .act(first)
        }
        switch s.phase {
        case .trialOver:
            throw ExternalStepError.trialOver(index: 0, id: s.id)  // excluded by the check
        case .betweenEpisodes(let reward):
            // The new episode's first observation replaces the last one's end, as a soft reset.
            s.time += 1
            let next = Timestep(observation: step.observation, previousAction: s.previousAction, reward: reward,
                                timeIndex: s.time, isTerminal: false)
            s.trajectory.append(next)
            storePieceIfLong(s)
            return .act(next)
        case .acting:
            if s.mode == .collect { collected += 1; epochCollected += 1 }
            s.trialReturn += Double(step.reward)
            let done = step.terminated || step.truncated
            if done && s.episodes + 1 < parameters.episodesPerTrial {
                s.episodes += 1
                s.phase = .betweenEpisodes(reward: step.reward)
                return .over(trial: false)
            }
            s.time += 1
            let next = Timestep(observation: step.observation, previousAction: s.previousAction, reward: step.reward,
                                timeIndex: s.time, isTerminal: step.terminated)
            s.trajectory.append(next)
            guard done else {
                storePieceIfLong(s)
                return .act(next)
            }
            outcomes[s.mode, default: RolloutStatistics()].addTrial(return: s.trialReturn, success: step.success)
            if s.mode == .collect { finished.append(ActorGroup.slice(s.trajectory)) }
            s.trajectory = []
            s.phase = .trialOver
            return .over(trial: true)
        }
    }

    /// A trial cut short by a reset is stored as far as it went (no terminal flag).
    private func storeUnfinished(_ s: Session) {
        if s.mode == .collect, s.trajectory.count > 1 { finished.append(ActorGroup.slice(s.trajectory)) }
        s.trajectory = []
    }

    /// Writes a long trial's transitions so far as one piece; the next piece starts from its
    /// last timestep, so no transition is lost.
    private func storePieceIfLong(_ s: Session) {
        guard s.trajectory.count > pieceLength else { return }
        if s.mode == .collect { finished.append(ActorGroup.slice(s.trajectory)) }
        s.trajectory = [s.trajectory[s.trajectory.count - 1]]
    }

    /// Drops sessions idle longer than the timeout, and the least recently used beyond the cap.
    private func sweepLocked(now: Date) {
        for (id, s) in sessions where now.timeIntervalSince(s.lastUsed) > idleTimeout { sessions.removeValue(forKey: id) }
        if sessions.count > capacity {
            for s in sessions.values.sorted(by: { $0.lastUsed < $1.lastUsed }).prefix(sessions.count - capacity) {
                sessions.removeValue(forKey: s.id)
            }
        }
    }

    /// Collected env steps per second over the last ten seconds.
    private func rateLocked(now: Date) -> Double {
        recent.removeAll { now.timeIntervalSince($0.time) > 10 }
        guard let first = recent.first else { return 0 }
        let span = max(now.timeIntervalSince(first.time), 1)
        return Double(recent.reduce(0) { $0 + $1.steps }) / span
    }
}
