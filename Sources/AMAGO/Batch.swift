import Autograd

// Training batches (spec §1.5–§1.6). Shape letters: B sequences, L observations per sequence,
// T = L − 1 transitions, O observation width, A action width (one-hot for discrete actions).

/// One sampled slice of a trajectory: L observations and the L − 1 transitions between them.
public struct TrajectorySlice: Sendable {
    /// (L, O)
    public var observations: [[Float]]
    /// (L, 1 + A): reward then previous action, as the policy saw them.
    public var rl2: [[Float]]
    /// (L): steps since the trial began.
    public var timeIndices: [Int]
    /// (T): reward, terminal flag and action of each transition.
    public var rewards: [Float], dones: [Bool], actions: [[Float]]

    public init(observations: [[Float]], rl2: [[Float]], timeIndices: [Int], rewards: [Float], dones: [Bool], actions: [[Float]]) {
        (self.observations, self.rl2, self.timeIndices) = (observations, rl2, timeIndices)
        (self.rewards, self.dones, self.actions) = (rewards, dones, actions)
    }
}

/// Slices right-padded to a common length with the value 4.0 in every field, plus the masks
/// derived from that padding.
public struct Batch: Sendable {
    /// The padding value of every field (`MAGIC_PAD_VAL`).
    public static let padding: Float = 4
    public let batchSize: Int, length: Int
    /// (B, L, O) and (B, L, 1 + A)
    public let observations: Tensor, rl2: Tensor
    /// (B·L) time indices (padding: 4).
    public let timeIndices: [Int]
    /// (B, T) rewards and dones (padding: 4 and true).
    public let rewards: [Float], dones: [Float]
    /// (B, T, A), clamped to the action range (padding becomes 1, masked out).
    public let actions: Tensor
    /// (B, T): 1 where transition t is real, i.e. observation t + 1 is not padding.
    public let transitionMask: [Float]
    /// (B, L): 1 where observation l is real.
    public let stateMask: [Float]

    /// Pads `slices` (each of at least 2 observations, equal widths) into one batch.
    public init(_ slices: [TrajectorySlice], discreteActions: Bool) throws {
        guard let first = slices.first, let obsWidth = first.observations.first?.count,
              let rl2Width = first.rl2.first?.count else {
            throw AMAGOError.invalidBatch("no slices")
        }
        let actionWidth = rl2Width - 1
        let l = slices.map(\.observations.count).max()!
        guard l >= 2 else { throw AMAGOError.invalidBatch("sequences need at least two observations") }
        for (i, s) in slices.enumerated() {
            let n = s.observations.count
            guard n >= 2, s.rl2.count == n, s.timeIndices.count == n, s.rewards.count == n - 1, s.dones.count == n - 1,
                  s.actions.count == n - 1, s.observations.allSatisfy({ $0.count == obsWidth }),
                  s.rl2.allSatisfy({ $0.count == rl2Width }), s.actions.allSatisfy({ $0.count == actionWidth }) else {
                throw AMAGOError.invalidBatch("slice \(i) has arrays of inconsistent lengths or widths")
            }
        }
        let b = slices.count, t = l - 1, p = Batch.padding
        func pad<T>(_ rows: [T], to n: Int, with value: T) -> [T] { rows + [T](repeating: value, count: n - rows.count) }
        let clampLow: Float = discreteActions ? 0 : -1
        batchSize = b
        length = l
        observations = try Tensor(shape: [b, l, obsWidth], data: slices.flatMap {
            pad($0.observations, to: l, with: [Float](repeating: p, count: obsWidth)).flatMap { $0 } })
        rl2 = try Tensor(shape: [b, l, rl2Width], data: slices.flatMap {
            pad($0.rl2, to: l, with: [Float](repeating: p, count: rl2Width)).flatMap { $0 } })
        timeIndices = slices.flatMap { pad($0.timeIndices, to: l, with: Int(p)) }
        rewards = slices.flatMap { pad($0.rewards, to: t, with: p) }
        dones = slices.flatMap { pad($0.dones.map { $0 ? Float(1) : 0 }, to: t, with: 1) }
        actions = try Tensor(shape: [b, t, actionWidth], data: slices.flatMap {
            pad($0.actions, to: t, with: [Float](repeating: p, count: actionWidth)).flatMap { $0 }.map { Swift.min(Swift.max($0, clampLow), 1) } })
        // A step is valid unless every rl2 feature equals the padding value (spec §1.6).
        let valid = rl2.data.withUnsafeBufferPointer { r in
            (0..<(b * l)).map { i in (0..<rl2Width).allSatisfy { r[i * rl2Width + $0] == p } ? Float(0) : 1 }
        }
        stateMask = valid
        transitionMask = (0..<b).flatMap { s in (1..<l).map { valid[s * l + $0] } }
    }

    /// Number of transitions per sequence, T = L − 1.
    public var transitions: Int { length - 1 }
}
