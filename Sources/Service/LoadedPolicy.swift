import AMAGO
import Environments
import Foundation
import Storage

/// One checkpoint's agent, ready to act; shared by every session on that checkpoint.
///
/// An agent is not safe to drive from two threads at once (it switches to evaluation mode and
/// owns a random generator), so every `act` on it holds `lock`; `batcher` runs the steps of
/// its sessions, several in one pass when they arrive together.
final class LoadedPolicy {
    /// The experiment the checkpoint belongs to.
    let experimentID: String
    /// The checkpoint whose weights the agent holds.
    let checkpointID: String
    /// The agent; `act` runs it in evaluation mode.
    let agent: Agent
    /// The environment's observation width; the agent reads a prefix of it (relabeled mazes).
    let environmentObservationWidth: Int
    /// Serializes use of `agent`.
    let lock = NSLock()
    /// Shares forward passes among the steps of this policy's sessions.
    let batcher = ActBatcher()
    /// An external environment's action space: answers are rescaled to its units.
    let externalActions: ExternalActionSpace?

    init(experimentID: String, checkpointID: String, agent: Agent, environmentObservationWidth: Int,
         externalActions: ExternalActionSpace? = nil) {
        self.experimentID = experimentID
        self.checkpointID = checkpointID
        self.agent = agent
        self.environmentObservationWidth = environmentObservationWidth
        self.externalActions = externalActions
    }

    /// A policy action in the environment's units (continuous external actions rescaled).
    func environmentAction(_ action: Action) -> Action { externalActions?.rescale(action) ?? action }

    /// Builds the experiment's agent as the trainer does and loads the checkpoint's weights.
    static func load(experiment: ExperimentRecord, checkpoint: CheckpointRecord, store: Store,
                     dataDirectory: URL) throws -> LoadedPolicy {
        let spec = try ExperimentSpec(json: Data(experiment.spec.utf8))
        let probe = try EnvironmentRegistry.make(name: spec.environment, parameters: spec.environmentParameters, seed: spec.seed)
        var width = probe.observationSize
        if spec.relabeling != "none", let maze = probe as? MazeRunner, let strategy = RelabelStrategy(rawValue: spec.relabeling) {
            width = MazeRunnerRelabeler(goals: maze.parameters.numGoals, strategy: strategy,
                                        mazeDim: maze.parameters.mazeDim).observationWidth(stored: probe.observationSize)
        }
        let agent = try Agent(observationWidth: width, actionSpace: probe.actionSpace,
                              configuration: spec.agentConfiguration(), seed: spec.seed)
        let url = try CheckpointFiles.localFile(of: checkpoint, store: store, dataDirectory: dataDirectory)
        try Checkpoint.loadWeights(into: agent, from: url)
        try agent.freezeForInference()  // a served policy never trains
        return LoadedPolicy(experimentID: experiment.id, checkpointID: checkpoint.id, agent: agent,
                            environmentObservationWidth: probe.observationSize,
                            externalActions: (probe as? ExternalEnvironment)?.parameters.actionSpace)
    }

    /// The observation the agent reads: the agent's width, or the environment's (then a prefix).
    func agentObservation(_ observation: [Float]) throws -> [Float] {
        let w = agent.observationWidth
        if observation.count == w { return observation }
        if observation.count == environmentObservationWidth { return Array(observation.prefix(w)) }
        throw ServiceError.invalidField(field: "observation", expected: "an array of \(w) numbers (got \(observation.count))")
    }
}

/// The server-side context of one `/act` session: its rollout memory and the rl2 inputs of
/// its next step.
final class PolicyContext {
    /// The session id.
    let id: String
    /// The policy it runs.
    let policy: LoadedPolicy
    /// The encoder's memory for one actor (the Transformer's key/value cache).
    let memory: EncoderMemory
    /// The previous action as the rl2 vector: one-hot for discrete, the values for continuous.
    var previousAction: [Float]
    /// Steps since the current trial began; -1 before the first step.
    var time = -1

    init(id: String, policy: LoadedPolicy) throws {
        self.id = id
        self.policy = policy
        memory = try policy.agent.makeMemory(actors: 1)
        previousAction = [Float](repeating: 0, count: policy.agent.actionSpace.width)
    }

    /// Tokens of context the next action will see (the current trial so far).
    var contextLength: Int {
        if time < 0 { return 0 }
        if let lengths = memory.transformer?.lengths, let first = lengths.first { return first }
        return time + 1
    }

    /// Readies the next step: a reset (or the first step) starts a new trial with empty
    /// memory, time 0 and zero previous action and reward; otherwise rl2 is the reward and the
    /// previous action. Call with `policy.lock` held, then `finish` with the action chosen.
    func begin(reward: Float, reset: Bool) throws -> (rl2: [Float], time: Int) {
        let width = policy.agent.actionSpace.width
        if reset || time < 0 {
            try memory.reset(where: [true])
            time = 0
            return ([Float](repeating: 0, count: 1 + width), 0)
        }
        time += 1
        return ([reward] + previousAction, time)
    }

    /// The trial ended: the next step starts a new one.
    func endTrial() { time = -1 }

    /// Remembers the action chosen as the next step's previous action.
    func finish(_ action: Action) {
        previousAction = policy.agent.actionSpace.encode(action)
    }
}
