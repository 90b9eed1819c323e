import Autograd
import Foundation

// Pure functions of the learning update: n-step TD targets (spec §5.4), the filtered-BC weight
// functions (§5.5) and the REDQ ensemble reduction. Shape letters: B batch, T = L−1
// transitions, G gammas, C critics.

/// n-step TD targets for every start t, per (b, g) (spec §5.4).
///
/// The horizon stops at a done (included), at an invalid step (excluded) and at the end of
/// the sequence; the target then bootstraps from the value of the last counted step:
/// `y_t = Σ_j γʲ·S_j·r_{t+j} + γ^{last+1}·S_last·q_{t+last}`.
/// - Parameters:
///   - rewards, dones, values: (B, T, G), row-major; `values[t]` is the value of the state after step t.
///   - mask: (B, T); 1 where transition t is real.
///   - gammas: (G)
/// - Returns: (B, T, G)
public func nStepReturns(rewards: [Float], dones: [Float], values: [Float], mask: [Float], gammas: [Float],
                         batch: Int, steps: Int, n: Int) -> [Float] {
    let g = gammas.count
    var out = [Float](repeating: 0, count: batch * steps * g)
    for b in 0..<batch {
        for k in 0..<g {
            let gamma = gammas[k]
            for t in 0..<steps {
                var sum: Float = 0, survival: Float = 1, discount: Float = 1
                var last = 0, lastSurvival: Float = 1
                for j in 0..<n {
                    let u = t + j
                    guard u < steps, mask[b * steps + u] != 0 else { break }
                    let at = (b * steps + u) * g + k
                    let r = rewards[at] * mask[b * steps + u], d = dones[at] * mask[b * steps + u]
                    sum += discount * survival * r
                    survival *= 1 - d
                    last = j
                    lastSurvival = survival
                    discount *= gamma
                    if d == 1 { break }
                }
                var bootstrap: Float = 1
                for _ in 0...last { bootstrap *= gamma }
                out[(b * steps + t) * g + k] = sum + bootstrap * lastSurvival * values[(b * steps + t + last) * g + k]
            }
        }
    }
    return out
}

/// How a filtered-BC weight is computed from an advantage (spec §5.5).
public enum AdvantageFilter: Codable, Equatable, Sendable {
    /// 1 where A > threshold, else 0 (the default, threshold 0).
    case binary(threshold: Float = 0)
    /// clamp(exp(β·clamp(A, advantage bounds)), weight bounds).
    case exponential(beta: Float = 1, clipAdvantageLow: Float? = nil, clipAdvantageHigh: Float? = nil,
                     clipWeightLow: Float = 1e-7, clipWeightHigh: Float? = nil)
    /// c + leakyReLU((A − τ)/β), clamped, plus 1[A > 0] when `addBinary`.
    case leakyReLU(beta: Float = 2, tau: Float = 0.01, negativeSlope: Float = 0.05, targetF0: Float = 0.01,
                   clipWeightLow: Float = 1e-7, clipWeightHigh: Float = 10, addBinary: Bool = true)

    /// The weight for advantage `a`.
    public func weight(_ a: Float) -> Float {
        switch self {
        case let .binary(threshold):
            return a > threshold ? 1 : 0
        case let .exponential(beta, advLow, advHigh, low, high):
            let clipped = Swift.min(Swift.max(a, advLow ?? -.infinity), advHigh ?? .infinity)
            return Swift.min(Swift.max(Foundation.exp(beta * clipped), low), high ?? .infinity)
        case let .leakyReLU(beta, tau, slope, f0, low, high, addBinary):
            let c = f0 + slope * tau / beta
            let z = (a - tau) / beta
            let w = Swift.min(Swift.max(c + (z > 0 ? z : slope * z), low), high)
            return addBinary && a > 0 ? w + 1 : w
        }
    }
}

/// Reduces a critic ensemble to one value per (row, gamma) from `subset` critics drawn
/// uniformly with replacement for every entry (REDQ): their minimum, or their mean.
/// - Parameters:
///   - values: (C, R) — C critics' values for R entries.
/// - Returns: (R)
public func reduceEnsemble(_ values: [Float], critics: Int, subset: Int, useMinimum: Bool,
                           using rng: RandomGenerator) -> [Float] {
    let rows = values.count / critics
    return (0..<rows).map { r in
        var best = Float.infinity, total: Float = 0
        for _ in 0..<subset {
            let v = values[rng.integer(below: critics) * rows + r]
            best = Swift.min(best, v)
            total += v
        }
        return useMinimum ? best : total / Float(subset)
    }
}
