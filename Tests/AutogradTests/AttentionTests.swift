import Autograd
import Foundation
import Testing
import TestSupport

@Suite struct AttentionTests {
    /// Attention computed position by position with plain loops.
    func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, window: Int = .max) -> [Float] {
        let (b, l, w) = (q.shape[0], q.shape[1], q.shape[2])
        let e = w / heads
        var out = [Float](repeating: 0, count: q.count)
        for n in 0..<b { for h in 0..<heads { for i in 0..<l {
            let first = Swift.max(0, i - window + 1)
            var scores = (first...i).map { j in
                (0..<e).reduce(Float(0)) { $0 + q.data[(n * l + i) * w + h * e + $1] * k.data[(n * l + j) * w + h * e + $1] } / Float(e).squareRoot()
            }
            let m = scores.max()!
            scores = scores.map { Foundation.exp($0 - m) }
            let total = scores.reduce(0, +)
            for j in first...i { for c in 0..<e {
                out[(n * l + i) * w + h * e + c] += scores[j - first] / total * v.data[(n * l + j) * w + h * e + c]
            } }
        } } }
        return out
    }

    @Test func attention_equalsNaiveLoop() throws {
        let q = randomTensor([2, 7, 12], seed: 1), k = randomTensor([2, 7, 12], seed: 2), v = randomTensor([2, 7, 12], seed: 3)
        let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: 3)
        #expect(isClose(y.data, naiveAttention(q, k, v, heads: 3), relative: 1e-5, absolute: 1e-5 * 1e-3))
        let windowed = try Tensor.causalAttention(query: q, key: k, value: v, heads: 3, window: 3)
        #expect(isClose(windowed.data, naiveAttention(q, k, v, heads: 3, window: 3), relative: 1e-5, absolute: 1e-5 * 1e-3))
        #expect(windowed.data != y.data)
    }

    /// With more than one BLAS thread, attention splits its (batch, head) pairs over threads;
    /// the results and gradients must equal the sequential ones.
    @Test func attention_parallelPathEqualsSequential() throws {
        func run() throws -> [[Float]] {
            let q = randomTensor([3, 9, 12], seed: 1), k = randomTensor([3, 9, 12], seed: 2), v = randomTensor([3, 9, 12], seed: 3)
            for t in [q, k, v] { t.requiringGrad() }
            let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: 3)
            try y.backward(seed: randomTensor([3, 9, 12], seed: 4).data)
            return [y.data, q.grad!, k.grad!, v.grad!]
        }
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        let sequential = try run()
        BLAS.setThreadCount(2)
        let parallel = try run()
        BLAS.setThreadCount(before)
        for (a, b) in zip(sequential, parallel) { #expect(isClose(a, b, relative: 1e-6, absolute: 1e-6 * 1e-3)) }
    }

    @Test func attention_isCausal() throws {
        let q = randomTensor([1, 6, 8], seed: 1), k = randomTensor([1, 6, 8], seed: 2), v = randomTensor([1, 6, 8], seed: 3)
        let base = try Tensor.causalAttention(query: q, key: k, value: v, heads: 2)
        for j in 0..<6 {
            let (k2, v2) = (k.detached(), v.detached())
            k2.withMutableData { for c in 0..<8 { $0[j * 8 + c] += 3 } }
            v2.withMutableData { for c in 0..<8 { $0[j * 8 + c] -= 2 } }
            let moved = try Tensor.causalAttention(query: q, key: k2, value: v2, heads: 2)
            #expect(Array(moved.data[0..<(j * 8)]) == Array(base.data[0..<(j * 8)]), "token \(j) leaked backwards")
            #expect(moved.data[(j * 8)...] != base.data[(j * 8)...])
        }
    }

    /// Feeds tokens one at a time through the cache and compares each output with a full causal
    /// pass over the tokens the cache should hold at that step.
    @Test func cache_matchesFullPassBeforeAndAfterSlidingAndAfterReset() throws {
        let (actors, heads, width, capacity, steps) = (2, 2, 8, 4, 11)
        let q = randomTensor([actors, steps, width], seed: 1)
        let k = randomTensor([actors, steps, width], seed: 2)
        let v = randomTensor([actors, steps, width], seed: 3)
        let cache = try KeyValueCache(actors: actors, capacity: capacity, heads: heads, width: width)
        let resetAt = 8  // actor 1's trial ends after step 7: its memory starts afresh at step 8
        var start = [0, 0]  // first token each actor's window may include (before the window limit)
        for t in 0..<steps {
            if t == resetAt {
                try cache.reset(where: [false, true])
                start[1] = resetAt
            }
            let step = try [q, k, v].map { try $0.slice(axis: 1, t..<(t + 1)) }
            let out = try cache.attend(query: step[0], key: step[1], value: step[2])
            cache.advance()
            for n in 0..<actors {
                let first = Swift.max(start[n], t - capacity + 1)
                let window = try [q, k, v].map { try $0.slice(axis: 0, n..<(n + 1)).slice(axis: 1, first..<(t + 1)) }
                let full = try Tensor.causalAttention(query: window[0], key: window[1], value: window[2], heads: heads)
                let expected = Array(full.data[((t - first) * width)...])
                let got = Array(out.data[(n * width)..<((n + 1) * width)])
                #expect(isClose(got, expected, relative: 1e-5, absolute: 1e-5), "actor \(n) step \(t)")
            }
        }
        #expect(cache.lengths == [capacity - 1, steps - resetAt])
    }
}
