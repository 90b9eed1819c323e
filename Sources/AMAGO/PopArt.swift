import Autograd
import Foundation

/// PopArt value normalisation (van Hasselt et al. 2016; spec §4.6): running statistics of the
/// TD targets per gamma, and an output-preserving affine (w, b) on the critic's outputs.
/// Shape letter: G gammas. All state is buffers, changed only by `update`.
public final class PopArt {
    /// Per-gamma running mean, second moment, affine scale and shift: (G).
    public private(set) var mean: [Float], secondMoment: [Float], scale: [Float], shift: [Float]
    /// Updates taken, starting at 1 as the reference's counter.
    public private(set) var counter: Float = 1
    public let beta: Float
    /// When disabled every map is the identity.
    public let isEnabled: Bool

    public init(gammas: Int, beta: Float = 5e-4, initialSecondMoment: Float = 100, enabled: Bool = true) {
        mean = [Float](repeating: 0, count: gammas)
        secondMoment = [Float](repeating: initialSecondMoment, count: gammas)
        scale = [Float](repeating: 1, count: gammas)
        shift = [Float](repeating: 0, count: gammas)
        self.beta = beta
        isEnabled = enabled
    }

    /// σ = clamp(√clamp(ν − μ², 1e-4, 1e8), 1e-4, 1e6) per gamma (1 when disabled).
    public var sigma: [Float] {
        guard isEnabled else { return scale.map { _ in 1 } }
        return zip(mean, secondMoment).map { m, v in
            Swift.min(Swift.max(Swift.min(Swift.max(v - m * m, 1e-4), 1e8).squareRoot(), 1e-4), 1e6)
        }
    }

    /// Folds a batch of targets into the statistics and corrects w, b so that `denormalized`
    /// is unchanged for every input.
    /// - Parameters:
    ///   - values: (R, G) row-major targets.
    ///   - mask: (R); 1 where the row counts.
    public func update(values: [Float], mask: [Float]) {
        guard isEnabled else { return }
        let g = mean.count, rows = mask.count
        counter += 1
        let oldSigma = sigma, oldMean = mean
        let betaT = beta / (1 - Foundation.pow(1 - beta, counter))
        let total = mask.reduce(0, +)
        for k in 0..<g {
            var sum: Float = 0, squares: Float = 0
            for r in 0..<rows {
                let v = values[r * g + k] * mask[r]
                sum += v
                squares += v * v
            }
            mean[k] = (1 - betaT) * mean[k] + betaT * sum / total
            secondMoment[k] = (1 - betaT) * secondMoment[k] + betaT * squares / total
        }
        let newSigma = sigma
        for k in 0..<g {
            scale[k] *= oldSigma[k] / newSigma[k]
            shift[k] = (oldSigma[k] * shift[k] + oldMean[k] - mean[k]) / newSigma[k]
        }
    }

    /// `w·x + b` over the last axis (G): what a raw critic output means in normalised units.
    public func normalized(_ x: Tensor) throws -> Tensor {
        guard isEnabled else { return x }
        return try x * vector(scale) + vector(shift)
    }

    /// `σ·(w·x + b) + μ` over the last axis (G): the output in return units.
    public func denormalized(_ x: Tensor) throws -> Tensor {
        guard isEnabled else { return x }
        let s = sigma
        return try x * vector(zip(s, scale).map(*)) + vector((0..<s.count).map { s[$0] * shift[$0] + mean[$0] })
    }

    /// `(y − μ)/σ` over the last axis (G).
    public func normalizeValues(_ y: Tensor) throws -> Tensor {
        guard isEnabled else { return y }
        return try (y - vector(mean)) * vector(sigma.map { 1 / $0 })
    }

    /// Restores statistics saved from another instance.
    public func restore(mean: [Float], secondMoment: [Float], scale: [Float], shift: [Float], counter: Float) throws {
        guard [mean, secondMoment, scale, shift].allSatisfy({ $0.count == self.mean.count }) else {
            throw AMAGOError.invalidConfiguration(field: "popart", message: "saved statistics have the wrong number of gammas")
        }
        (self.mean, self.secondMoment, self.scale, self.shift, self.counter) = (mean, secondMoment, scale, shift, counter)
    }

    private func vector(_ v: [Float]) throws -> Tensor { try Tensor(shape: [v.count], data: v) }
}
