import Autograd

/// Where a training sequence may start relative to the ends of its trajectory (spec §1.5).
/// Padding itself is always added on the right when slices are batched (spec §1.6); the modes
/// other than `none` only allow starts that make the sample shorter than `maxSequenceLength`.
public enum PaddedSampling: String, Codable, Sendable, CaseIterable {
    /// Every sample is a full window inside the trajectory.
    case none
    /// Starts may lie before the first transition (the sample loses its left part).
    case left
    /// Starts may lie close to the end (the sample loses its right part).
    case right
    /// Both of the above.
    case both

    /// The half-open range `lo ..< hi` the start index is drawn from for `transitions` transitions
    /// and window `length`, before `randrange`'s widening to at least one value (spec §1.5).
    public func startBounds(transitions n: Int, length: Int) -> (lo: Int, hi: Int) {
        switch self {
        case .none: return (0, n - length + 1)
        case .both: return (-length + 1, n - 1)
        case .left: return (-length + 1, n - length + 1)
        case .right: return (0, n - 1)
        }
    }

    /// A start index: 0 when the whole trajectory fits, else `randrange(lo, hi)`, i.e. uniform
    /// over `lo ..< max(hi, lo + 1)`.
    public func drawStart(transitions n: Int, length: Int, using rng: RandomGenerator) -> Int {
        guard n > length else { return 0 }
        let (lo, hi) = startBounds(transitions: n, length: length)
        return lo + rng.integer(below: Swift.max(hi - lo, 1))
    }
}

extension TrajectorySlice {
    /// Number of transitions, T − 1 (0 for an empty trajectory).
    public var transitionCount: Int { Swift.max(observations.count - 1, 0) }

    /// The window `[start, start + length]` of observations and `[start, start + length)` of
    /// transitions, with a negative start clipped to 0 and the end clipped to the trajectory
    /// (Python slicing, spec §1.5).
    public func window(start: Int, length: Int) -> TrajectorySlice {
        let stop = start + length
        let first = Swift.min(Swift.max(start, 0), observations.count)
        let obsEnd = Swift.min(Swift.max(stop + 1, first), observations.count)
        let transEnd = Swift.min(Swift.max(stop, first), transitionCount)
        let obs = first..<Swift.max(obsEnd, first), trans = Swift.min(first, transEnd)..<transEnd
        return TrajectorySlice(observations: Array(observations[obs]), rl2: Array(rl2[obs]),
                               timeIndices: Array(timeIndices[obs]), rewards: Array(rewards[trans]),
                               dones: Array(dones[trans]), actions: Array(actions[trans]))
    }

    /// A random training sequence of at most `maxSequenceLength` transitions (spec §1.5).
    public func randomSlice(maxSequenceLength: Int, padding: PaddedSampling, using rng: RandomGenerator) -> TrajectorySlice {
        let start = padding.drawStart(transitions: transitionCount, length: maxSequenceLength, using: rng)
        return window(start: start, length: maxSequenceLength)
    }
}
