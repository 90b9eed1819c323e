import Autograd

/// The worst disagreement between analytic and finite-difference gradients.
public struct GradientCheckResult: CustomStringConvertible {
    /// Largest `|analytic − numeric| / (atol + rtol·max(|analytic|, |numeric|))`; ≤ 1 passes.
    public var worstRatio: Float = 0
    public var worstDetail = "none"
    /// Number of elements compared.
    public var checked = 0
    /// Whether every compared element was within tolerance.
    public var passed: Bool { worstRatio <= 1 && checked > 0 }
    public var description: String { "checked \(checked), worst ratio \(worstRatio) at \(worstDetail)" }
}

/// Compares the gradients that `backward()` gives for `Σ w·f(inputs)` (w random, fixed) with
/// central finite differences, for up to `samplesPerInput` elements of each input.
///
/// Float32 finite differences are noisy, so the step and tolerances default to values that
/// separate a correct gradient (ratio ≪ 1) from a wrong one (ratio ≫ 1) for smooth functions.
public func checkGradients(
    _ inputs: [Tensor], step: Float = 1e-2, absoluteTolerance: Float = 2e-3, relativeTolerance: Float = 2e-2,
    samplesPerInput: Int = 24, seed: UInt64 = 7, _ f: ([Tensor]) throws -> Tensor
) throws -> GradientCheckResult {
    let rng = RandomGenerator(seed: seed)
    for x in inputs { x.requiringGrad(); x.zeroGrad() }
    let y = try f(inputs)
    let weights = (0..<y.count).map { _ in rng.uniform(-1, 1) }
    try y.backward(seed: weights)
    let analytic = inputs.map { $0.grad ?? [Float](repeating: 0, count: $0.count) }

    func objective() throws -> Double {
        let out = try withNoGrad { try f(inputs) }
        return zip(out.data, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var result = GradientCheckResult()
    for (n, x) in inputs.enumerated() {
        let picks = x.count <= samplesPerInput ? Array(0..<x.count) : (0..<samplesPerInput).map { _ in rng.integer(below: x.count) }
        for i in picks {
            let original = x.data[i]
            x.withMutableData { $0[i] = original + step }
            let plus = try objective()
            x.withMutableData { $0[i] = original - step }
            let minus = try objective()
            x.withMutableData { $0[i] = original }
            let numeric = Float((plus - minus) / (2 * Double(step)))
            let a = analytic[n][i]
            let ratio = Swift.abs(a - numeric) / (absoluteTolerance + relativeTolerance * Swift.max(Swift.abs(a), Swift.abs(numeric)))
            result.checked += 1
            if ratio > result.worstRatio || ratio.isNaN {
                result.worstRatio = ratio.isNaN ? .infinity : ratio
                result.worstDetail = "input \(n) element \(i): analytic \(a), numeric \(numeric)"
            }
        }
    }
    return result
}

/// Deterministic test data: a tensor of U(low, high) draws from `seed`.
public func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, using: RandomGenerator(seed: seed))
}
