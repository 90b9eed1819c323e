import Autograd

/// A linear map whose weight is rescaled by its spectral norm: `Ŵ = (γ/σ(W))·W` (σReparam,
/// Zhai et al. 2023; spec §3.1). σ is tracked by one power-iteration step per training forward.
public final class SigmaReparamLinear: Module {
    /// (out, in), initialised N(0, 0.02²).
    public let weight: Tensor
    /// (out), PyTorch default U(±1/√in).
    public let bias: Tensor?
    /// (1), the learnable spectral scale, initialised to 1.
    public let gamma: Tensor
    /// Buffers: the left (out) and right (in) singular vector estimates.
    public let u: Tensor, v: Tensor

    /// A map from `inputs` to `outputs` features with u, v set to W's top singular pair.
    public init(inputs: Int, outputs: Int, bias: Bool = true, using rng: RandomGenerator) {
        weight = Tensor.normal([outputs, inputs], std: 0.02, using: rng).requiringGrad()
        let bound = 1 / Float(inputs).squareRoot()
        self.bias = bias ? Tensor.uniform([outputs], low: -bound, high: bound, using: rng).requiringGrad() : nil
        gamma = Tensor.ones([1]).requiringGrad()
        // The reference takes u, v from an SVD of the initial weight; power iteration to
        // convergence gives the same top singular pair.
        v = Tensor.normal([inputs], using: rng)
        u = Tensor.zeros([outputs])
        super.init()
        for _ in 0..<200 { powerIteration() }
    }

    /// One in-place step: u ← normalize(W v), v ← normalize(Wᵀ u).
    func powerIteration() {
        let (rows, cols) = (weight.shape[0], weight.shape[1])
        var newU = [Float](repeating: 0, count: rows), newV = [Float](repeating: 0, count: cols)
        weight.data.withUnsafeBufferPointer { w in
            v.data.withUnsafeBufferPointer { pv in
                newU.withUnsafeMutableBufferPointer { pu in
                    BLAS.gemv(transpose: false, rows: rows, columns: cols, a: w.baseAddress!, x: pv.baseAddress!, y: pu.baseAddress!)
                }
            }
            SigmaReparamLinear.normalize(&newU)
            newU.withUnsafeBufferPointer { pu in
                newV.withUnsafeMutableBufferPointer { pv in
                    BLAS.gemv(transpose: true, rows: rows, columns: cols, a: w.baseAddress!, x: pu.baseAddress!, y: pv.baseAddress!)
                }
            }
            SigmaReparamLinear.normalize(&newV)
        }
        try? u.assign(newU)
        try? v.assign(newV)
    }

    static func normalize(_ x: inout [Float]) {
        let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let scale = 1 / Swift.max(norm, 1e-12)  // as F.normalize's eps
        for i in 0..<x.count { x[i] *= scale }
    }

    /// σ = uᵀ W v with u and v held constant; the gradient flows through W.
    public func spectralNorm() throws -> Tensor {
        try weight.bilinearForm(left: u.data, right: v.data)
    }

    /// The rescaled weight `(γ/σ)·W`.
    public func effectiveWeight() throws -> Tensor {
        try weight * (try gamma / spectralNorm())
    }

    /// (…, in) → (…, out); in training mode the singular vectors are refined first.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        if isTraining { powerIteration() }
        if !isTraining, let frozen { return try x.linear(weight: frozen.weight, bias: bias) }
        return try x.linear(weight: effectiveWeight(), bias: bias)
    }

    /// `(γ/σ)·W` (out, in) computed once by `freezeForInference()`. Wrapped so that the
    /// reflection that finds parameters and buffers does not take it for one.
    private struct Frozen { let weight: Tensor }
    private var frozen: Frozen?

    /// Computes the rescaled weight once, without a gradient.
    public override func buildInferenceCache() throws {
        frozen = Frozen(weight: try withNoGrad { try effectiveWeight() })
    }

    /// Forgets the precomputed weight.
    public override func discardInferenceCache() { frozen = nil }
}
