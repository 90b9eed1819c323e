import Autograd

/// `y = x Wᵀ + b` with PyTorch's default initialisation, U(±1/√fan_in) for weight and bias.
public final class Linear: Module {
    /// (out, in)
    public let weight: Tensor
    /// (out)
    public let bias: Tensor?

    /// A map from `inputs` to `outputs` features.
    public init(inputs: Int, outputs: Int, bias: Bool = true, using rng: RandomGenerator) {
        let bound = 1 / Float(inputs).squareRoot()
        weight = Tensor.uniform([outputs, inputs], low: -bound, high: bound, using: rng).requiringGrad()
        self.bias = bias ? Tensor.uniform([outputs], low: -bound, high: bound, using: rng).requiringGrad() : nil
    }

    /// (…, in) → (…, out)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.linear(weight: weight, bias: bias)
    }
}

/// Layer normalisation over the last axis with a learnable gain (1) and bias (0).
public final class LayerNorm: Module {
    /// (D)
    public let gain: Tensor, bias: Tensor
    /// Added to the variance before the square root.
    public let epsilon: Float

    /// A normalisation over `width` features.
    public init(width: Int, epsilon: Float = 1e-5) {
        gain = Tensor.ones([width]).requiringGrad()
        bias = Tensor.zeros([width]).requiringGrad()
        self.epsilon = epsilon
    }

    /// (…, D) → (…, D)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(gain: gain, bias: bias, epsilon: epsilon)
    }
}

/// C independent linear maps evaluated in one batched product (an ensemble of critics).
/// Initialisation as einops' EinMix: weights U(±√(3/fan_in)), biases U(±√(1/fan_in)), drawn
/// independently for every member.
public final class EnsembleLinear: Module {
    /// (C, in, out)
    public let weight: Tensor
    /// (C, 1, out)
    public let bias: Tensor
    /// Number of ensemble members C.
    public let members: Int

    /// C independent maps from `inputs` to `outputs` features.
    public init(members: Int, inputs: Int, outputs: Int, using rng: RandomGenerator) {
        self.members = members
        let w = (3 / Float(inputs)).squareRoot(), b = (1 / Float(inputs)).squareRoot()
        weight = Tensor.uniform([members, inputs, outputs], low: -w, high: w, using: rng).requiringGrad()
        bias = Tensor.uniform([members, 1, outputs], low: -b, high: b, using: rng).requiringGrad()
    }

    /// (C, N, in) → (C, N, out); an input of shape (N, in) is shared by every member.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        if x.rank == 2 { return try x.matmul(eachOf: weight) + bias }
        guard x.rank == 3, x.shape[0] == members else {
            throw AutogradError.shapeMismatch(op: "EnsembleLinear", lhs: x.shape, rhs: weight.shape)
        }
        return try x.matmul(weight) + bias
    }
}

/// `Linear → norm → act → dropout`, `layers − 1` more hidden blocks, then a final `Linear`
/// with no activation (so `layers = 2` has three linear maps), as spec §2.1.
public final class MLP: Module {
    /// The hidden linear maps.
    public let hidden: [Linear]
    /// One LayerNorm per hidden map, or none.
    public let norms: [LayerNorm]
    /// The final map, with no activation after it.
    public let output: Linear
    /// The activation after each hidden map.
    public let activation: Activation
    /// Dropout probability after each activation.
    public let dropout: Float
    let rng: RandomGenerator

    /// An MLP with `layers` hidden maps of `width` features.
    public init(inputs: Int, hidden width: Int, layers: Int, outputs: Int, activation: Activation = .leakyReLU,
                layerNorm: Bool = false, dropout: Float = 0, using rng: RandomGenerator) {
        hidden = (0..<layers).map { Linear(inputs: $0 == 0 ? inputs : width, outputs: width, using: rng) }
        norms = layerNorm ? (0..<layers).map { _ in LayerNorm(width: width) } : []
        output = Linear(inputs: layers == 0 ? inputs : width, outputs: outputs, using: rng)
        self.activation = activation
        self.dropout = dropout
        self.rng = rng
    }

    /// (…, in) → (…, out)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for (i, layer) in hidden.enumerated() {
            h = try layer(h)
            if !norms.isEmpty { h = try norms[i](h) }
            h = try activation(h).dropout(probability: dropout, training: isTraining, using: rng)
        }
        return try output(h)
    }
}
