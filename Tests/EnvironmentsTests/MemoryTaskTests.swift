import Environments
import Foundation
import Testing

@Suite struct MemoryTaskTests {
    /// Runs one episode with `policy` and returns its total reward and length.
    func episode(_ env: any Environment, seed: UInt64, policy: () -> Int) throws -> (total: Double, length: Int) {
        _ = env.reset(seed: seed)
        var total = 0.0, length = 0
        while true {
            let r = try env.step(.discrete(policy()))
            total += r.reward
            length += 1
            if r.isDone { return (total, length) }
        }
    }

    @Test func repeatFirst_perfectWrongAndConstantPolicies() throws {
        let env = try RepeatFirst(.preset(.easy))
        let perfect = try episode(env, seed: 1) { env.target }
        #expect(abs(perfect.total - 1) < 1e-9 && perfect.length == 51)
        let wrong = try episode(env, seed: 2) { (env.target + 1) % 4 }
        #expect(abs(wrong.total + 1) < 1e-9)
        // A memory-free constant answer is right a quarter of the time: expected return −0.5.
        let constant = try (0..<200).map { try episode(env, seed: UInt64($0)) { 0 }.total }
        #expect(abs(constant.reduce(0, +) / 200 + 0.5) < 0.1)
        #expect(throws: EnvironmentError.trialOver(environment: env.name)) { try env.step(.discrete(0)) }
    }

    @Test func repeatPrevious_perfectWrongAndConstantPolicies() throws {
        let env = try RepeatPrevious(.preset(.easy))
        var rewarded = 0
        _ = env.reset(seed: 3)
        var total = 0.0
        while true {
            let hadTarget = env.target != nil
            let r = try env.step(.discrete(env.target ?? 0))
            if hadTarget { rewarded += 1 } else { #expect(r.reward == 0) }
            total += r.reward
            if r.isDone { break }
        }
        #expect(abs(total - 1) < 1e-9 && rewarded == 52 - 4)
        let wrong = try episode(env, seed: 4) { ((env.target ?? 0) + 1) % 4 }
        #expect(abs(wrong.total + 1) < 1e-9)
        let constant = try (0..<200).map { try episode(env, seed: UInt64($0)) { 2 }.total }
        #expect(abs(constant.reduce(0, +) / 200 + 0.5) < 0.1)
        // The target is the card dealt k steps before: replay a known deck.
        let cards = (0..<52).map { Card(suit: $0 % 4, rank: $0 / 4) }
        _ = env.reset(cards: cards)
        for _ in 0..<3 { _ = try env.step(.discrete(0)) }
        #expect(env.target == cards[0].suit)
        _ = try env.step(.discrete(0))
        #expect(env.target == cards[1].suit)
    }

    @Test func countRecall_perfectWrongAndConstantPolicies() throws {
        for level in MemoryDifficulty.allCases {
            let env = try CountRecall(.preset(level))
            guard case .discrete(let actions) = env.actionSpace else { Issue.record("discrete expected"); return }
            let perfect = try episode(env, seed: 5) { env.target }
            #expect(abs(perfect.total - 1) < 1e-9, "\(level)")
            let wrong = try episode(env, seed: 6) { (env.target + 1) % actions }
            #expect(abs(wrong.total + 1) < 1e-9, "\(level)")
            let constant = try episode(env, seed: 7) { 1 }
            #expect(constant.total < 0, "\(level)")
        }
        // Known sequence: counts of the query's colour among the dealt cards so far.
        let env = try CountRecall(.preset(.easy))
        let red = Card(suit: 0, rank: 0), black = Card(suit: 2, rank: 0)
        _ = env.reset(dealt: [red, red, black, red], queries: [red, black, red, black])
        #expect(env.target == 1)
        _ = try env.step(.discrete(1))
        #expect(env.target == 0)
        let obs = try env.step(.discrete(0)).observation
        #expect(obs == [0, 1, 1, 0] && env.target == 2)
    }

    @Test func cartPole_eulerStepMatchesHandComputation() throws {
        // Classic equations evaluated by hand (float64) for state (0.1, 0.2, 0.05, −0.3), force −10.
        let s = StatelessCartPole.integrate(.init(x: 0.1, xDot: 0.2, theta: 0.05, thetaDot: -0.3), force: -10)
        #expect(abs(s.x - 0.10400000000000001) < 1e-12)
        #expect(abs(s.xDot - 0.004202345356037418) < 1e-12)
        #expect(abs(s.theta - 0.044000000000000004) < 1e-12)
        #expect(abs(s.thetaDot - 0.008023313606151494) < 1e-12)
        let env = try StatelessCartPole(.init(maxSteps: 200))
        #expect(env.reset(state: .init(x: 0.1, xDot: 0.2, theta: 0.05, thetaDot: -0.3)) == [0.1, 0.05])
        let r = try env.step(.discrete(0))
        #expect(r.observation == [Float(0.10400000000000001), Float(0.044000000000000004)] && abs(r.reward - 0.005) < 1e-12)
    }

    @Test func cartPole_failureCostsOneAndSurvivalSumsToOne() throws {
        let env = try StatelessCartPole(.init(maxSteps: 50))
        _ = env.reset(seed: 1)
        var total = 0.0
        var last = StepResult(observation: [], reward: 0, isTerminated: false, isTruncated: false)
        repeat { last = try env.step(.discrete(1)); total += last.reward } while !last.isDone
        #expect(last.reward == -1 && last.info.success == false && env.stepIndex < 50)
        // A full-information balancing controller survives the whole horizon: return 1.
        _ = env.reset(seed: 2)
        total = 0
        repeat {
            let s = env.state
            last = try env.step(.discrete(s.theta + 0.5 * s.thetaDot + 0.01 * s.x + 0.1 * s.xDot > 0 ? 1 : 0))
            total += last.reward
        } while !last.isDone
        #expect(abs(total - 1) < 1e-9 && last.isTerminated && last.isTruncated && last.info.success == true)
    }

    @Test func pointRobot_rewardGoalAndAttempts() throws {
        let env = try PointRobot(.init(attempts: 3, steps: 25))
        _ = env.reset(goal: (0.8, 0))
        #expect(abs(env.reward(at: (0, 0)) + 0.8) < 1e-12)
        #expect(abs(env.reward(at: (0.75, 0)) - (1 - 0.05)) < 1e-9)
        var returns: [Double] = []
        for step in 0..<75 {
            let r = try env.step(.continuous([1, 0]))
            if let attemptReturn = r.info.metrics["Attempt \(returns.count) Return"] { returns.append(attemptReturn) }
            #expect(r.isTerminated == (step == 74))
            if step == 0 { #expect(abs(r.reward + 0.7) < 1e-6 && r.observation == [0.1, 0, 0.04]) }
            if step == 24 { #expect(r.observation == [0, 0, 0]) }
        }
        #expect(returns.count == 3 && abs(returns[0] - returns[2]) < 1e-9)
        #expect(throws: EnvironmentError.self) { try env.step(.continuous([0, 0])) }
        #expect(throws: EnvironmentError.self) { try PointRobot().step(.continuous([1.5, 0])) }
        // The goal stays for a trial's attempts and is drawn again for the next trial.
        _ = env.reset(seed: 9)
        let goal = env.goal
        for _ in 0..<30 { _ = try env.step(.continuous([0.3, -0.2])) }
        #expect(env.goal == goal && env.attempt == 1)
        #expect(abs((goal.x * goal.x + goal.y * goal.y).squareRoot() - 0.8) < 1e-9)
        _ = env.reset()
        #expect(env.goal != goal)
    }
}
