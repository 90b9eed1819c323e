import Autograd
import Foundation
import Testing
import TestSupport

/// The engine's thread pool: a product cut into row or column blocks equals the one-thread
/// product element for element; every chunk of a job runs exactly once, also when jobs come
/// from inside a chunk or from two threads at once.
@Suite(.serialized) struct ParallelTests {
    /// Runs `body` at `width` engine threads, restoring the width afterwards.
    func atWidth<R>(_ width: Int, _ body: () throws -> R) rethrows -> R {
        let before = BLAS.threadCount
        BLAS.setThreadCount(width)
        defer { BLAS.setThreadCount(before) }
        return try body()
    }

    func values(_ count: Int, seed: UInt64) -> [Float] {
        let rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in rng.uniform() - 0.5 }
    }

    /// Products large enough to be cut, by rows (m large) and by columns (m small), in every
    /// transpose combination, forward and backward: two threads give the one-thread values.
    @Test(arguments: [(300, 200, 96), (40, 700, 128), (17, 19, 23), (513, 64, 300)])
    func cutProducts_equalOneThread(m: Int, n: Int, k: Int) throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n]
            let aData = values(m * k, seed: 1), bData = values(k * n, seed: 2), seed = values(m * n, seed: 3)
            func run() throws -> ([Float], [Float], [Float]) {
                let a = try Tensor(shape: aShape, data: aData, requiresGrad: true)
                let b = try Tensor(shape: bShape, data: bData, requiresGrad: true)
                let y = try a.matmul(b, transposingA: ta, transposingB: tb)
                try y.backward(seed: seed)
                return (y.data, a.grad!, b.grad!)
            }
            let one = try atWidth(1, run), two = try atWidth(2, run)
            #expect(one.0 == two.0, "product \(m)×\(n)×\(k) ta \(ta) tb \(tb)")
            #expect(one.1 == two.1, "dA \(m)×\(n)×\(k) ta \(ta) tb \(tb)")
            #expect(one.2 == two.2, "dB \(m)×\(n)×\(k) ta \(ta) tb \(tb)")
        }
    }

    /// Element-wise kernels large enough to be cut between threads — same-shape and broadcast
    /// arithmetic, activations, dropout, and their gradients — give the one-thread values.
    @Test func elementWiseKernels_equalOneThread() throws {
        let aData = values(4 * 300 * 64, seed: 6), bData = values(4 * 64, seed: 7), cData = values(300 * 64, seed: 8)
        let seed = values(4 * 300 * 64, seed: 9)
        func run() throws -> [[Float]] {
            let a = try Tensor(shape: [4, 300, 64], data: aData, requiresGrad: true)
            let b = try Tensor(shape: [4, 1, 64], data: bData, requiresGrad: true)
            let c = try Tensor(shape: [300, 64], data: cData, requiresGrad: true)
            let h = try ((a + b) * c).leakyReLU() * a - (a / (c.abs() + 1)).tanh()
            let y = try h.dropout(probability: 0.1, training: true, using: RandomGenerator(seed: 3)) * 0.5
            try y.backward(seed: seed)
            return [y.data, a.grad!, b.grad!, c.grad!]
        }
        let one = try atWidth(1, run), two = try atWidth(2, run)
        for (i, name) in ["y", "da", "db", "dc"].enumerated() { #expect(one[i] == two[i], "\(name)") }
    }

    /// Softmax, log-softmax and cross-entropy over many short rows (cut between threads by
    /// rows) and their gradients give the one-thread values.
    @Test func rowKernels_equalOneThread() throws {
        let xData = values(20_000 * 6, seed: 41), labelData = values(20_000 * 6, seed: 42).map { $0 + 0.5 }
        let seed = values(20_000 * 6, seed: 43), rowSeed = values(20_000, seed: 44)
        func run() throws -> [[Float]] {
            let x = try Tensor(shape: [20_000, 6], data: xData, requiresGrad: true)
            let labels = try Tensor(shape: [20_000, 6], data: labelData, requiresGrad: true)
            let s = x.softmax(), l = x.logSoftmax(), c = try x.crossEntropy(softLabels: labels)
            try (s * l).backward(seed: seed)
            try c.backward(seed: rowSeed)
            return [s.data, l.data, c.data, x.grad!, labels.grad!]
        }
        let one = try atWidth(1, run), two = try atWidth(2, run)
        for (i, name) in ["softmax", "logSoftmax", "crossEntropy", "dx", "dlabels"].enumerated() { #expect(one[i] == two[i], "\(name)") }
    }

    /// The gradient of a broadcast operand is a sum over the rows it was broadcast along. For
    /// results large enough to be cut into row blocks, in each operation and with the operand
    /// broadcast along its last axis (a per-head scale), along leading axes (a bias) or both,
    /// it equals the sum in double precision, and two threads equal one.
    @Test(arguments: [([64, 32, 8, 4], [8, 1]), ([48, 40, 64], [64]), ([48, 40, 64], [48, 1, 64]), ([96, 700], [96, 1]), ([30000, 3], [1])])
    func broadcastReductions_equalNaiveSums(big: [Int], small: [Int]) throws {
        let n = big.product, seed = values(n, seed: 21)
        let bigData = values(n, seed: 22), smallData = values(small.product, seed: 23).map { $0 + 2 }
        // Row-major strides of the small operand, aligned to the right, 0 where it is broadcast.
        let aligned = [Int](repeating: 1, count: big.count - small.count) + small
        var strides = [Int](repeating: 0, count: big.count), step = 1
        for axis in stride(from: big.count - 1, through: 0, by: -1) {
            strides[axis] = aligned[axis] == 1 ? 0 : step
            step *= aligned[axis]
        }
        // The small operand's element that each element of the result reads.
        let index: [Int] = (0..<n).map { flat in
            var rest = flat, at = 0
            for axis in stride(from: big.count - 1, through: 0, by: -1) {
                at += (rest % big[axis]) * strides[axis]
                rest /= big[axis]
            }
            return at
        }
        for op in ["add", "sub", "mul", "div"] {
            func run() throws -> [Float] {
                let a = try Tensor(shape: big, data: bigData)
                let b = try Tensor(shape: small, data: smallData, requiresGrad: true)
                let y: Tensor
                switch op {
                case "add": y = try a + b
                case "sub": y = try a - b
                case "mul": y = try a * b
                default: y = try a / b
                }
                try y.backward(seed: seed)
                return b.grad!
            }
            var want = [Double](repeating: 0, count: small.product)
            for i in 0..<n {
                let g = Double(seed[i]), x = Double(bigData[i]), v = Double(smallData[index[i]])
                switch op {
                case "add": want[index[i]] += g
                case "sub": want[index[i]] -= g
                case "mul": want[index[i]] += g * x
                default: want[index[i]] -= g * x / (v * v)
                }
            }
            let one = try atWidth(1, run), two = try atWidth(2, run)
            #expect(one == two, "\(op) \(big) \(small)")
            let scale = want.map(abs).max()!
            let error = zip(one, want).map { abs(Double($0) - $1) }.max()!
            #expect(error <= 1e-5 * Swift.max(scale, 1), "\(op) \(big) \(small): error \(error)")
        }
    }

    /// Finite differences through the cut reduction, both operands needing a gradient.
    @Test func broadcastReduction_gradientCheck() throws {
        let a = try Tensor(shape: [64, 32, 8, 4], data: values(65536, seed: 31))
        let b = try Tensor(shape: [8, 1], data: values(8, seed: 32))
        let result = try checkGradients([a, b], samplesPerInput: 8) { try $0[0] * $0[1] + $0[1] }
        #expect(result.passed, "\(result)")
    }

    /// Many jobs of many chunks, some starting jobs of their own inside a chunk: each chunk
    /// runs once per job.
    @Test func chunks_runOnceEach_nestedJobsToo() {
        atWidth(2) {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 64 * 8)
            counts.initialize(repeating: 0, count: 64 * 8)
            defer { counts.deallocate() }
            let lock = NSLock()
            for job in 0..<2000 {
                let chunks = 1 + job % 8
                Parallel.forEachChunk(chunks) { c in
                    lock.lock(); counts[(job % 64) * 8 + c] += 1; lock.unlock()
                    if job % 5 == 0 {  // a job from inside a job (inline, or on the pool when the outer one ran inline)
                        let inner = NSLock()
                        var seen = [Int](repeating: 0, count: 3)
                        Parallel.forEachChunk(3) { i in inner.lock(); seen[i] += 1; inner.unlock() }
                        #expect(seen == [1, 1, 1])
                    }
                }
            }
            for slot in 0..<64 {
                let jobs = (0..<2000).filter { $0 % 64 == slot }
                for c in 0..<8 {
                    let expected = jobs.filter { 1 + $0 % 8 > c }.count
                    #expect(counts[slot * 8 + c] == expected, "slot \(slot) chunk \(c)")
                }
            }
        }
    }

    /// Two threads training at once share one pool: both get correct products.
    @Test func twoCallers_bothCorrect() throws {
        let (m, n, k) = (256, 256, 128)
        let a = try Tensor(shape: [m, k], data: values(m * k, seed: 4))
        let b = try Tensor(shape: [k, n], data: values(k * n, seed: 5))
        let expected = try atWidth(1) { try a.matmul(b).data }
        atWidth(2) {
            let results = UnsafeMutablePointer<Bool>.allocate(capacity: 2)
            results.initialize(repeating: false, count: 2)
            defer { results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                var ok = true
                for _ in 0..<50 { ok = ok && ((try? a.matmul(b).data) == expected) }
                results[i] = ok
            }
            #expect(results[0] && results[1])
        }
    }
}
