import Autograd
import Testing
import TestSupport

/// Attention at the edges of its query tiles (64 rows): one token, lengths just below, at and
/// above a tile, several tiles with a window that starts inside an earlier tile, head widths
/// that are not a multiple of the 4-float vectors, and the 8-row blocks of the row sums.
@Suite struct AttentionTilingTests {
    /// (batch, length, width, heads, window)
    static let cases: [(Int, Int, Int, Int, Int?)] = [
        (2, 1, 6, 2, nil), (1, 63, 10, 2, nil), (1, 64, 8, 1, nil), (2, 65, 12, 4, nil), (1, 130, 6, 2, 50), (1, 150, 5, 1, 3),
    ]

    func inputs(_ c: (Int, Int, Int, Int, Int?), seed: UInt64) -> (Tensor, Tensor, Tensor) {
        let shape = [c.0, c.1, c.2]
        return (randomTensor(shape, seed: seed), randomTensor(shape, seed: seed + 1), randomTensor(shape, seed: seed + 2))
    }

    @Test func tiledAttention_equalsNaiveLoop() throws {
        for (n, c) in Self.cases.enumerated() {
            let (q, k, v) = inputs(c, seed: UInt64(10 * n + 1))
            let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: c.3, window: c.4)
            let want = AttentionTests().naiveAttention(q, k, v, heads: c.3, window: c.4 ?? .max)
            #expect(isClose(y.data, want, relative: 1e-5, absolute: 1e-5), "\(c)")
        }
    }

    @Test func tiledAttention_gradients() throws {
        for (n, c) in Self.cases.enumerated() {
            let (q, k, v) = inputs(c, seed: UInt64(10 * n + 5))
            let result = try checkGradients([q, k, v], samplesPerInput: 40) {
                try Tensor.causalAttention(query: $0[0], key: $0[1], value: $0[2], heads: c.3, window: c.4)
            }
            #expect(result.passed, "\(c): \(result)")
        }
    }

    /// Several tiles and two threads: the (batch, head) pairs split over threads give the same
    /// results and gradients as one thread, bit for bit (each pair is computed by one thread).
    @Test func tiledAttention_parallelPathEqualsSequential() throws {
        func run() throws -> [[Float]] {
            let (q, k, v) = inputs((3, 140, 12, 3, nil), seed: 7)
            for t in [q, k, v] { t.requiringGrad() }
            let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: 3)
            try y.backward(seed: randomTensor([3, 140, 12], seed: 9).data)
            return [y.data, q.grad!, k.grad!, v.grad!]
        }
        try expectSameAtOneAndTwoThreads(run)
    }

    /// Without a gradient to keep, the forward pass keeps no probabilities; the result is the same.
    @Test func tiledAttention_inferenceEqualsTraining() throws {
        let (q, k, v) = inputs((2, 100, 8, 2, nil), seed: 3)
        let plain = try Tensor.causalAttention(query: q, key: k, value: v, heads: 2)
        for t in [q, k, v] { t.requiringGrad() }
        let recorded = try Tensor.causalAttention(query: q, key: k, value: v, heads: 2)
        #expect(plain.data == recorded.data)
    }

    /// (B, L, 3·W) with q, k and v side by side in each row.
    func packed(_ q: Tensor, _ k: Tensor, _ v: Tensor) throws -> Tensor {
        let (b, l, w) = (q.shape[0], q.shape[1], q.shape[2])
        var data: [Float] = []
        for row in 0..<(b * l) { for t in [q, k, v] { data += t.data[(row * w)..<((row + 1) * w)] } }
        return try Tensor(shape: [b, l, 3 * w], data: data)
    }

    /// Attention over a packed projection equals attention over its three blocks, forward and
    /// backward, bit for bit (the same products over the same numbers, read at another stride).
    @Test func packedAttention_equalsSeparateBlocks() throws {
        for (n, c) in Self.cases.enumerated() {
            let (q, k, v) = inputs(c, seed: UInt64(10 * n + 3))
            for t in [q, k, v] { t.requiringGrad() }
            let qkv = try packed(q, k, v).requiringGrad()
            let seed = randomTensor([c.0, c.1, c.2], seed: UInt64(10 * n + 8)).data
            let separate = try Tensor.causalAttention(query: q, key: k, value: v, heads: c.3, window: c.4)
            let together = try Tensor.causalAttention(packed: qkv, heads: c.3, window: c.4)
            #expect(together.shape == separate.shape)
            #expect(together.data == separate.data, "\(c)")
            try separate.backward(seed: seed)
            try together.backward(seed: seed)
            let want = try packed(Tensor(shape: q.shape, data: q.grad!), Tensor(shape: k.shape, data: k.grad!),
                                  Tensor(shape: v.shape, data: v.grad!))
            #expect(qkv.grad! == want.data, "\(c)")
        }
    }

    @Test func packedAttention_gradients() throws {
        for (n, c) in Self.cases.enumerated() {
            let (q, k, v) = inputs(c, seed: UInt64(10 * n + 6))
            let result = try checkGradients([try packed(q, k, v)], samplesPerInput: 60) {
                try Tensor.causalAttention(packed: $0[0], heads: c.3, window: c.4)
            }
            #expect(result.passed, "\(c): \(result)")
        }
    }

    @Test func packedAttention_rejectsAWidthNotAMultipleOfThree() throws {
        #expect(throws: AutogradError.self) { try Tensor.causalAttention(packed: randomTensor([1, 4, 10], seed: 1), heads: 2) }
        #expect(throws: AutogradError.self) { try Tensor.causalAttention(packed: randomTensor([4, 12], seed: 1), heads: 2) }
    }

    /// The packed path at two threads equals one thread, bit for bit.
    @Test func packedAttention_parallelPathEqualsSequential() throws {
        func run() throws -> [[Float]] {
            let (q, k, v) = inputs((3, 140, 12, 3, nil), seed: 7)
            let qkv = try packed(q, k, v).requiringGrad()
            let y = try Tensor.causalAttention(packed: qkv, heads: 3)
            try y.backward(seed: randomTensor([3, 140, 12], seed: 9).data)
            return [y.data, qkv.grad!]
        }
        try expectSameAtOneAndTwoThreads(run)
    }

    /// Runs `body` at one engine thread and at two; the results must be equal bit for bit.
    func expectSameAtOneAndTwoThreads(_ body: () throws -> [[Float]]) throws {
        let before = BLAS.threadCount
        defer { BLAS.setThreadCount(before) }
        BLAS.setThreadCount(1)
        let sequential = try body()
        BLAS.setThreadCount(2)
        #expect(try body() == sequential)
    }
}
