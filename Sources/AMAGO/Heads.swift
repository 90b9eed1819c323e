import Autograd
import Environments
import NeuralNet

// Actor and critic heads (spec §4). Shape letters: B batch, L length, D state width,
// G gammas, A actions (count or dimension), F distribution parameters per gamma,
// C critics, K action samples, R rows.

extension ActionSpace {
    /// Whether actions are indices rather than vectors.
    public var isDiscrete: Bool { if case .discrete = self { return true } else { return false } }
}

/// One policy per gamma from the state (spec §4.2): MLP(D, 256, 2, F·G), gamma-major outputs.
public final class Actor: Module {
    public let mlp: MLP
    public let gammas: Int, parametersPerGamma: Int
    public let actionSpace: ActionSpace

    public init(stateWidth: Int, actionSpace: ActionSpace, gammas: Int, hidden: Int = 256, layers: Int = 2,
                activation: Activation = .leakyReLU, using rng: RandomGenerator) {
        self.actionSpace = actionSpace
        self.gammas = gammas
        parametersPerGamma = actionSpace.isDiscrete ? actionSpace.width : 2 * actionSpace.width
        mlp = MLP(inputs: stateWidth, hidden: hidden, layers: layers, outputs: parametersPerGamma * gammas,
                  activation: activation, using: rng)
    }

    /// (B, L, D) → raw distribution parameters (B, L, G, F).
    public func callAsFunction(_ state: Tensor) throws -> Tensor {
        let out = try mlp(state)
        return try out.reshaped(Array(state.shape.dropLast()) + [gammas, parametersPerGamma])
    }
}

/// C independent MLPs evaluated in one batched product (spec §4.4): `in → 256 → 256 → out`
/// with LeakyReLU after the hidden layers.
public final class CriticEnsemble: Module {
    public let layers: [EnsembleLinear]
    public let activation: Activation
    public let members: Int

    public init(members: Int, inputs: Int, outputs: Int, hidden: Int = 256, hiddenLayers: Int = 2,
                activation: Activation = .leakyReLU, using rng: RandomGenerator) {
        self.members = members
        self.activation = activation
        layers = (0...hiddenLayers).map { i in
            EnsembleLinear(members: members, inputs: i == 0 ? inputs : hidden, outputs: i == hiddenLayers ? outputs : hidden, using: rng)
        }
    }

    /// (R, in) shared by every member → (C, R, out).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = try layer(h)
            if i < layers.count - 1 { h = activation(h) }
        }
        return h
    }

    /// Discrete critic (spec §4.4): state (B, L, D) → Q for every action (C, B, L, G, A).
    func actionValues(_ state: Tensor, gammas: Int) throws -> Tensor {
        let lead = Array(state.shape.dropLast())
        let rows = lead.product
        let out = try self(state.reshaped([rows, state.shape.last!]))
        let a = out.shape[2] / gammas
        return try out.reshaped([members] + lead + [gammas, a])
    }

    /// State–action critic (spec §4.4–4.5): for every sample k, position and gamma, the input
    /// `concat(state, gamma feature, clamp(action, ±0.999))`.
    /// - Parameters:
    ///   - state: (B, L, D)
    ///   - actions: (K, B, L, G, A)
    ///   - gammaFeature: (G)
    /// - Returns: (C, K, B, L, G, out)
    func stateActionValues(_ state: Tensor, actions: Tensor, gammaFeature: [Float]) throws -> Tensor {
        let (k, b, l, g, a) = (actions.shape[0], actions.shape[1], actions.shape[2], actions.shape[3], actions.shape[4])
        let d = state.shape[2]
        guard state.shape == [b, l, d], gammaFeature.count == g else {
            throw AMAGOError.invalidBatch("critic inputs disagree: state \(state.shape), actions \(actions.shape)")
        }
        let states = try state.reshaped([1, b, l, 1, d]).broadcast(to: [k, b, l, g, d])
        let feature = try Tensor(shape: [1, 1, 1, g, 1], data: gammaFeature).broadcast(to: [k, b, l, g, 1])
        let input = try Tensor.concatenate([states, feature, actions.clamp(min: -0.999, max: 0.999)], axis: -1)
        let out = try self(input.reshaped([k * b * l * g, d + 1 + a]))
        return try out.reshaped([members, k, b, l, g, out.shape[2]])
    }
}

extension Module {
    /// Copies every tensor of `source` (same architecture) into this module.
    public func copyTensors(from source: Module) throws {
        for ((name, target), (_, value)) in zip(namedTensors(), source.namedTensors()) {
            guard target.shape == value.shape else {
                throw AMAGOError.invalidConfiguration(field: name, message: "copy between different architectures")
            }
            try target.assign(value.data)
        }
    }

    /// θ ← (1 − τ)·θ + τ·θ_source for every tensor (Polyak averaging).
    public func polyakUpdate(from source: Module, tau: Float) throws {
        for ((name, target), (_, value)) in zip(namedTensors(), source.namedTensors()) {
            guard target.shape == value.shape else {
                throw AMAGOError.invalidConfiguration(field: name, message: "Polyak update between different architectures")
            }
            value.data.withUnsafeBufferPointer { v in
                target.withMutableData { t in
                    for i in 0..<t.count { t[i] = (1 - tau) * t[i] + tau * v[i] }
                }
            }
        }
    }

    /// Stops gradient tracking for every tensor (for target and frozen copies).
    public func freeze() { for (_, t) in namedTensors() { t.requiringGrad(false) } }
}
