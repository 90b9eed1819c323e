import AMAGO
import Autograd
import Environments
import Foundation
import Testing
import TestSupport

/// Spec §6.5 and checklist item 33: ε schedules against the reference's tables, and the noise itself.
@Suite struct ExplorationTests {
    let fixture: Fixture

    init() throws { fixture = try Fixture("exploration") }

    func table(_ name: String, _ schedule: ExplorationSchedule) throws -> (expected: [Float], got: [Float]) {
        func ints(_ key: String) throws -> [Int] {
            (try fixture.value([key]) as? [Any] ?? []).compactMap { ($0 as? Int) ?? ($0 as? Double).map { Int($0) } }
        }
        let global = try ints("global_steps"), local = try ints("local_steps")
        let exploration = Exploration(schedule: schedule, actors: 1, using: RandomGenerator(seed: 0))
        let got = global.flatMap { n in
            local.map { t in
                exploration.stepCounts[0] = n
                return exploration.epsilon(actor: 0, timeIndex: t)
            }
        }
        #expect(got.count == 72)
        return (try fixture.floats(["cases", name, "eps"]), got)
    }

    @Test func epsilon_matchesReferenceTables() throws {
        let bilevel = try table("bilevel_defaults_horizon100", .bilevel(rolloutHorizon: 100, randomize: false))
        #expect(isClose(bilevel.got, bilevel.expected, relative: 1e-6, absolute: 1e-6))
        let greedy = try table("egreedy_defaults_and_example00", .epsilonGreedy(randomize: false))
        #expect(isClose(greedy.got, greedy.expected, relative: 1e-6, absolute: 1e-6))
    }

    @Test func epsilon_checklistValues() throws {
        let greedy = ExplorationSchedule.epsilonGreedy(randomize: false)
        #expect(abs(greedy.baseEpsilon(steps: 500_000, timeIndex: 7) - 0.525) < 1e-6)
        #expect(greedy.baseEpsilon(steps: 1_000_000, timeIndex: 0) == 0.05)
        #expect(greedy.baseEpsilon(steps: 5_000_000, timeIndex: 300) == 0.05)
        let bilevel = ExplorationSchedule.bilevel(rolloutHorizon: 500, randomize: false)
        #expect(abs(bilevel.baseEpsilon(steps: 0, timeIndex: 250) - 0.9) < 1e-6)
        #expect(bilevel.baseEpsilon(steps: 0, timeIndex: 1000) < 0.8)   // not clamped past the horizon
        #expect(ExplorationSchedule.none.baseEpsilon(steps: 0, timeIndex: 0) == 0)
        let data = try JSONEncoder().encode(bilevel)
        #expect(try JSONDecoder().decode(ExplorationSchedule.self, from: data) == bilevel)
    }

    @Test func discrete_randomActionRateMatchesEpsilon() throws {
        let exploration = Exploration(schedule: .epsilonGreedy(start: 0.3, end: 0.3, randomize: false), actors: 2,
                                      using: RandomGenerator(seed: 9))
        var counts = [Int](repeating: 0, count: 4)
        let rounds = 20_000
        for _ in 0..<rounds {
            let out = exploration.apply([.discrete(0), .discrete(0)], timeIndices: [0, 0], actionSpace: .discrete(count: 4))
            for case let .discrete(i) in out { counts[i] += 1 }
        }
        #expect(exploration.stepCounts == [rounds, rounds])
        // A random replacement may pick the same action: P(changed) = ε·3/4, each other action ε/4.
        let total = Double(2 * rounds), sigma = (0.225 * 0.775 / total).squareRoot()
        #expect(abs(Double(total - Double(counts[0])) / total - 0.225) < 4 * sigma)
        #expect(counts[1...].allSatisfy { abs(Double($0) / total - 0.075) < 0.01 })
    }

    @Test func continuous_noiseIsScaledAndClipped() throws {
        let exploration = Exploration(schedule: .epsilonGreedy(start: 1, end: 1, randomize: false), actors: 1,
                                      using: RandomGenerator(seed: 4))
        var sum: Float = 0, clippedHigh = 0, clippedLow = 0
        for _ in 0..<5000 {
            let out = exploration.apply([.continuous([0.9, -0.95, 0])], timeIndices: [0], actionSpace: .continuous(dimension: 3))
            guard case let .continuous(v)? = out.first else { Issue.record("not continuous"); return }
            #expect(v.allSatisfy { abs($0) <= 1 })
            if v[0] == 1 { clippedHigh += 1 }
            if v[1] == -1 { clippedLow += 1 }
            sum += v[2]
        }
        #expect(clippedHigh > 2000 && clippedLow > 2000 && abs(sum / 5000) < 0.05)
        let quiet = Exploration(schedule: .none, actors: 1, using: RandomGenerator(seed: 4))
        #expect(quiet.apply([.continuous([0.5])], timeIndices: [3], actionSpace: .continuous(dimension: 1)) == [.continuous([0.5])])
        #expect(quiet.apply([.discrete(2)], timeIndices: [3], actionSpace: .discrete(count: 3)) == [.discrete(2)])
    }

    @Test func multipliers_redrawnPerTrialOnlyWhenRandomized() throws {
        let exploration = Exploration(schedule: .epsilonGreedy(), actors: 3, using: RandomGenerator(seed: 21))
        let before = exploration.multipliers
        #expect(before.allSatisfy { (0..<1).contains($0) } && Set(before).count == 3)
        exploration.trialEnded(actor: 1)
        #expect(exploration.multipliers[0] == before[0] && exploration.multipliers[2] == before[2])
        #expect(exploration.multipliers[1] != before[1])
        #expect(exploration.epsilon(actor: 1, timeIndex: 0) == exploration.multipliers[1])
        let fixed = Exploration(schedule: .bilevel(rolloutHorizon: 10, randomize: false), actors: 2, using: RandomGenerator(seed: 1))
        fixed.trialEnded(actor: 0)
        #expect(fixed.multipliers == [1, 1] && abs(fixed.epsilon(actor: 0, timeIndex: 5) - 0.9) < 1e-6)
    }
}

@Suite struct CorridorExplorationTests {
    /// Quiet inside the corridor, annealed ε-greedy at the start and at the junction.
    @Test func corridor_isQuietInsideAndAnnealedOutside() {
        let schedule = ExplorationSchedule.corridor(horizon: 51, start: 1, end: 0.01, annealSteps: 1000, randomize: false)
        #expect(schedule.baseEpsilon(steps: 0, timeIndex: 0) == 1)
        #expect(Swift.abs(schedule.baseEpsilon(steps: 0, timeIndex: 1) - 0.5 / 51) < 1e-7)
        #expect(Swift.abs(schedule.baseEpsilon(steps: 0, timeIndex: 47) - 0.5 / 51) < 1e-7)
        #expect(schedule.baseEpsilon(steps: 0, timeIndex: 48) == 1)
        #expect(Swift.abs(schedule.baseEpsilon(steps: 500, timeIndex: 50) - 0.505) < 1e-6)
        #expect(Swift.abs(schedule.baseEpsilon(steps: 5000, timeIndex: 50) - 0.01) < 1e-7)
        #expect(!schedule.randomizesMultiplier)
    }
}
