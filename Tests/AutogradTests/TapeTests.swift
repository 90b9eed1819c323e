import Autograd
import Foundation
import Testing
import TestSupport

@Suite struct TapeTests {
    @Test func backward_deepChainDoesNotOverflowTheStack() throws {
        let x = Tensor(1).requiringGrad()
        var y = x
        for _ in 0..<100_000 { y = y * 1.0001 }
        try y.backward()
        #expect(Swift.abs(x.grad![0] - Float(pow(1.0001, 100_000.0))) < 1e-2 * x.grad![0])
    }

    @Test func backward_gradientsAccumulateAcrossCallsAndSharedUses() throws {
        let x = try Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        try (x * x).sum().backward()          // 2x
        #expect(x.grad == [2, 4])
        try (try x + x).sum().backward()      // + 2
        #expect(x.grad == [4, 6])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradMode_recordsNothing() throws {
        let w = Tensor.ones([3]).requiringGrad()
        let y = try withNoGrad { try (w * w).sum() }
        #expect(!y.requiresGrad)
        #expect(throws: AutogradError.self) { try y.backward() }
        #expect(GradMode.isRecording)
    }

    @Test func shapeMismatch_namesBothShapes() throws {
        let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4, 5])
        do {
            _ = try a.matmul(b)
            Issue.record("matmul of [2, 3] and [4, 5] did not throw")
        } catch let error as AutogradError {
            #expect(error.description.contains("[2, 3]") && error.description.contains("[4, 5]"))
        }
        #expect(throws: AutogradError.shapeMismatch(op: "add", lhs: [2, 3], rhs: [4, 5])) { try a + b }
        #expect(throws: AutogradError.self) { try a.reshaped([5]) }
        #expect(throws: AutogradError.self) { try a.linear(weight: Tensor.zeros([3, 2])) }
        #expect(throws: AutogradError.self) { try Tensor(shape: [2, 2], data: [1]) }
    }

    @Test func matmul_matchesNaiveProduct() throws {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([2, 4, 5], seed: 2)
        let c = try a.matmul(b)
        var expected = [Float](repeating: 0, count: 30)
        for n in 0..<2 { for i in 0..<3 { for j in 0..<5 { for k in 0..<4 {
            expected[(n * 3 + i) * 5 + j] += a.data[(n * 3 + i) * 4 + k] * b.data[(n * 4 + k) * 5 + j]
        } } } }
        #expect(c.shape == [2, 3, 5])
        #expect(isClose(c.data, expected, relative: 1e-5, absolute: 1e-5 * 1e-3))
    }

    @Test func randomGenerator_isReproducibleAndWellSpread() {
        let a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let xs = (0..<1000).map { _ in a.normal() }
        #expect(xs == (0..<1000).map { _ in b.normal() })
        #expect(xs != (0..<1000).map { _ in c.normal() })
        let big = (0..<100_000).map { _ in Double(a.normal()) }
        let mean = big.reduce(0, +) / Double(big.count)
        let variance = big.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(big.count)
        #expect(Swift.abs(mean) < 0.02 && Swift.abs(variance - 1) < 0.03)
        let u = (0..<100_000).map { _ in a.uniform() }
        #expect(u.min()! >= 0 && u.max()! < 1 && Swift.abs(u.reduce(0, +) / 100_000 - 0.5) < 0.01)
    }

    @Test func dropout_keepsExpectationAndIsIdentityInEval() throws {
        let x = Tensor.ones([10_000])
        let y = try x.dropout(probability: 0.25, training: true, using: RandomGenerator(seed: 1))
        let zeros = y.data.filter { $0 == 0 }.count
        #expect(Swift.abs(Float(zeros) / 10_000 - 0.25) < 0.02)
        #expect(Swift.abs(y.data.reduce(0, +) / 10_000 - 1) < 0.03)
        #expect(try x.dropout(probability: 0.25, training: false, using: RandomGenerator(seed: 1)) === x)
    }

    @Test func maxMin_returnIndices() throws {
        let x = try Tensor(shape: [2, 3], data: [1, 5, 2, 7, -1, 7])
        let (mx, ix) = try x.max(axis: 1)
        let (mn, jn) = try x.min(axis: 0)
        #expect(mx.data == [5, 7] && ix == [1, 0])
        #expect(mn.data == [1, -1, 2] && jn == [0, 1, 0])
    }
}

@Suite struct FastMathTests {
    @Test func vectorExp_isWithinTwoUlpOfLibm() {
        let xs = stride(from: Float(-87), through: 88, by: 0.01).map { $0 } + [0, -0.0, 1e-8, -1e-8]
        let ys = Tensor.vectorExp(xs)
        for (x, y) in zip(xs, ys) {
            let exact = Foundation.exp(Double(x))
            #expect(Swift.abs(Double(y) - exact) / exact < 3e-7, "exp(\(x)) = \(y), libm \(exact)")
        }
        #expect(Tensor.vectorExp([-100, -Float.infinity]) == [0, 0])
    }
}
