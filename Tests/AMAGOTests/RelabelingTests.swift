import AMAGO
import Autograd
import Environments
import Foundation
import Testing

/// Spec §7 and checklist item 38: hindsight relabeling of MazeRunner trajectories.
@Suite struct RelabelingTests {
    static let n: Float = 7
    let marker: Float = Float(Double(-1) / 7)

    func scaled(_ cell: (Int, Int)) -> [Float] { [Float(Double(cell.0) / 7), Float(Double(cell.1) / 7)] }

    /// A k = 2 trajectory through `path` (observation t at cell `path[t]`) toward `goals`, with
    /// rewards, markers and dones as MazeRunner would produce them.
    func handBuilt(path: [(Int, Int)], goals: [(Int, Int)]) -> TrajectorySlice {
        var active = 0
        var observations: [[Float]] = [], rewards: [Float] = [], dones: [Bool] = []
        for (t, cell) in path.enumerated() {
            let hit = t > 0 && active < goals.count && cell == goals[active]
            if hit { active += 1 }
            if t > 0 { rewards.append(hit ? 1 : 0); dones.append(active == goals.count || t == path.count - 1) }
            let goalPart = goals.enumerated().flatMap { $0.offset < active ? [marker, marker] : scaled($0.element) }
            observations.append((0..<7).map { Float(t * 7 + $0) / 100 } + goalPart + scaled(cell))
        }
        let actions = (0..<rewards.count).map { i in (0..<5).map { Float($0 == i % 5 ? 1 : 0) } }
        let rl2 = observations.indices.map { t in t == 0 ? [Float](repeating: 0, count: 6) : [rewards[t - 1]] + actions[t - 1] }
        return TrajectorySlice(observations: observations, rl2: rl2, timeIndices: Array(observations.indices),
                               rewards: rewards, dones: dones, actions: actions)
    }

    let path = [(5, 3), (4, 3), (3, 3), (3, 2), (3, 1), (2, 1), (1, 1)]   // 6 steps, distinct cells

    @Test func relabelAll_usesVisitedCellsInOrderAndTruncates() throws {
        let original = handBuilt(path: path, goals: [(5, 5), (1, 5)])
        #expect(original.rewards.allSatisfy { $0 == 0 } && original.observations.count == 7)
        let relabeler = MazeRunnerRelabeler(goals: 2, strategy: .all, mazeDim: 7)
        let rng = RandomGenerator(seed: 12)
        var pairs = Set<[Int]>()
        for _ in 0..<300 {
            let r = try relabeler.relabel(original, using: rng)
            let g = r.observations[0][7..<11].map { $0 }
            let t1 = try #require(path.indices.first { scaled(path[$0]) == Array(g[0..<2]) })
            let t2 = try #require(path.indices.first { scaled(path[$0]) == Array(g[2..<4]) })
            #expect(t1 >= 1 && t1 < t2 && t2 <= 5)   // visited, in visit order, from observations 1…N−1
            pairs.insert([t1, t2])
            #expect(r.observations.count == t2 + 1 && r.rewards.count == t2 && r.actions.count == t2)
            #expect(r.timeIndices == Array(0...t2) && r.observations.allSatisfy { $0.count == 11 })
            #expect(r.rewards == (0..<t2).map { $0 == t1 - 1 || $0 == t2 - 1 ? Float(1) : 0 })
            #expect(r.rl2.map { $0[0] } == (0...t2).map { $0 == t1 || $0 == t2 ? Float(1) : 0 })
            #expect(r.dones == (0..<t2).map { $0 == t2 - 1 })
            #expect(r.actions == Array(original.actions.prefix(t2)) && Array(r.rl2[1][1...]) == original.actions[0])
            for t in 0...t2 {
                let reached = t >= t2 ? 2 : (t >= t1 ? 1 : 0)
                let expected = (0..<2).flatMap { $0 < reached ? [marker, marker] : Array(g[(2 * $0)..<(2 * $0 + 2)]) }
                #expect(Array(r.observations[t][7..<11]) == expected)
                #expect(Array(r.observations[t][0..<7]) == Array(original.observations[t][0..<7]))
            }
        }
        #expect(pairs.count == 10)   // every ordered pair of candidate steps 1…5 occurs
        #expect(relabeler.observationWidth(stored: 13) == 11)
    }

    @Test func relabelNone_onlyStripsAchieved() throws {
        let original = handBuilt(path: path, goals: [(5, 5), (1, 5)])
        let r = try MazeRunnerRelabeler(goals: 2, strategy: .none, mazeDim: 7).relabel(original, using: RandomGenerator(seed: 1))
        #expect(r.observations == original.observations.map { Array($0.prefix(11)) })
        #expect(r.rl2 == original.rl2 && r.rewards == original.rewards && r.dones == original.dones)
        #expect(r.actions == original.actions && r.timeIndices == original.timeIndices)
    }

