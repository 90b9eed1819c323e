import Foundation

/// A small, fast, deterministic generator (xoshiro256**, state filled by SplitMix64).
///
/// The same seed gives the same stream on every platform, which keeps every environment's
/// task draws reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Creates a generator whose whole state derives from `seed`.
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
    public mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform double in `[0, 1)` with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0 ..< bound` (unbiased, by rejection); 0 when `bound <= 1`.
    public mutating func nextInt(below bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let n = UInt64(bound)
        let limit = UInt64.max - UInt64.max % n
        var r = next()
        while r >= limit { r = next() }
        return Int(r % n)
    }

    /// A uniform double in `[low, high)`.
    public mutating func nextDouble(in low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }

    /// Shuffles `array` in place (Fisher–Yates).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }

    /// An index drawn with probability proportional to `weights` (non-negative, positive sum).
    public mutating func nextIndex(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = nextUnit() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return max(0, weights.lastIndex { $0 > 0 } ?? 0)
    }
}

/// Converts a float64 computation to the float32 the observations carry, as the reference does.
@inline(__always) func f32(_ x: Double) -> Float { Float(x) }
