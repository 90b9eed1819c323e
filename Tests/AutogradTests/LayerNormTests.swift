import Autograd
import Testing
import TestSupport

/// The blocked LayerNorm kernels against plain per-row loops, and their gradients at the edges
/// of the blocking: one row, row counts that are not a multiple of the 8-row block, widths that
/// are not a multiple of the 4- and 8-float vectors.
@Suite struct LayerNormTests {
    static let shapes: [[Int]] = [[1, 5], [1, 1, 256], [3, 7, 13], [9, 3], [2, 17, 64], [33, 100], [5, 1]]

    /// Forward and backward of the unblocked kernel: each row's sums run over columns 0, 1, 2, … in order.
    func plainLoops(_ x: [Float], _ g: [Float], gain: [Float], bias: [Float], d: Int, epsilon: Float = 1e-5)
        -> (y: [Float], dx: [Float], dGain: [Float], dBias: [Float]) {
        let rows = x.count / d, inverseWidth = 1 / Float(d)
        var y = [Float](repeating: 0, count: x.count), dx = y
        var dGain = [Float](repeating: 0, count: d), dBias = dGain
        for r in 0..<rows {
            let o = r * d
            var sum: Float = 0
            for i in 0..<d { sum += x[o + i] }
            let mean = sum * inverseWidth
            var squares: Float = 0
            for i in 0..<d { let c = x[o + i] - mean; squares += c * c }
            let rstd = 1 / (squares * inverseWidth + epsilon).squareRoot()
            for i in 0..<d { y[o + i] = (x[o + i] - mean) * rstd * gain[i] + bias[i] }
            var meanDy: Float = 0, meanDyXhat: Float = 0
            for i in 0..<d {
                let xhat = (x[o + i] - mean) * rstd, dy = g[o + i] * gain[i]
                meanDy += dy
                meanDyXhat += dy * xhat
                dGain[i] += g[o + i] * xhat
                dBias[i] += g[o + i]
            }
            meanDy *= inverseWidth
            meanDyXhat *= inverseWidth
            for i in 0..<d {
                let xhat = (x[o + i] - mean) * rstd
                dx[o + i] = rstd * (g[o + i] * gain[i] - meanDy - xhat * meanDyXhat)
            }
        }
        return (y, dx, dGain, dBias)
    }

    /// How many elements differ at all (a count rather than `==`, whose failure report diffs the arrays).
    func differences(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : Swift.max(a.count, b.count)
    }

    func run(_ shape: [Int], seed: UInt64) throws -> (y: [Float], dx: [Float], dGain: [Float], dBias: [Float]) {
        let d = shape.last!
        let x = randomTensor(shape, seed: seed, low: -2, high: 3).requiringGrad()
        let gain = randomTensor([d], seed: seed + 1, low: 0.5, high: 1.5).requiringGrad()
        let bias = randomTensor([d], seed: seed + 2).requiringGrad()
        let y = try x.layerNorm(gain: gain, bias: bias)
        try y.backward(seed: randomTensor(shape, seed: seed + 3).data)
        return (y.data, x.grad!, gain.grad!, bias.grad!)
    }

    /// With one thread the blocked kernels keep the plain loops' order of additions: equal bit for bit.
    @Test func layerNorm_oneThreadEqualsPlainLoopsExactly() throws {
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(before) }
        for (n, shape) in (Self.shapes + [[6144, 256]]).enumerated() {
            let seed = UInt64(10 * n + 1), d = shape.last!
            let got = try run(shape, seed: seed)
            let want = plainLoops(randomTensor(shape, seed: seed, low: -2, high: 3).data, randomTensor(shape, seed: seed + 3).data,
                                  gain: randomTensor([d], seed: seed + 1, low: 0.5, high: 1.5).data,
                                  bias: randomTensor([d], seed: seed + 2).data, d: d)
            #expect(differences(got.y, want.y) == 0, "y of \(shape)")
            #expect(differences(got.dx, want.dx) == 0, "dx of \(shape)")
            #expect(differences(got.dGain, want.dGain) == 0, "dGain of \(shape)")
            #expect(differences(got.dBias, want.dBias) == 0, "dBias of \(shape)")
        }
    }

    /// Two threads split the rows; dγ and dβ add the halves in a fixed order: results repeat exactly
    /// and stay within rounding of the sequential ones.
    @Test func layerNorm_twoThreadsAreDeterministicAndCloseToOne() throws {
        let before = BLAS.threadCount
        defer { BLAS.setThreadCount(before) }
        BLAS.setThreadCount(1)
        let sequential = try run([300, 130], seed: 5)
        BLAS.setThreadCount(2)
        let first = try run([300, 130], seed: 5), second = try run([300, 130], seed: 5)
        for (a, b) in [(first.y, second.y), (first.dx, second.dx), (first.dGain, second.dGain), (first.dBias, second.dBias),
                       (first.y, sequential.y), (first.dx, sequential.dx)] {
            #expect(differences(a, b) == 0)
        }
        #expect(isClose(first.dGain, sequential.dGain, relative: 1e-5, absolute: 1e-4))
        #expect(isClose(first.dBias, sequential.dBias, relative: 1e-5, absolute: 1e-4))
    }

    @Test func layerNorm_gradientsAtBlockEdges() throws {
        for (n, shape) in Self.shapes.enumerated() where shape.last! > 1 {
            let d = shape.last!, seed = UInt64(10 * n + 3)
            let x = randomTensor(shape, seed: seed, low: -2, high: 2)
            let g = randomTensor([d], seed: seed + 1, low: 0.5, high: 1.5), b = randomTensor([d], seed: seed + 2)
            let result = try checkGradients([x, g, b]) { try $0[0].layerNorm(gain: $0[1], bias: $0[2]) }
            #expect(result.passed, "\(shape): \(result)")
            let plain = try checkGradients([x]) { try $0[0].layerNorm(gain: nil, bias: nil) }
            #expect(plain.passed, "\(shape) without gain and bias: \(plain)")
        }
    }
}
