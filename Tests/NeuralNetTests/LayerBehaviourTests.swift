import Autograd
import Foundation
import NeuralNet
import Testing
import TestSupport

@Suite struct LayerBehaviourTests {
    /// The top singular value of W (rows × cols), by power iteration on WᵀW in double precision.
    func topSingularValue(_ w: [Float], rows: Int, cols: Int) -> Double {
        var v = (0..<cols).map { Double($0 % 7) + 1 }
        var sigma = 0.0
        for _ in 0..<5000 {
            let u = (0..<rows).map { i in (0..<cols).reduce(0.0) { $0 + Double(w[i * cols + $1]) * v[$1] } }
            var next = (0..<cols).map { j in (0..<rows).reduce(0.0) { $0 + Double(w[$1 * cols + j]) * u[$1] } }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            next = next.map { $0 / norm }
            sigma = norm.squareRoot()
            v = next
        }
        return sigma
    }

    @Test func sigmaReparam_tracksTheSpectralNormAndScalesToGamma() throws {
        let layer = SigmaReparamLinear(inputs: 12, outputs: 8, using: RandomGenerator(seed: 1))
        let rng = RandomGenerator(seed: 2)
        try layer.weight.assign((0..<96).map { _ in rng.normal() })  // a new weight: u, v are stale
        for _ in 0..<50 { _ = try layer(randomTensor([1, 12], seed: 3)) }
        let expected = topSingularValue(layer.weight.data, rows: 8, cols: 12)
        #expect(Swift.abs(Double(try layer.spectralNorm().item) - expected) / expected < 1e-4)
        try layer.gamma.assign([2.5])
        let effective = try layer.effectiveWeight()
        #expect(Swift.abs(topSingularValue(effective.data, rows: 8, cols: 12) - 2.5) < 1e-4)
    }

    @Test func sinusoidalEmbedding_matchesSpec() throws {
        let pe = try Transformer.sinusoidalEmbedding(times: [3], width: 8, shape: [1, 8])
        let expected: [Float] = [0.141120, -0.989992, 0.295520, 0.955336, 0.029996, 0.999550, 0.003000, 0.999996]
        #expect(zip(pe.data, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }

    @Test func initialisation_followsTheSpecTable() throws {
        let rng = RandomGenerator(seed: 1)
        let linear = Linear(inputs: 64, outputs: 32, using: rng)
        #expect(linear.weight.data.allSatisfy { Swift.abs($0) <= 0.125 } && linear.weight.data.map(Swift.abs).max()! > 0.12)
        let ensemble = EnsembleLinear(members: 4, inputs: 48, outputs: 16, using: rng)
        let bound = (3.0 / 48.0).squareRoot()
        #expect(ensemble.weight.data.allSatisfy { Double(Swift.abs($0)) <= bound })
        let member0 = Array(ensemble.weight.data[0..<(48 * 16)]), member1 = Array(ensemble.weight.data[(48 * 16)..<(96 * 16)])
        #expect(member0 != member1)
        let sigma = SigmaReparamLinear(inputs: 256, outputs: 256, using: rng)
        let std = (sigma.weight.data.map { $0 * $0 }.reduce(0, +) / Float(sigma.weight.count)).squareRoot()
        #expect(Swift.abs(std - 0.02) < 0.001 && sigma.gamma.data == [1])
        let gru = GRULayer(inputs: 5, width: 16, using: rng)
        #expect(gru.stateWeight.data.allSatisfy { Swift.abs($0) <= 0.25 })
    }

    @Test func namedParameters_useDottedPaths() throws {
        var c = TransformerConfiguration(inputs: 3)
        c.dModel = 8; c.heads = 2; c.dFeedForward = 16; c.layers = 2
        let model = Transformer(c, using: RandomGenerator(seed: 1))
        let names = model.namedParameters().map(\.name)
        #expect(names.contains("layers.1.qkv.weight") && names.contains("layers.0.norm4.gain") && names.contains("finalNorm.bias"))
        #expect(!names.contains("layers.0.qkv.u"))
        #expect(model.namedTensors().map(\.name).contains("layers.0.qkv.u"))
        #expect(Set(names).count == names.count)
    }

    @Test func gru_stepwiseStateMatchesTheWholeSequence() throws {
        let gru = GRU(inputs: 3, width: 5, layers: 2, using: RandomGenerator(seed: 1))
        let x = randomTensor([2, 6, 3], seed: 2)
        let (full, _) = try gru(x)
        var state: Tensor? = nil
        for t in 0..<6 {
            let (out, next) = try gru(x.slice(axis: 1, t..<(t + 1)), state: state)
            state = next
            #expect(isClose(out.data, try full.slice(axis: 1, t..<(t + 1)).data, relative: 1e-6, absolute: 1e-6))
        }
    }

    /// Step-by-step inference through the memory equals the whole-sequence pass, before and
    /// after the window slides and after a reset. One layer: the step output equals a full
    /// pass over just the tokens the memory holds. Two layers: cached keys of deeper layers
    /// remember what their tokens saw, so the match is a full pass over the trial with the
    /// attention window set to the memory's capacity.
    @Test(arguments: [(PositionEmbedding.fixed, 1), (.rotary, 1), (.fixed, 2), (.rotary, 2)])
    func transformer_memoryMatchesFullPass(position: PositionEmbedding, layers: Int) throws {
        let (capacity, steps, resetAt) = (4, 10, 7)
        var c = TransformerConfiguration(inputs: 3)
        c.dModel = 16; c.heads = 4; c.dFeedForward = 32; c.layers = layers; c.positionEmbedding = position
        c.attentionWindow = layers == 1 ? nil : capacity
        let model = Transformer(c, using: RandomGenerator(seed: 5))
        model.train(false)
        let x = randomTensor([1, steps, 3], seed: 6)
        let memory = try model.makeMemory(actors: 1, capacity: capacity)
        var trialStart = 0
        for t in 0..<steps {
            if t == resetAt { try memory.reset(where: [true]); trialStart = resetAt }
            let out = try model.step(x.slice(axis: 1, t..<(t + 1)), times: [t - trialStart], memory: memory)
            let first = layers == 1 ? Swift.max(trialStart, t - capacity + 1) : trialStart
            let full = try model(x.slice(axis: 1, first..<(t + 1)), times: (first...t).map { $0 - trialStart })
            #expect(isClose(out.data, try full.slice(axis: 1, (t - first)..<(t - first + 1)).data, relative: 1e-5, absolute: 1e-5), "step \(t)")
        }
        #expect(memory.lengths == [steps - resetAt])
    }
}
