import Autograd
import Foundation
import NeuralNet
import Testing
import TestSupport

@Suite struct FreezeTests {
    @Test func frozenSigmaReparam_matchesEvaluation_keepsItsTensorNames_andTrainingDiscardsIt() throws {
        let rng = RandomGenerator(seed: 3)
        let layer = SigmaReparamLinear(inputs: 12, outputs: 8, using: rng)
        let x = randomTensor([5, 12], seed: 4)
        let names = layer.namedTensors().map(\.name)
        layer.train(false)
        let evaluated = try withNoGrad { try layer(x) }

        try layer.freezeForInference()
        #expect(!layer.isTraining)
        #expect(try withNoGrad { try layer(x) }.data == evaluated.data)
        #expect(layer.namedTensors().map(\.name) == names, "the cached weight is neither parameter nor buffer")

        // A frozen layer ignores later weight changes until training mode discards the cache.
        try layer.weight.assign(layer.weight.data.enumerated().map { $0.element + 0.05 * Float(sin(Double($0.offset))) })
        #expect(try withNoGrad { try layer(x) }.data == evaluated.data)
        layer.train(true)
        layer.train(false)
        let changed = try withNoGrad { try layer(x) }
        #expect(!isClose(changed.data, evaluated.data, relative: 1e-3, absolute: 1e-3 * 1e-3))
    }
}
