import Environments
import Foundation
import Testing

/// Spec §9 checklist item 42 (MazeRunner).
@Suite struct MazeRunnerTests {
    let handMade = ["#######", "#...#.#", "#.#...#", "#.....#", "###.#.#", "#.....#", "#######"]

    @Test func mazeRunner_generatedMazeInvariants() throws {
        var rng = SeededGenerator(seed: 8)
        for dim in [7, 11, 12, 15] {
            for _ in 0..<30 {
                let maze = Maze.random(dimension: dim, using: &rng)
                let n = maze.size
                #expect(n == (dim / 2) * 2 + 1)
                #expect((0..<n).allSatisfy { maze.isWall(0, $0) && maze.isWall(n - 1, $0) && maze.isWall($0, 0) && maze.isWall($0, n - 1) })
                #expect(!maze.isWall(n - 2, n / 2) && !maze.isWall(n - 5, n / 2))
                #expect((n - 4 ... n - 2).allSatisfy { maze.isWall($0, n / 2 - 1) && maze.isWall($0, n / 2 + 1) })
                #expect((1 ..< n - 1).allSatisfy { !maze.isWall(n - 5, $0) })
            }
        }
        let env = try MazeRunner(.init(mazeDim: 11, numGoals: 3), seed: 4)
        for _ in 0..<20 {
            _ = env.reset()
            #expect(env.start == GridCell(9, 5) && env.position == env.start)
            #expect(Set(env.goals).count == 3 && !env.goals.contains(env.start))
            #expect(env.goals.allSatisfy { !env.maze.isWall($0.x, $0.y) })
        }
    }

    @Test func mazeRunner_depthSensorsOnHandMadeMaze() throws {
        let env = try MazeRunner(.init(mazeDim: 7, numGoals: 1, timeLimit: 10))
        let obs = env.reset(maze: try Maze(rows: handMade), start: GridCell(2, 3), goals: [GridCell(5, 5)])
        let n: Float = 7
        #expect(obs == [2 / n, 3 / n, 0, 1 / n, 2 / n, 3 / n, 0])
        let moved = try env.step(.discrete(3)).observation   // south to (3, 3)
        #expect(moved == [3 / n, 3 / n, 2 / n, 2 / n, 2 / n, 2 / n, Float(0.1)])
        let blocked = try env.step(.discrete(1))              // north back to (2, 3)
        _ = try env.step(.discrete(0))                         // west into a wall: stays
        #expect(blocked.observation[0] == 2 / n && env.position == GridCell(2, 3) && env.timer == 3)
    }

    @Test func mazeRunner_goalsInOrderThenTerminates() throws {
        let env = try MazeRunner(.init(mazeDim: 7, numGoals: 2, timeLimit: 50))
        _ = env.reset(maze: try Maze(rows: handMade), start: GridCell(5, 3), goals: [GridCell(5, 1), GridCell(3, 3)])
        // Passing the second goal before the first earns nothing.
        let early = try [1, 1].map { try env.step(.discrete($0)) }
        #expect(env.position == GridCell(3, 3) && early.map(\.reward) == [0, 0] && early[1].info.success == false)
        let toFirst = try [3, 3, 0, 0].map { try env.step(.discrete($0)) }
        #expect(toFirst.map(\.reward) == [0, 0, 0, 1] && env.goalSequence == [GridCell(-1, -1), GridCell(3, 3)])
        #expect(!toFirst[3].isDone)
        let toSecond = try [2, 2, 1, 1].map { try env.step(.discrete($0)) }
        #expect(toSecond.map(\.reward) == [0, 0, 0, 1] && toSecond[3].isTerminated && !toSecond[3].isTruncated)
        #expect(throws: EnvironmentError.self) { try env.step(.discrete(4)) }
    }

    @Test func mazeRunner_timeLimitSetsBothFlags() throws {
        let env = try MazeRunner(.init(mazeDim: 7, numGoals: 1, timeLimit: 5))
        _ = env.reset(maze: try Maze(rows: handMade), start: GridCell(5, 3), goals: [GridCell(1, 1)])
        for t in 1...5 {
            let r = try env.step(.discrete(4))
            #expect(r.isTerminated == (t == 5) && r.isTruncated == (t == 5))
            if t == 5 { #expect(r.observation[6] == 1) }
        }
    }

    @Test func mazeRunner_exposePositionAppendsTheCellAfterTheGoals() throws {
        let env = try MazeRunner(.init(mazeDim: 7, numGoals: 2, timeLimit: 50, goalInObservation: true, exposePosition: true))
        #expect(env.observationSize == 13)
        let obs = env.reset(maze: try Maze(rows: handMade), start: GridCell(5, 3), goals: [GridCell(5, 2), GridCell(3, 3)])
        let n: Float = 7
        #expect(obs.count == 13 && Array(obs[7...]) == [5 / n, 2 / n, 3 / n, 3 / n, 5 / n, 3 / n])
        let moved = try env.step(.discrete(0)).observation   // west onto the first goal
        #expect(Array(moved[7...]) == [-1 / n, -1 / n, 3 / n, 3 / n, 5 / n, 2 / n])
        let plain = try MazeRunner(.init(mazeDim: 7, numGoals: 2, exposePosition: true))
        #expect(plain.observationSize == 9 && plain.reset().count == 9)
    }
}
