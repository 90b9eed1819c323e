import Autograd
import Foundation

// Policy distributions (spec §4.3). Every distribution is batched over leading axes "…"
// (typically B, L, G); A is the number of actions or the action dimension.

/// A categorical policy whose probabilities are clipped to [low, high] and renormalised.
public struct DiscretePolicy {
    /// π (…, A), differentiable in the logits (zero gradient where the clip is active).
    public let probabilities: Tensor
    public var actionCount: Int { probabilities.shape.last ?? 0 }

    public init(logits: Tensor, clipLow: Float = 0.001, clipHigh: Float = 0.99) throws {
        let clipped = logits.softmax().clamp(min: clipLow, max: clipHigh)
        probabilities = try clipped / clipped.sum(axis: -1, keepingAxis: true)
    }

    /// ln π (…, A).
    public func logProbabilities() -> Tensor { probabilities.log() }

    /// ln π(a) for one action index per row: (…).
    public func logProbability(of actions: [Int]) throws -> Tensor {
        let lead = Array(probabilities.shape.dropLast())
        return try logProbabilities().gather(axis: -1, indices: actions, shape: lead + [1]).reshaped(lead)
    }

    /// −Σ π ln π (…).
    public func entropy() throws -> Tensor { try -(probabilities * logProbabilities()).sum(axis: -1) }

    /// The most likely action per row.
    public func mode() throws -> [Int] { try probabilities.max(axis: -1).indices }

    /// One action per row drawn from π.
    public func sample(using rng: RandomGenerator) -> [Int] {
        let a = actionCount
        return probabilities.data.withUnsafeBufferPointer { p in
            (0..<(p.count / a)).map { rng.categorical(UnsafeBufferPointer(rebasing: p[($0 * a)..<($0 * a + a)])) }
        }
    }

    /// Straight-through Gumbel-softmax samples (temperature 0.5, hard): one-hot vectors (…, A)
    /// in the forward pass, the gradient of the soft sample in the backward pass.
    public func relaxedSample(temperature: Float = 0.5, using rng: RandomGenerator) throws -> Tensor {
        let noise = try Tensor(shape: probabilities.shape, data: (0..<probabilities.count).map { _ in rng.gumbel() })
        let soft = try ((logProbabilities() + noise) * (1 / temperature)).softmax()
        let hard = try DiscretePolicy.oneHot(try soft.max(axis: -1).indices, count: actionCount, shape: soft.shape)
        return try hard + (soft - soft.detached())
    }

    /// One-hot rows for `indices`, shaped `shape` (…, A).
    public static func oneHot(_ indices: [Int], count: Int, shape: [Int]) throws -> Tensor {
        var data = [Float](repeating: 0, count: indices.count * count)
        for (r, i) in indices.enumerated() { data[r * count + i] = 1 }
        return try Tensor(shape: shape, data: data)
    }

    /// The clip-and-renormalise applied to stored one-hot actions before the critic sees them
    /// (`action_from_buffer`): e.g. A = 5 gives 0.99597586 on the action and 0.00100604 elsewhere.
    public static func softened(_ oneHot: Tensor, clipLow: Float = 0.001, clipHigh: Float = 0.99) throws -> Tensor {
        let clipped = oneHot.clamp(min: clipLow, max: clipHigh)
        return try clipped / clipped.sum(axis: -1, keepingAxis: true)
    }
}

/// A Gaussian squashed by tanh, with its std bounded to [e^−5, e^2] (spec §4.3).
public struct TanhGaussianPolicy {
    /// Pre-tanh mean μ and standard deviation (…, A).
    public let mean: Tensor, std: Tensor

    /// From raw outputs (…, 2A): the first A are μ, the next A set the std through
    /// `exp(−5 + 3.5·(tanh(raw) + 1))`.
    public init(raw: Tensor, logStdLow: Float = -5, logStdHigh: Float = 2) throws {
        let a = (raw.shape.last ?? 0) / 2
        let parts = try raw.split(sizes: [a, a], axis: -1)
        mean = parts[0]
        std = parts[1].tanh().affine(scale: 0.5 * (logStdHigh - logStdLow), shift: logStdLow + 0.5 * (logStdHigh - logStdLow)).exp()
    }

    /// tanh(μ): the deterministic action.
    public func meanAction() -> Tensor { mean.tanh() }

    /// A reparameterised sample tanh(μ + std·ε) with the given standard-normal noise ε.
    public func sample(noise: Tensor) throws -> Tensor { try (mean + std * noise).tanh() }

    /// A reparameterised sample with fresh noise.
    public func sample(using rng: RandomGenerator) throws -> Tensor {
        try sample(noise: Tensor.normal(mean.shape, using: rng))
    }

    /// Per-dimension log-density of actions (…, A) in [−1, 1]:
    /// `log N(x; μ, std) − 2·(ln 2 − x − softplus(−2x))`, x = atanh(clamp(a, ±0.99)).
    public func logProbability(of actions: Tensor) throws -> Tensor {
        let x = actions.data.map { a -> Float in
            let c = Swift.min(Swift.max(a, -0.99), 0.99)
            return 0.5 * (Foundation.log1p(c) - Foundation.log1p(-c))
        }
        let correction = x.map { 2 * (Float(M_LN2) - $0 - TanhGaussianPolicy.softplus(-2 * $0)) }
        let preTanh = try Tensor(shape: actions.shape, data: x)
        let z = try (preTanh - mean) / std
        let logDensity = try (z * z) * -0.5 - std.log() - 0.5 * Foundation.log(2 * Float.pi)
        return try logDensity - Tensor(shape: actions.shape, data: correction)
    }

    static func softplus(_ x: Float) -> Float { x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }
}
