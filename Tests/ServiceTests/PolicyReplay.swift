import AMAGO
import Environments
import Foundation

/// One `/act` input: what the client sent.
struct ActInput { var observation: [Float]; var reward: Double; var reset: Bool }

/// A T-Maze driven by a remote policy, and the same inputs replayed through an agent loaded
/// in-process from a checkpoint file.
enum PolicyReplay {
    /// What a client sent and got back over a run of steps.
    struct Drive {
        var inputs: [ActInput] = [], actions: [Int] = [], contextLengths: [Int] = []
    }

    /// Steps `env` for `steps` steps with the actions `act` returns, resetting at the end of
    /// each episode; `act` gets the input and returns the action and the context length.
    static func drive(_ env: any Environment, seed: UInt64, steps: Int,
                      act: (ActInput) async throws -> (action: Int, contextLength: Int)) async throws -> Drive {
        var drive = Drive()
        var input = ActInput(observation: env.reset(seed: seed), reward: 0, reset: true)
        for _ in 0..<steps {
            let (action, length) = try await act(input)
            drive.inputs.append(input)
            drive.actions.append(action)
            drive.contextLengths.append(length)
            let result = try env.step(.discrete(action))
            input = result.isDone ? ActInput(observation: env.reset(seed: nil), reward: 0, reset: true)
                                  : ActInput(observation: result.observation, reward: result.reward, reset: false)
        }
        return drive
    }

    /// The greedy actions of an agent built from `spec` with the weights of `checkpointFile`
    /// (loaded by `Checkpoint.loadWeights`) for the inputs of `drive`, where the previous
    /// action fed back (the rl2 input) is the one the client took.
    static func greedyActions(spec: ExperimentSpec, checkpointFile: URL, env: any Environment, drive: Drive) throws -> [Action] {
        guard case .discrete(let count) = env.actionSpace else { return [] }
        let agent = try Agent(observationWidth: env.observationSize, actionSpace: env.actionSpace,
                              configuration: spec.agentConfiguration(), seed: 12_345)
        try Checkpoint.loadWeights(into: agent, from: checkpointFile)
        let memory = try agent.makeMemory(actors: 1)
        var time = 0, previous = [Float](repeating: 0, count: count), chosen: [Action] = []
        for (step, taken) in zip(drive.inputs, drive.actions) {
            let rl2: [Float]
            if step.reset {
                try memory.reset(where: [true])
                time = 0
                rl2 = [Float](repeating: 0, count: 1 + count)
            } else {
                time += 1
                rl2 = [Float(step.reward)] + previous
            }
            chosen += try agent.act(observations: [step.observation], rl2: [rl2], times: [time], memory: memory, sample: false)
            previous = env.actionSpace.encode(.discrete(taken))
        }
        return chosen
    }
}
