import Autograd
import NeuralNet
import Testing
import TestSupport

/// Finite-difference checks of the layers, through their parameters and inputs.
@Suite struct LayerGradientTests {
    func expectGradients(_ inputs: [Tensor], step: Float = 1e-2, _ f: @escaping ([Tensor]) throws -> Tensor) throws {
        let result = try checkGradients(inputs, step: step, f)
        #expect(result.passed, "\(result)")
    }

    @Test func sigmaReparamLinear_gradientsOfWeightGammaBiasAndInput() throws {
        let layer = SigmaReparamLinear(inputs: 4, outputs: 3, using: RandomGenerator(seed: 1))
        _ = try layer(randomTensor([2, 4], seed: 2))  // one training step moves u, v
        layer.train(false)                            // then u, v stay frozen
        try layer.gamma.assign([1.7])
        let x = randomTensor([2, 4], seed: 3)
        try expectGradients([x, layer.weight, layer.gamma, layer.bias!], step: 1e-3) { _ in try layer(x) }
    }

    @Test func ensembleLinear_sharedAndPerMemberInputs() throws {
        let layer = EnsembleLinear(members: 3, inputs: 4, outputs: 2, using: RandomGenerator(seed: 1))
        let shared = randomTensor([5, 4], seed: 2), separate = randomTensor([3, 5, 4], seed: 3)
        try expectGradients([shared, layer.weight, layer.bias]) { try layer($0[0]) }
        try expectGradients([separate, layer.weight, layer.bias]) { try layer($0[0]) }
    }

    @Test func mlp_withLayerNorm() throws {
        let mlp = MLP(inputs: 3, hidden: 6, layers: 2, outputs: 2, activation: .gelu, layerNorm: true, using: RandomGenerator(seed: 4))
        let x = randomTensor([4, 3], seed: 5)
        try expectGradients([x] + mlp.parameters) { _ in try mlp(x) }
    }

    @Test func gru_sequenceWithInitialState() throws {
        let gru = GRU(inputs: 3, width: 4, layers: 2, using: RandomGenerator(seed: 1))
        let x = randomTensor([2, 5, 3], seed: 2), h0 = randomTensor([2, 2, 4], seed: 3)
        try expectGradients([x, h0] + gru.parameters) { _ in
            let (out, state) = try gru(x, state: h0)
            return try Tensor.concatenate([out.reshaped([-1]), state.reshaped([-1])], axis: 0)
        }
    }

    func tinyConfiguration(_ position: PositionEmbedding) -> TransformerConfiguration {
        var c = TransformerConfiguration(inputs: 3)
        c.dModel = 8; c.heads = 2; c.dFeedForward = 16; c.layers = 1
        c.dropoutEmbedding = 0; c.dropoutFeedForward = 0
        c.positionEmbedding = position
        c.activation = .gelu  // smooth, so finite differences are not thrown off by a kink
        return c
    }

    @Test(arguments: [PositionEmbedding.fixed, .learnable(maxTime: 10), .rotary])
    func transformer_tinyModel(position: PositionEmbedding) throws {
        let model = Transformer(tinyConfiguration(position), using: RandomGenerator(seed: 1))
        _ = try model(randomTensor([2, 4, 3], seed: 9), times: [0, 1, 2, 3, 4, 5, 6, 7])
        model.train(false)  // freeze σ-reparam's singular vectors so the function is fixed
        let x = randomTensor([2, 4, 3], seed: 2)
        let times = [0, 1, 2, 3, 5, 6, 7, 8]
        try expectGradients([x] + model.parameters, step: 1e-3) { _ in try model(x, times: times) }
    }

    @Test func transformerLayer_withoutNormformerOrSigmaReparam() throws {
        var c = tinyConfiguration(.fixed)
        c.normformerNorms = false; c.sigmaReparam = false; c.activation = .tanh
        let layer = TransformerLayer(c, using: RandomGenerator(seed: 3))
        let x = randomTensor([2, 3, 8], seed: 4)
        try expectGradients([x] + layer.parameters, step: 3e-3) { _ in try layer(x, positions: [0, 1, 2, 0, 1, 2]) }
    }
}
