import Autograd

/// Edits a trajectory each time it is sampled from the replay buffer, before it is cut and
/// batched (spec §7). Files on disk are never modified.
public protocol Relabeler: Sendable {
    /// Returns an edited copy; random choices are re-drawn at every call.
    func relabel(_ trajectory: TrajectorySlice, using rng: RandomGenerator) throws -> TrajectorySlice
    /// The observation width the agent sees after relabeling, given the stored width.
    func observationWidth(stored: Int) -> Int
}

/// How many hindsight goals a relabeler substitutes (spec §7).
public enum RelabelStrategy: String, Codable, Sendable {
    /// Only remove the `achieved` columns.
    case none
    /// A uniformly random number of new goals, from 0 up to the number of goals not reached.
    case some
    /// Turn every trajectory into a full success (as far as it has enough timesteps).
    case all
}

/// Hindsight instruction relabeling for MazeRunner (spec §7): replaces unreached goals by cells
/// the agent actually visited, replays the goal-sequence reward, and removes the `achieved`
/// columns.
///
/// Stored observation layout (MazeRunner with `goalInObservation` and `exposePosition`), width
/// `7 + 2k + 2`: 7 sensor floats, the k goals `(row/n, col/n)` in order (reached ones written as
/// `−1/n`), then the agent's cell `(row/n, col/n)`. Cells are compared as exactly equal floats,
/// which they are because the environment scales both the same way.
public struct MazeRunnerRelabeler: Relabeler {
    /// Goals per trial (`k`).
    public let goals: Int
    /// How many goals are replaced.
    public let strategy: RelabelStrategy
    /// The maze dimension the data came from; it fixes the "reached" marker `−1/n`.
    public let mazeDim: Int
    static let sensorWidth = 7

    /// A relabeler for trajectories with `goals` goals of a `mazeDim` maze.
    /// - Parameter mazeDim: the MazeRunner `maze_dim` (side `n = 2·⌊dim/2⌋ + 1`); default as MazeRunner's.
    public init(goals: Int, strategy: RelabelStrategy, mazeDim: Int = 11) {
        self.goals = goals
        self.strategy = strategy
        self.mazeDim = mazeDim
    }

    /// The stored width without the two `achieved` columns.
    public func observationWidth(stored: Int) -> Int { stored - 2 }

    /// The value written for a goal that has been reached.
    var reachedMarker: Float { Float(Double(-1) / Double(2 * (mazeDim / 2) + 1)) }

    /// Relabels per spec §7 and removes the `achieved` columns; throws `invalidTrajectory` if the
    /// observation width is not `7 + 2k + 2`.
    public func relabel(_ trajectory: TrajectorySlice, using rng: RandomGenerator) throws -> TrajectorySlice {
        let width = Self.sensorWidth + 2 * goals + 2
        guard goals >= 1, trajectory.observations.allSatisfy({ $0.count == width }) else {
            throw AMAGOError.invalidTrajectory("MazeRunner relabeling needs observations of width 7 + 2·\(goals) + 2 = \(width)")
        }
        guard strategy != .none, let newGoals = hindsightGoals(trajectory, using: rng) else { return stripped(trajectory) }
        return stripped(replay(trajectory, goals: newGoals))
    }

    /// The relabeled goal list (cells as float pairs), or nil when no goal is to be replaced.
    func hindsightGoals(_ t: TrajectorySlice, using rng: RandomGenerator) -> [[Float]]? {
        let n = t.transitionCount
        let successes = Array(t.rewards.indices.filter { t.rewards[$0] != 0 }.prefix(goals))
        let completed = successes.enumerated().map { j, step in goal(j, in: t.observations[step]) }
        let open = goals - successes.count
        var h = strategy == .all ? open : rng.integer(below: open + 1)
        guard h > 0 else { return nil }
        // Observation indices 1..<N without the success transitions: the reference mixes the two
        // index kinds here (spec §11 item 12); kept as specified.
        var candidates = (n > 1 ? Array(1..<n) : []).filter { !successes.contains($0) }
        h = Swift.min(h, candidates.count)
        for i in 0..<h { candidates.swapAt(i, i + rng.integer(below: candidates.count - i)) }
        let alternatives = candidates.prefix(h).map { ($0, achieved(t.observations[$0])) }
        let ordered = (alternatives + zip(successes, completed).map { ($0, $1) }).sorted { $0.0 < $1.0 }.map(\.1)
        var list = (0..<goals).map { goal($0, in: t.observations[0]) }
        for (i, cell) in ordered.enumerated() { list[i] = cell }
        return list
    }

    /// Replays the goal-sequence reward with `newGoals` (spec §7 step 6) and truncates at the
    /// step that completes them (step 7).
    func replay(_ original: TrajectorySlice, goals newGoals: [[Float]]) -> TrajectorySlice {
        var t = original
        let lastGoal = Self.sensorWidth + 2 * goals
        let flat = newGoals.flatMap { $0 }
        for i in t.observations.indices { t.observations[i].replaceSubrange(Self.sensorWidth..<lastGoal, with: flat) }
        t.rewards = t.rewards.map { _ in 0 }
        for i in t.rl2.indices { t.rl2[i][0] = 0 }
        var active = 0, stop = t.transitionCount
        for step in t.observations.indices {
            if achieved(t.observations[step]) == newGoals[active] {
                // A match at t = 0 has no transition to reward (the reference would write the
                // last slot, spec §11 item 12); MazeRunner never places a goal on the start.
                if step > 0 { t.rewards[step - 1] = 1 }
                t.rl2[step][0] = 1
                active += 1
            }
            for j in 0..<active { t.observations[step].replaceSubrange(goalRange(j), with: [reachedMarker, reachedMarker]) }
            if active >= goals {
                if step > 0 { t.dones[step - 1] = true }
                stop = step
                break
            }
        }
        return t.window(start: 0, length: stop)
    }

    /// `trajectory` without the two trailing `achieved` columns.
    func stripped(_ trajectory: TrajectorySlice) -> TrajectorySlice {
        var t = trajectory
        t.observations = t.observations.map { Array($0.dropLast(2)) }
        return t
    }

    private func goalRange(_ j: Int) -> Range<Int> { (Self.sensorWidth + 2 * j)..<(Self.sensorWidth + 2 * j + 2) }
    private func goal(_ j: Int, in observation: [Float]) -> [Float] { Array(observation[goalRange(j)]) }
    private func achieved(_ observation: [Float]) -> [Float] { Array(observation.suffix(2)) }
}
