import Environments
import Foundation
import Testing

/// Spec §9 checklist items 39–41 (MetaFrozenLake, RoomKeyDoor, T-Maze).
@Suite struct ChecklistTests {
    let layout = ["SFFF", "FHFF", "HFFF", "FFFG"]

    @Test func metaFrozenLake_pathToGoalGivesRewardAndSoftReset() throws {
        let env = try MetaFrozenLake(.init(size: 4, kEpisodes: 10))
        _ = env.reset(map: try LakeMap(rows: layout))
        var last = StepResult(observation: [], reward: 0, isTerminated: false, isTruncated: false)
        for a in [3, 3, 1, 1, 1] { last = try env.step(.discrete(a)); #expect(last.reward == 0 && last.info.metrics.isEmpty) }
        last = try env.step(.discrete(3))
        #expect(last.reward == 1 && last.observation == [0, 0, 1, 0])
        #expect(last.info.metrics == ["Episode 0 Success": 1] && !last.isTerminated && !last.isTruncated)
        // Second success shows the lagging progress 1/10.
        for a in [3, 3, 1, 1, 1] { _ = try env.step(.discrete(a)) }
        last = try env.step(.discrete(3))
        #expect(last.observation == [0, 0, 1, 0.1] && last.info.metrics == ["Episode 1 Success": 1])
    }

    @Test func metaFrozenLake_timeoutAfterSizeSquaredAndTerminatesAfterKAttempts() throws {
        let env = try MetaFrozenLake(.init(size: 4, kEpisodes: 10))
        _ = env.reset(map: try LakeMap(rows: layout))
        var boundaries: [Int] = []
        var total = 0.0
        for t in 1...160 {
            let r = try env.step(.discrete(0))
            total += r.reward
            if !r.info.metrics.isEmpty {
                boundaries.append(t)
                #expect(r.info.metrics["Episode \(boundaries.count - 1) Success"] == 0)
            }
            #expect(r.isTerminated == (t == 160) && !r.isTruncated)
        }
        #expect(boundaries == Array(stride(from: 16, through: 160, by: 16)) && total == 0)
        #expect(throws: EnvironmentError.self) { try env.step(.discrete(0)) }
    }

    @Test func metaFrozenLake_hardModeSwapsActionsAboutHalfTheTime() throws {
        let env = try MetaFrozenLake(.init(size: 4, kEpisodes: 1, hardMode: true), seed: 5)
        let swaps = (0..<400).filter { _ in _ = env.reset(); return env.actionsSwapped }.count
        #expect((160...240).contains(swaps))
        #expect(env.maxEpisodeSteps == 32)
    }

    @Test func metaFrozenLake_generatedMapsAlwaysHaveAPath() throws {
        var rng = SeededGenerator(seed: 3)
        var holes = 0
        for size in [3, 4, 5, 8] {
            for _ in 0..<100 {
                let map = LakeMap.random(size: size, using: &rng)
                #expect(map.hasPath && map[0, 0] == .start && map[size - 1, size - 1] == .goal)
                holes += map.rows.joined().filter { $0 == "H" }.count
            }
        }
        #expect(holes > 0)
        #expect(try !LakeMap(rows: ["SFF", "HHH", "FFG"]).hasPath)
        #expect(try LakeMap(rows: ["SHF", "FHF", "FFG"]).hasPath)
        #expect(throws: EnvironmentError.self) { try LakeMap(rows: ["SF", "FX"]) }
    }

    @Test func roomKeyDoor_scriptedPolicyAndExactTrialLength() throws {
        let env = try RoomKeyDoor(.init(size: 8, startLocation: GridCell(0, 0), keyLocation: GridCell(0, 3), goalLocation: GridCell(2, 3)))
        #expect(env.reset() == [0, 0, 0, 0])
        let script = [2, 2, 2, 3, 3, 4]   // key after 3 steps, door after 5, then one ignored step
        var rewards: [Double] = []
        var steps = 0
        var last = StepResult(observation: [], reward: 0, isTerminated: false, isTruncated: false)
        while !last.isDone {
            last = try env.step(.discrete(script[steps % script.count]))
            rewards.append(last.reward)
            steps += 1
            if steps == 6 { #expect(last.observation == [0, 0, 0, 0] && env.position == GridCell(0, 0)) }
        }
        #expect(Array(rewards.prefix(6)) == [0, 0, 1, 0, 1, 0])
        #expect(steps == 500 && last.isTerminated && last.isTruncated)
        #expect(rewards.reduce(0, +) == Double(2 * (500 / 6)))  // 83 full loops; the last 2 steps fall short of the key
        #expect(throws: EnvironmentError.trialOver(environment: env.name)) { try env.step(.discrete(4)) }
    }

    /// Runs one T-Maze episode and returns rewards and observations.
    func play(_ env: TMaze, goalY: Int, actions: [Int]) throws -> (rewards: [Double], observations: [[Float]], last: StepResult) {
        var observations = [env.reset(goalY: goalY)]
        var rewards: [Double] = []
        var last = StepResult(observation: [], reward: 0, isTerminated: false, isTruncated: false)
        for a in actions {
            last = try env.step(.discrete(a))
            rewards.append(last.reward)
            observations.append(last.observation)
        }
        return (rewards, observations, last)
    }

    @Test func tmaze_scriptedOptimalPolicyReturnsOneOnBothSides() throws {
        for variant in TMaze.Variant.allCases {
            let env = try TMaze(.init(variant: variant, corridorLength: 10, penalty: -0.1))
            let lead = variant == .passive ? [] : [2]
            let walk = [Int](repeating: 0, count: variant == .passive ? 10 : 11)
            for goal in [-1, 1] {
                let turn = goal == 1 ? 1 : 3
                let run = try play(env, goalY: goal, actions: lead + walk + [turn])
                #expect(abs(run.rewards.reduce(0, +) - 1) < 1e-12, "\(variant) \(goal)")
                #expect(run.last.isTerminated && run.last.isTruncated && run.last.info.success == true)
                let wrong = try play(env, goalY: goal, actions: lead + walk + [4 - turn])
                #expect(wrong.rewards.reduce(0, +) == 0 && wrong.last.info.success == false)
                // Observation table: goal shown once at the oracle, blank corridor, [1, y] from the junction.
                let shown = variant == .passive ? 0 : 1
                #expect(run.observations[shown] == [0, Float(goal)])
                #expect(run.observations[shown + 1 ..< run.observations.count - 2].allSatisfy { $0 == [0, 0] })
                #expect(run.observations[run.observations.count - 2] == [1, 0] && run.observations.last == [1, Float(goal)])
            }
        }
    }

    @Test func tmaze_nonRightActionsCostPenaltyAndWasteMakesSuccessImpossible() throws {
        let env = try TMaze(.init(variant: .passive, corridorLength: 4, penalty: -0.25))
        let run = try play(env, goalY: 1, actions: [0, 2, 1, 3, 0])
        #expect(run.rewards == [0, -0.25, -0.25, -0.25, 0] && run.last.isDone)
        #expect(env.episodeLength == 5 && run.last.info.success == false)
        let active = try TMaze(.init(variant: .active, corridorLength: 4, penalty: -0.25))
        // The first left step (to the oracle) is free; later ones cost the penalty.
        let activeRun = try play(active, goalY: -1, actions: [2, 2, 0, 0, 0, 0, 3])
        #expect(activeRun.rewards == [0, -0.25, 0, 0, 0, 0, 0])
        #expect(activeRun.last.isDone && activeRun.last.info.success == false)
    }
}
