import Autograd
import Testing
import TestSupport

/// Finite-difference checks of every differentiable op of the engine.
@Suite struct GradientTests {
    func expectGradients(_ inputs: [Tensor], step: Float = 1e-2, _ f: @escaping ([Tensor]) throws -> Tensor) throws {
        let result = try checkGradients(inputs, step: step, f)
        #expect(result.passed, "\(result)")
    }

    /// Values in ±[0.2, 1]: at least 0.2 from the kinks of ReLU, abs and clamp at 0.
    func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = randomTensor(shape, seed: seed, low: 0.2, high: 1)
        let signs = randomTensor(shape, seed: seed + 100)
        return try! Tensor(shape: shape, data: zip(t.data, signs.data).map { $1 < 0 ? -$0 : $0 })
    }

    @Test func matmul_2dAllTransposes() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [4, 3] : [3, 4], seed: 1), b = randomTensor(tb ? [5, 4] : [4, 5], seed: 2)
            try expectGradients([a, b]) { try $0[0].matmul($0[1], transposingA: ta, transposingB: tb) }
        }
    }

    @Test func matmul_batchedAndFolded() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [2, 3, 4, 3] : [2, 3, 3, 4], seed: 3)
            let b = randomTensor(tb ? [2, 3, 5, 4] : [2, 3, 4, 5], seed: 4)
            try expectGradients([a, b]) { try $0[0].matmul($0[1], transposingA: ta, transposingB: tb) }
            let w = randomTensor(tb ? [5, 4] : [4, 5], seed: 5)
            try expectGradients([a, w]) { try $0[0].matmul($0[1], transposingA: ta, transposingB: tb) }
        }
    }

    /// One left operand shared by a stack of right ones: both gradients, and the values of
    /// multiplying each member's copy separately.
    @Test func matmul_eachOfAStack() throws {
        let x = randomTensor([5, 4], seed: 6), w = randomTensor([3, 4, 2], seed: 7)
        try expectGradients([x, w]) { try $0[0].matmul(eachOf: $0[1]) }
        let copied = try x.broadcast(to: [3, 5, 4]).matmul(w)
        #expect(try x.matmul(eachOf: w).data == copied.data)
    }

    @Test func bilinearForm() throws {
        let w = randomTensor([3, 4], seed: 1)
        try expectGradients([w]) { try $0[0].bilinearForm(left: [0.5, -1, 2], right: [1, 0.25, -0.5, 3]) }
    }

    @Test func linear_withAndWithoutBias() throws {
        let x = randomTensor([2, 3, 4], seed: 1), w = randomTensor([5, 4], seed: 2), b = randomTensor([5], seed: 3)
        try expectGradients([x, w, b]) { try $0[0].linear(weight: $0[1], bias: $0[2]) }
        try expectGradients([x, w]) { try $0[0].linear(weight: $0[1]) }
    }

    @Test func arithmetic_broadcasting() throws {
        let shapes: [([Int], [Int])] = [([3, 4], [3, 4]), ([3, 4], [4]), ([2, 3, 4], [3, 1]), ([3, 1], [1, 4]), ([2, 3], [])]
        for (sa, sb) in shapes {
            let a = randomTensor(sa, seed: 1), b = randomTensor(sb, seed: 2, low: 0.5, high: 2)
            try expectGradients([a, b]) { try $0[0] + $0[1] }
            try expectGradients([a, b]) { try $0[0] - $0[1] }
            try expectGradients([a, b]) { try $0[0] * $0[1] }
            try expectGradients([a, b]) { try $0[0] / $0[1] }
            try expectGradients([b, a]) { try $0[0] * $0[1] }
        }
        let a = randomTensor([3, 4], seed: 9)
        try expectGradients([a]) { 3 - $0[0] * 2 + 1 }
        try expectGradients([a]) { -$0[0] / 4 }
    }

    @Test func reductions() throws {
        let x = randomTensor([2, 3, 4], seed: 1)
        try expectGradients([x]) { $0[0].sum() }
        try expectGradients([x]) { $0[0].mean() }
        for axis in [0, 1, 2, -1] {
            try expectGradients([x]) { try $0[0].sum(axis: axis) }
            try expectGradients([x]) { try $0[0].mean(axis: axis, keepingAxis: true) }
            try expectGradients([x]) { try $0[0].max(axis: axis).values }
            try expectGradients([x]) { try $0[0].min(axis: axis, keepingAxis: true).values }
        }
        let mask = try Tensor(shape: [2, 3, 1], data: [1, 0, 1, 1, 1, 0])
        try expectGradients([x]) { try $0[0].maskedMean(mask) }
        try expectGradients([x]) { try $0[0].maskedMean(mask, axis: 1) }
    }

    @Test func unaryFunctions() throws {
        let x = randomTensor([3, 5], seed: 1, low: -2, high: 2)
        let positive = randomTensor([3, 5], seed: 2, low: 0.5, high: 2)
        let kinked = awayFromZero([3, 5], seed: 3)
        try expectGradients([x]) { $0[0].exp() }
        try expectGradients([positive]) { $0[0].log() }
        try expectGradients([positive]) { $0[0].sqrt() }
        try expectGradients([positive]) { $0[0].pow(2.5) }
        try expectGradients([kinked]) { $0[0].clamp(min: -0.5, max: 0.5) }
        try expectGradients([kinked]) { $0[0].abs() }
        try expectGradients([x]) { $0[0].tanh() }
        try expectGradients([x]) { $0[0].sigmoid() }
        try expectGradients([x]) { $0[0].softplus() }
        try expectGradients([kinked]) { $0[0].relu() }
        try expectGradients([kinked]) { $0[0].leakyReLU() }
        try expectGradients([x]) { $0[0].gelu() }
        try expectGradients([kinked]) { $0[0].symlog() }
        try expectGradients([x]) { $0[0].symexp() }
    }

    @Test func softmaxFamily() throws {
        let x = randomTensor([2, 3, 5], seed: 1, low: -2, high: 2)
        try expectGradients([x]) { $0[0].softmax() }
        try expectGradients([x]) { $0[0].logSoftmax() }
        let labels = randomTensor([2, 3, 5], seed: 2, low: 0, high: 1).softmax().detached()
        try expectGradients([x, labels]) { try $0[0].crossEntropy(softLabels: $0[1]) }
    }

    @Test func crossEntropy_gradientIsSoftmaxMinusLabel() throws {
        let x = randomTensor([4, 6], seed: 5).requiringGrad()
        let labels = randomTensor([4, 6], seed: 6, low: 0, high: 1).softmax().detached()
        try x.crossEntropy(softLabels: labels).sum().backward()
        let expected = try x.softmax().detached() - labels
        #expect(isClose(x.grad!, expected.data, relative: 1e-4, absolute: 1e-4 * 1e-3))
    }

    @Test func layerNorm_fused() throws {
        let x = randomTensor([3, 4, 8], seed: 1, low: -2, high: 2)
        let g = randomTensor([8], seed: 2, low: 0.5, high: 1.5), b = randomTensor([8], seed: 3)
        try expectGradients([x, g, b]) { try $0[0].layerNorm(gain: $0[1], bias: $0[2]) }
        try expectGradients([x]) { try $0[0].layerNorm(gain: nil, bias: nil) }
    }

    @Test func causalAttention() throws {
        let q = randomTensor([2, 5, 8], seed: 1), k = randomTensor([2, 5, 8], seed: 2), v = randomTensor([2, 5, 8], seed: 3)
        try expectGradients([q, k, v]) { try Tensor.causalAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2) }
        try expectGradients([q, k, v]) { try Tensor.causalAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, window: 2) }
    }

    @Test func shapeOperations() throws {
        let x = randomTensor([2, 3, 4], seed: 1), y = randomTensor([2, 2, 4], seed: 2)
        try expectGradients([x]) { try $0[0].reshaped([6, -1]) * $0[0].reshaped([6, 4]) }
        try expectGradients([x]) { try $0[0].permuted([2, 0, 1]) }
        try expectGradients([x]) { try $0[0].transposed(0, 1) }
        try expectGradients([x]) { try $0[0].broadcast(to: [5, 2, 3, 4]) }
        try expectGradients([x]) { try $0[0].repeated([2, 1, 3, 1]) }
        try expectGradients([x, y]) { try Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        try expectGradients([x]) { try $0[0].slice(axis: 2, 1..<3) }
        try expectGradients([x]) { x in
            let parts = try x[0].split(sizes: [1, 2, 1], axis: -1)
            return try Tensor.concatenate([parts[2] * 3, parts[0], parts[1]], axis: -1)
        }
    }

    @Test func embeddingAndGather() throws {
        let table = randomTensor([5, 3], seed: 1)
        try expectGradients([table]) { try $0[0].embedding(indices: [4, 0, 4, 2], shape: [2, 2]) }
        let x = randomTensor([2, 4, 3], seed: 2)
        try expectGradients([x]) { try $0[0].gather(axis: 1, indices: [3, 0, 1, 1, 2, 2, 0, 3, 3, 1, 0, 2], shape: [2, 2, 3]) }
        try expectGradients([x]) { try $0[0].gather(axis: -1, indices: Array(repeating: [2, 0], count: 8).flatMap { $0 }, shape: [2, 4, 2]) }
    }

    @Test func rotaryAndDropout() throws {
        let x = randomTensor([2, 3, 8], seed: 1)
        let positions: [Float] = [0, 1, 2, 5, 6, 7]
        try expectGradients([x]) { try $0[0].rotaryEmbedding(positions: positions, heads: 2) }
        try expectGradients([x]) { try $0[0].dropout(probability: 0.3, training: true, using: RandomGenerator(seed: 11)) }
    }
}
