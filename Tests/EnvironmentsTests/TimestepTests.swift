import Environments
import Foundation
import Testing
import TestSupport

/// A scripted environment: 3 actions, reward 0.5 per step, done after `length` steps.
final class ScriptedEnvironment: Environment {
    let length: Int
    var t = 0
    var resets = 0
    init(length: Int) { self.length = length }
    var name: String { "scripted" }
    var observationSize: Int { 1 }
    var actionSpace: ActionSpace { .discrete(count: 3) }
    func reset(seed: UInt64?) -> [Float] {
        t = 0
        resets += 1
        return [Float(100 * resets)]
    }
    func step(_ action: Action) throws -> StepResult {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.invalidAction(environment: name, expected: actionSpace, got: action)
        }
        t += 1
        return StepResult(observation: [Float(100 * resets + t)], reward: 0.5, isTerminated: t >= length, isTruncated: false)
    }
}

@Suite struct TimestepTests {
    @Test func timestep_rl2MatchesChecklistExample() throws {
        let wrapper = TimestepWrapper(ScriptedEnvironment(length: 2))
        let first = wrapper.reset()
        #expect(first.rl2 == [0, 0, 0, 0] && first.timeIndex == 0)
        let one = try wrapper.step(.discrete(2))
        #expect(one.next.rl2 == [0.5, 0, 0, 1] && one.next.timeIndex == 1 && !one.next.isTerminal)
        let two = try wrapper.step(.discrete(0))
        #expect(two.timestep.rl2 == [0.5, 1, 0, 0] && two.timestep.timeIndex == 2 && two.timestep.isTerminal)
        #expect(two.next.rl2 == [0, 0, 0, 0] && two.next.timeIndex == 0 && !two.next.isTerminal)
        #expect(two.next.observation == two.timestep.observation)
        #expect(throws: EnvironmentError.self) { try wrapper.step(.discrete(3)) }
    }

    @Test func timestep_amagoEnvTraceMatchesFixture() throws {
        let section = try loadFixture("envs.json").object("amago_env")
        let rows = section.object("hidden_task")["layout_rows_indexed_by_x"] as? [String] ?? []
        let lake = try MetaFrozenLake(.init(size: 4, kEpisodes: 2))
        let wrapper = TimestepWrapper(lake)
        _ = wrapper.reset()
        let first = wrapper.reset(firstObservation: lake.reset(map: try LakeMap(rows: rows)))
        let reset = section.object("reset_timestep")
        #expect(isClose(first.observation, reset.object("obs").doubles("observation")))
        #expect(isClose(first.rl2, reset.doubles("as_input_rl2")) && first.timeIndex == reset.ints("time_idx")[0])
        let steps = section.objects("steps")
        #expect(steps.count == 9)
        for (i, step) in steps.enumerated() {
            let t = try wrapper.step(.discrete(step.int("action")))
            let expected = step.object("amago_env_timestep")
            #expect(isClose(t.timestep.observation, expected.object("obs").doubles("observation")), "step \(i)")
            #expect(isClose(t.timestep.previousAction, expected.doubles("prev_action")), "step \(i)")
            #expect(isClose(t.timestep.rl2, expected.doubles("as_input_rl2")), "step \(i)")
            #expect(t.timestep.timeIndex == expected.ints("time_idx")[0], "step \(i)")
            #expect(t.timestep.isTerminal == expected.bools("terminal")[0], "step \(i)")
            let returns = step.object("step_returns")
            #expect(t.result.isTruncated == returns.bools("truncated")[0])
            #expect(t.result.info.metrics == fixtureMetrics(returns.object("info")), "step \(i)")
            #expect(wrapper.stepCount == step.ints("amago_env_step_count_after")[0], "step \(i)")
            let next = step.object("sequence_wrapper_current_timestep")
            #expect(isClose(t.next.observation, next.object("obs").doubles("observation")), "step \(i)")
            #expect(isClose(t.next.rl2, next.doubles("rl2")) && t.next.timeIndex == next.ints("time_idx")[0], "step \(i)")
        }
    }

    @Test func vector_autoResetReportsTerminalStepThenNewTrial() throws {
        var scripted: [ScriptedEnvironment] = []
        let vector = try VectorEnvironment(count: 2) { i in
            let env = ScriptedEnvironment(length: i + 2)
            scripted.append(env)
            return env
        }
        let starts = vector.reset(seed: 7)
        #expect(starts.map(\.observation) == [[100], [100]])
        _ = try vector.step([.discrete(0), .discrete(1)])
        let second = try vector.step([.discrete(1), .discrete(1)])
        // Slot 0 (length 2) finished: terminal data first, then the new trial's start.
        #expect(second[0].result.isTerminated && second[0].timestep.observation == [102] && second[0].timestep.isTerminal)
        #expect(second[0].trialReturn == 1.0 && second[0].trialLength == 2)
        #expect(second[0].next.observation == [200] && second[0].next.timeIndex == 0 && second[0].next.rl2 == [0, 0, 0, 0])
        #expect(second[1].next.observation == [102] && second[1].next.timeIndex == 2 && second[1].trialReturn == nil)
        let third = try vector.step([.discrete(2), .discrete(2)])
        #expect(third[0].next.timeIndex == 1 && third[1].trialLength == 3 && third[1].next.observation == [200])
        #expect(scripted.map(\.resets) == [2, 2])
        #expect(throws: EnvironmentError.actionCountMismatch(expected: 2, got: 1)) { try vector.step([.discrete(0)]) }
    }

    @Test func vector_parallelEqualsSequential() throws {
        func run(parallel: Bool) throws -> [[Float]] {
            let vector = try VectorEnvironment(count: 4, parallel: parallel) { _ in try MetaFrozenLake(.init(size: 4, kEpisodes: 2)) }
            _ = vector.reset(seed: 11)
            var seen: [[Float]] = []
            for t in 0..<60 {
                let steps = try vector.step((0..<4).map { .discrete((t + $0) % 5) })
                seen += steps.map { $0.next.observation + $0.next.rl2 }
            }
            return seen
        }
        #expect(try run(parallel: true) == run(parallel: false))
    }
}