    @Test func fullySuccessfulTrajectory_isUnchangedApartFromStripping() throws {
        let original = handBuilt(path: path, goals: [(3, 3), (3, 1)])
        #expect(original.rewards == [0, 1, 0, 1, 0, 0] && original.dones[3])
        for strategy in [RelabelStrategy.all, .some] {
            let r = try MazeRunnerRelabeler(goals: 2, strategy: strategy, mazeDim: 7).relabel(original, using: RandomGenerator(seed: 3))
            #expect(r.observations == original.observations.map { Array($0.prefix(11)) })
            #expect(r.rewards == original.rewards && r.dones == original.dones && r.rl2 == original.rl2)
        }
    }

    @Test func relabelSome_drawsBetweenZeroAndOpenGoals() throws {
        let original = handBuilt(path: path, goals: [(5, 5), (1, 5)])
        let relabeler = MazeRunnerRelabeler(goals: 2, strategy: .some, mazeDim: 7)
        let rng = RandomGenerator(seed: 8)
        var successes = [Int](repeating: 0, count: 3)
        for _ in 0..<600 { successes[Int(try relabeler.relabel(original, using: rng).rewards.reduce(0, +))] += 1 }
        #expect(successes.allSatisfy { $0 > 120 })   // h uniform on {0, 1, 2}
    }

    @Test func relabeledTrajectory_matchesTheEnvironmentReplayedWithTheNewGoals() throws {
        let rows = ["#######", "#...#.#", "#.#...#", "#.....#", "###.#.#", "#.....#", "#######"]
        let params = MazeRunner.Parameters(mazeDim: 7, numGoals: 2, timeLimit: 50, goalInObservation: true, exposePosition: true)
        let env = try MazeRunner(params)
        let actions = [1, 1, 0, 0, 1, 1, 2, 2]
        let start = GridCell(5, 3)
        let stored = try record(env, maze: try Maze(rows: rows), start: start, goals: [GridCell(5, 5), GridCell(2, 5)], actions: actions)
        #expect(stored.rewards.allSatisfy { $0 == 0 })
        let relabeler = MazeRunnerRelabeler(goals: 2, strategy: .all, mazeDim: 7)
        let rng = RandomGenerator(seed: 30)
        for _ in 0..<20 {
            let r = try relabeler.relabel(stored, using: rng)
            let cells = (0..<2).map { GridCell(Int((r.observations[0][7 + 2 * $0] * 7).rounded()), Int((r.observations[0][8 + 2 * $0] * 7).rounded())) }
            let replayed = try record(env, maze: try Maze(rows: rows), start: start, goals: cells, actions: actions)
            #expect(r.observations == replayed.observations.map { Array($0.prefix(11)) })
            #expect(r.rewards == replayed.rewards && r.dones == replayed.dones && r.rl2 == replayed.rl2)
        }
        #expect(throws: AMAGOError.self) { try MazeRunnerRelabeler(goals: 3, strategy: .all, mazeDim: 7).relabel(stored, using: rng) }
    }

    @Test func replayBuffer_relabelsEverySampleWithoutTouchingTheFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 4)
        let original = handBuilt(path: path, goals: [(5, 5), (1, 5)])
        let url = try buffer.add(original, environmentName: "MazeRunner-7x7-k2")
        _ = try buffer.endCollection()
        let relabeler = MazeRunnerRelabeler(goals: 2, strategy: .all, mazeDim: 7)
        let batch = try buffer.sampleBatch(size: 16, maxSequenceLength: 10, padding: .none, relabeler: relabeler,
                                           discreteActions: true, using: RandomGenerator(seed: 6))
        #expect(batch.observations.shape[2] == relabeler.observationWidth(stored: 13))
        #expect(batch.rewards.filter { $0 == 1 }.count == 32 && batch.length <= 6)
        #expect(try TrajectoryFile.read(from: url).rewards == original.rewards)
    }

    /// Steps `env` through `actions` (stopping at the end of the trial) and freezes the trajectory.
    func record(_ env: MazeRunner, maze: Maze, start: GridCell, goals: [GridCell], actions: [Int]) throws -> TrajectorySlice {
        var obs = [env.reset(maze: maze, start: start, goals: goals)]
        var rl2: [[Float]] = [[Float](repeating: 0, count: 6)]
        var rewards: [Float] = [], dones: [Bool] = [], taken: [[Float]] = []
        for a in actions {
            let step = try env.step(.discrete(a))
            let oneHot = env.actionSpace.encode(.discrete(a))
            obs.append(step.observation)
            rl2.append([Float(step.reward)] + oneHot)
            rewards.append(Float(step.reward))
            dones.append(step.isTerminated)
            taken.append(oneHot)
            if step.isDone { break }
        }
        return TrajectorySlice(observations: obs, rl2: rl2, timeIndices: Array(obs.indices), rewards: rewards, dones: dones, actions: taken)
    }
}
