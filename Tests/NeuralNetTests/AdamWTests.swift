import Autograd
import Foundation
import NeuralNet
import Testing

@Suite struct AdamWTests {
    /// AdamW written out in double precision from the paper's equations with PyTorch's
    /// conventions, for comparison with the optimizer.
    @Test func adamW_matchesAHandComputedReferenceForTenSteps() throws {
        let initial: [Float] = [0.5, -1.25, 2.0, 0.0, 3.5]
        let p = try Tensor(shape: [5], data: initial, requiresGrad: true)
        var c = AdamW.Configuration()
        c.learningRate = 1e-2; c.weightDecay = 0.1; c.warmupSteps = 3; c.gradientClip = nil
        let optimizer = AdamW(parameters: [("p", p)], configuration: c)
        var theta = initial.map(Double.init), m = [Double](repeating: 0, count: 5), v = m
        for step in 0..<10 {
            let grad = (0..<5).map { Float(Foundation.sin(Double(step) * 0.7 + Double($0))) * 0.3 }
            p.setGrad(grad)
            optimizer.step()
            let lr = 1e-2 * min(Double(step) / 3, 1)
            let t = Double(step + 1)
            for i in 0..<5 {
                let g = Double(grad[i])
                theta[i] *= 1 - lr * 0.1
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let mHat = m[i] / (1 - Foundation.pow(0.9, t)), vHat = v[i] / (1 - Foundation.pow(0.999, t))
                theta[i] -= lr * mHat / (vHat.squareRoot() + 1e-8 * 1)
                    // PyTorch adds ε to √v / √(1−β₂ᵗ); the difference is below float precision here.
            }
            for i in 0..<5 { #expect(Swift.abs(Double(p.data[i]) - theta[i]) <= 1e-6, "step \(step) element \(i)") }
        }
        #expect(p.data[0] != initial[0])
    }

    @Test func warmup_isLinearFromZero() throws {
        let p = Tensor.zeros([1]).requiringGrad()
        var c = AdamW.Configuration()
        c.learningRate = 1e-4; c.warmupSteps = 500
        let optimizer = AdamW(parameters: [("p", p)], configuration: c)
        var rates: [Float] = []
        for _ in 0..<502 { p.setGrad([1]); rates.append(optimizer.step().learningRate) }
        #expect(rates[0] == 0 && Swift.abs(rates[1] - 2e-7) < 1e-12 && Swift.abs(rates[2] - 4e-7) < 1e-12)
        #expect(rates[500] == 1e-4 && rates[501] == 1e-4)
    }

    @Test func clipping_boundsTheGlobalNorm() throws {
        let a = Tensor.zeros([2]).requiringGrad(), b = Tensor.zeros([1]).requiringGrad()
        let optimizer = AdamW(parameters: [("a", a), ("b", b)])
        a.setGrad([3, 0]); b.setGrad([4])
        let before = optimizer.clipGradients(maxNorm: 1)
        #expect(before == 5)
        #expect(Swift.abs(optimizer.gradientNorm() - 1) < 1e-5)
        #expect(Swift.abs(a.grad![0] / b.grad![0] - 0.75) < 1e-6)
        a.setGrad([0.3, 0]); b.setGrad([0.4])
        optimizer.clipGradients(maxNorm: 1)
        #expect(a.grad! == [0.3, 0] && b.grad! == [0.4])
    }

    /// Parameters small and large (cut into pieces), one without a gradient: steps at two engine
    /// threads give the one-thread parameters, moments and norms bit for bit, and the norm is
    /// that of all the gradients.
    @Test func steps_atTwoThreadsEqualOneThread() throws {
        let counts = [7, 40_000, 1, 100_003, 3_000, 65_536]
        func run() throws -> ([[Float]], [[Float]], [[Float]], [Float]) {
            let rng = RandomGenerator(seed: 11)
            let params = try counts.map { n in try Tensor(shape: [n], data: (0..<n).map { _ in rng.normal() }, requiresGrad: true) }
            let optimizer = AdamW(parameters: params.enumerated().map { ("p\($0.offset)", $0.element) })
            var norms: [Float] = []
            for step in 0..<4 {
                for (k, p) in params.enumerated() where k != 2 || step > 1 {
                    p.setGrad((0..<p.count).map { _ in rng.normal() * 0.01 })
                }
                if step < 2 { params[2].setGrad(nil) }
                norms.append(optimizer.step().gradientNorm)
            }
            return (params.map(\.data), optimizer.firstMoments, optimizer.secondMoments, norms)
        }
        let before = BLAS.threadCount
        defer { BLAS.setThreadCount(before) }
        BLAS.setThreadCount(1)
        let one = try run()
        BLAS.setThreadCount(2)
        let two = try run()
        #expect(one.0 == two.0 && one.1 == two.1 && one.2 == two.2 && one.3 == two.3)
        // The last step's norm against a sum in double precision.
        let rng = RandomGenerator(seed: 11)
        for n in counts { for _ in 0..<n { _ = rng.normal() } }
        var total: Double = 0
        for step in 0..<4 {
            for (k, n) in counts.enumerated() where k != 2 || step > 1 {
                for _ in 0..<n { let g = Double(rng.normal() * 0.01); if step == 3 { total += g * g } }
            }
        }
        #expect(Swift.abs(Double(one.3[3]) - total.squareRoot()) <= 1e-6 * total.squareRoot())
    }
}

