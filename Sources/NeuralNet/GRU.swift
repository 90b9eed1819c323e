import Autograd

// A multi-layer GRU with PyTorch's equations (spec §3.3). Shape letters: B batch, L length,
// I input width, S state width, G gate blocks (r, z, n) = 3·S.

/// One GRU layer: `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
/// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
public final class GRULayer: Module {
    /// (3S, I) and (3S, S), gate blocks in the order r, z, n.
    public let inputWeight: Tensor, stateWeight: Tensor
    /// (3S)
    public let inputBias: Tensor, stateBias: Tensor
    /// The state width S.
    public let width: Int

    /// All weights and biases U(±1/√S), as PyTorch.
    public init(inputs: Int, width: Int, using rng: RandomGenerator) {
        let bound = 1 / Float(width).squareRoot()
        self.width = width
        inputWeight = Tensor.uniform([3 * width, inputs], low: -bound, high: bound, using: rng).requiringGrad()
        stateWeight = Tensor.uniform([3 * width, width], low: -bound, high: bound, using: rng).requiringGrad()
        inputBias = Tensor.uniform([3 * width], low: -bound, high: bound, using: rng).requiringGrad()
        stateBias = Tensor.uniform([3 * width], low: -bound, high: bound, using: rng).requiringGrad()
    }

    /// Runs the sequence (B, L, I) from state (B, S); returns every step's state (B, L, S).
    public func callAsFunction(_ x: Tensor, state: Tensor) throws -> Tensor {
        let (b, l) = (x.shape[0], x.shape[1])
        // All input projections in one product: (B, L, 3S).
        let projected = try x.linear(weight: inputWeight, bias: inputBias)
        var h = state
        var outputs: [Tensor] = []
        for t in 0..<l {
            let gi = try projected.slice(axis: 1, t..<(t + 1)).reshaped([b, 3 * width])
            h = try cell(inputGates: gi, state: h)
            outputs.append(try h.reshaped([b, 1, width]))
        }
        return try Tensor.concatenate(outputs, axis: 1)
    }

    /// One step given the input's gate pre-activations (B, 3S) and the state (B, S).
    func cell(inputGates gi: Tensor, state h: Tensor) throws -> Tensor {
        let gh = try h.linear(weight: stateWeight, bias: stateBias)
        let i = try gi.split(sizes: [width, width, width], axis: -1)
        let s = try gh.split(sizes: [width, width, width], axis: -1)
        let r = try (i[0] + s[0]).sigmoid()
        let z = try (i[1] + s[1]).sigmoid()
        let n = try (i[2] + (r * s[2])).tanh()
        return try (1 - z) * n + z * h
    }
}

/// A stack of GRU layers, each feeding the next.
public final class GRU: Module {
    /// The stacked layers, first fed by the input.
    public let layers: [GRULayer]
    /// The state width S.
    public let width: Int

    /// `layers` GRU layers of width S; the first reads `inputs` features.
    public init(inputs: Int, width: Int, layers: Int, using rng: RandomGenerator) {
        self.width = width
        self.layers = (0..<layers).map { GRULayer(inputs: $0 == 0 ? inputs : width, width: width, using: rng) }
    }

    /// A zero state for `batch` sequences: (layers, B, S).
    public func initialState(batch: Int) -> Tensor { Tensor.zeros([layers.count, batch, width]) }

    /// Runs (B, L, I) from `state` (layers, B, S) (zeros when nil).
    /// - Returns: the last layer's outputs (B, L, S) and the final state (layers, B, S).
    public func callAsFunction(_ x: Tensor, state: Tensor? = nil) throws -> (output: Tensor, state: Tensor) {
        guard x.rank == 3 else { throw AutogradError.shapeMismatch(op: "GRU", lhs: x.shape, rhs: [layers.count, width]) }
        let (b, l) = (x.shape[0], x.shape[1])
        let state = state ?? initialState(batch: b)
        guard state.shape == [layers.count, b, width] else {
            throw AutogradError.shapeMismatch(op: "GRU state", lhs: state.shape, rhs: [layers.count, b, width])
        }
        var h = x
        var finals: [Tensor] = []
        for (k, layer) in layers.enumerated() {
            let start = try state.slice(axis: 0, k..<(k + 1)).reshaped([b, width])
            h = try layer(h, state: start)
            finals.append(try h.slice(axis: 1, (l - 1)..<l).reshaped([1, b, width]))
        }
        return (h, try Tensor.concatenate(finals, axis: 0))
    }
}
