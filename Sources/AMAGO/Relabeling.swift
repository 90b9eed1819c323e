import Autograd

/// Edits a trajectory each time it is sampled from the replay buffer, before it is cut and
/// batched (spec §7). Files on disk are never modified.
public protocol Relabeler: Sendable {
    /// Returns an edited copy; random choices are re-drawn at every call.
    func relabel(_ trajectory: TrajectorySlice, using rng: RandomGenerator) throws -> TrajectorySlice
    /// The observation width the agent sees after relabeling, given the stored width.
    func observationWidth(stored: Int) -> Int
}
