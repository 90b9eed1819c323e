import Foundation

/// The one seeded pseudo-random generator of the engine: initialisation, sampling and
/// dropout all draw from it, so a run with a seed repeats exactly.
///
/// xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64. It is a class so that
/// the layers of a model can share one stream.
public final class RandomGenerator: RandomNumberGenerator, @unchecked Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareNormal: Float?

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64 random bits.
    public func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform draw from [0, 1) with 24 random bits.
    public func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform draw from [low, high).
    public func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * uniform()
    }

    /// A uniform integer in 0..<upperBound.
    public func integer(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "integer(below:) needs a positive bound")
        return Int(next() % UInt64(upperBound))
    }

    /// A standard normal draw (Box–Muller; the second value of each pair is kept for the next call).
    public func normal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = Float(radius * Foundation.sin(2 * Double.pi * u2))
        return Float(radius * Foundation.cos(2 * Double.pi * u2))
    }

    /// A draw from N(mean, std²).
    public func normal(mean: Float, std: Float) -> Float { mean + std * normal() }

    /// A standard Gumbel draw, `−ln(−ln U)`.
    public func gumbel() -> Float {
        let u = max(uniform(), 1e-10)
        return -Foundation.log(-Foundation.log(u))
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    public func categorical(_ weights: UnsafeBufferPointer<Float>) -> Int {
        var total: Float = 0
        for w in weights { total += w }
        var target = uniform() * total
        for (i, w) in weights.enumerated() {
            target -= w
            if target < 0 { return i }
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }
}

extension Tensor {
    /// A tensor of independent U(low, high) draws.
    public static func uniform(_ shape: [Int], low: Float, high: Float, using rng: RandomGenerator) -> Tensor {
        Tensor(unchecked: shape, data: (0..<shape.product).map { _ in rng.uniform(low, high) })
    }

    /// A tensor of independent N(mean, std²) draws.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: RandomGenerator) -> Tensor {
        Tensor(unchecked: shape, data: (0..<shape.product).map { _ in rng.normal(mean: mean, std: std) })
    }
}
