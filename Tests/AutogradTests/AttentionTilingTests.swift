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
        let before = BLAS.threadCount
        defer { BLAS.setThreadCount(before) }
        BLAS.setThreadCount(1)
        let sequential = try run()
        BLAS.setThreadCount(2)
        #expect(try run() == sequential)
    }

    /// Without a gradient to keep, the forward pass keeps no probabilities; the result is the same.
    @Test func tiledAttention_inferenceEqualsTraining() throws {
        let (q, k, v) = inputs((2, 100, 8, 2, nil), seed: 3)
        let plain = try Tensor.causalAttention(query: q, key: k, value: v, heads: 2)
        for t in [q, k, v] { t.requiringGrad() }
        let recorded = try Tensor.causalAttention(query: q, key: k, value: v, heads: 2)
        #expect(plain.data == recorded.data)
    }
}
