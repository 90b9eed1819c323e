import Autograd
import Foundation

// The value bins of the two-hot classification critic (spec §4.5). Shape letters: N targets,
// K bins.

/// Bin centres and the maps between scalar returns and distributions over the bins.
public struct ValueBins: Equatable, Sendable {
    /// Bin centres in the transformed (symlog or identity) space, ascending: (K).
    public let values: [Float]
    /// Whether returns are symlog-transformed before binning.
    public let usesSymlog: Bool

    /// `count` bins spanning `[T(minReturn), T(maxReturn)]`, T = symlog or identity.
    public init(count: Int = 128, minReturn: Float = -100_000, maxReturn: Float = 100_000, usesSymlog: Bool = true) throws {
        guard count >= 2, maxReturn > minReturn else {
            throw AMAGOError.invalidConfiguration(field: "bins", message: "needs at least 2 bins and max_return > min_return")
        }
        self.usesSymlog = usesSymlog
        let low = usesSymlog ? Tensor.symlog(minReturn) : minReturn
        let high = usesSymlog ? Tensor.symlog(maxReturn) : maxReturn
        values = ValueBins.linspace(low, high, count)
    }

    /// Evenly spaced float32 values, rounded exactly as PyTorch's `linspace`: the first half
    /// counts up from `low`, the second half down from `high`, each with one fused multiply-add.
    static func linspace(_ low: Float, _ high: Float, _ count: Int) -> [Float] {
        let step = (high - low) / Float(count - 1)
        return (0..<count).map { i in
            i < count / 2 ? low.addingProduct(step, Float(i)) : high.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// Spacing between neighbouring bins.
    public var width: Float { values[1] - values[0] }

    func transform(_ y: Float) -> Float { usesSymlog ? Tensor.symlog(y) : y }
    func inverse(_ y: Float) -> Float { usesSymlog ? Tensor.symexp(y) : y }

    /// Two-hot labels (N, K): the mass of each target split between its two neighbouring bins
    /// so that the expected bin value equals the transformed target; targets beyond the range
    /// go wholly to the edge bin.
    public func twoHotLabels(_ targets: [Float]) -> [Float] {
        let k = values.count
        var labels = [Float](repeating: 0, count: targets.count * k)
        for (n, y) in targets.enumerated() {
            let s = transform(y)
            let atOrBelow = values.reduce(0) { $0 + ($1 <= s ? 1 : 0) }
            let above = values.reduce(0) { $0 + ($1 > s ? 1 : 0) }
            let lower = Swift.min(Swift.max(atOrBelow - 1, 0), k - 1)
            let upper = Swift.min(Swift.max(k - above, 0), k - 1)
            if lower == upper {
                labels[n * k + lower] = 1
            } else {
                let dLower = Swift.abs(values[lower] - s), dUpper = Swift.abs(values[upper] - s)
                let total = dLower + dUpper
                labels[n * k + lower] = dUpper / total
                labels[n * k + upper] = dLower / total
            }
        }
        return labels
    }

    /// HL-Gauss labels (N, K): the mass a normal of std `sigma`·width centred on the transformed
    /// target puts on each bin's interval, renormalised (all zero far outside the support).
    public func gaussianLabels(_ targets: [Float], sigma: Float = 0.75) -> [Float] {
        let k = values.count, w = width
        let edges = values.map { $0 - w / 2 } + [values[k - 1] + w / 2]
        var labels = [Float](repeating: 0, count: targets.count * k)
        for (n, y) in targets.enumerated() {
            let s = transform(y)
            let cdf = edges.map { 0.5 * (1 + Foundation.erf((($0 - s) / (sigma * w)) / Float(2).squareRoot())) }
            var p = (0..<k).map { cdf[$0 + 1] - cdf[$0] }
            let total = Swift.max(p.reduce(0, +), 1e-8)
            p = p.map { $0 / total }
            for i in 0..<k { labels[n * k + i] = p[i] }
        }
        return labels
    }

    /// The expected return of bin logits (…, K) → (…, 1): inverse-transform of Σ softmax·bins.
    /// Differentiable in the logits.
    public func decode(logits: Tensor) throws -> Tensor {
        let bins = try Tensor(shape: [values.count, 1], data: values)
        let expected = try logits.softmax().matmul(bins)
        return usesSymlog ? expected.symexp() : expected
    }

    /// The output bias that makes a fresh critic predict `initValue` (spec §4.5):
    /// `−(bins − T(initValue))² / (2·(4·width)²)`.
    public func initialBias(for initValue: Float) -> [Float] {
        let center = transform(initValue), spread = 4 * width
        return values.map { -($0 - center) * ($0 - center) / (2 * spread * spread) }
    }
}
