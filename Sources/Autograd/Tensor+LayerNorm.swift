import Foundation

// Layer normalisation over the last axis, fused: one pass forward, one pass backward.
// Shape letters: R rows (all leading axes), D the normalised width.

extension Tensor {
    /// `(x − mean) / √(var + eps) · gain + bias` over the last axis (biased variance, as PyTorch).
    /// - Parameters:
    ///   - gain: (D) or nil for 1
    ///   - bias: (D) or nil for 0
    public func layerNorm(gain: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) throws -> Tensor {
        let x = self
        let d = shape.last ?? 0
        for p in [gain, bias].compactMap({ $0 }) where p.shape != [d] {
            throw AutogradError.shapeMismatch(op: "layerNorm", lhs: shape, rhs: p.shape)
        }
        let rows = count / Swift.max(d, 1)
        var out = [Float](repeating: 0, count: count)
        var means = [Float](repeating: 0, count: rows), rstds = [Float](repeating: 0, count: rows)
        let ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
        let gv = gain?.data ?? ones, bv = bias?.data ?? zeros
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                gv.withUnsafeBufferPointer { pg in
                    bv.withUnsafeBufferPointer { pb in
                        for r in 0..<rows {
                            let xr = px.baseAddress! + r * d, yr = py.baseAddress! + r * d
                            var mean: Float = 0
                            for i in 0..<d { mean += xr[i] }
                            mean /= Float(d)
                            var variance: Float = 0
                            for i in 0..<d { let c = xr[i] - mean; variance += c * c }
                            variance /= Float(d)
                            let rstd = 1 / (variance + epsilon).squareRoot()
                            for i in 0..<d { yr[i] = (xr[i] - mean) * rstd * pg[i] + pb[i] }
                            means[r] = mean
                            rstds[r] = rstd
                        }
                    }
                }
            }
        }
        let inputs = [x] + [gain, bias].compactMap { $0 }
        return Tensor(unchecked: shape, data: out).record(inputs) { y in
            Tensor.layerNormBackward(x: x, gain: gain, bias: bias, gainValues: gv, y: y, means: means, rstds: rstds, d: d)
        }
    }

    /// With x̂ = (x − μ)·r and g the upstream gradient:
    /// dx = r · (g·γ − mean(g·γ) − x̂ · mean(g·γ·x̂)), dγ = Σ g·x̂, dβ = Σ g.
    static func layerNormBackward(x: Tensor, gain: Tensor?, bias: Tensor?, gainValues: [Float], y: Tensor,
                                  means: [Float], rstds: [Float], d: Int) {
        let rows = means.count
        var dGain = [Float](repeating: 0, count: d), dBias = [Float](repeating: 0, count: d)
        var dx = [Float](repeating: 0, count: x.count)
        y.grad!.withUnsafeBufferPointer { pg in
            x.data.withUnsafeBufferPointer { px in
                gainValues.withUnsafeBufferPointer { gamma in
                    for r in 0..<rows {
                        let g = pg.baseAddress! + r * d, xr = px.baseAddress! + r * d
                        let mean = means[r], rstd = rstds[r]
                        var meanDy: Float = 0, meanDyXhat: Float = 0
                        for i in 0..<d {
                            let xhat = (xr[i] - mean) * rstd
                            let dy = g[i] * gamma[i]
                            meanDy += dy
                            meanDyXhat += dy * xhat
                            dGain[i] += g[i] * xhat
                            dBias[i] += g[i]
                        }
                        meanDy /= Float(d)
                        meanDyXhat /= Float(d)
                        for i in 0..<d {
                            let xhat = (xr[i] - mean) * rstd
                            dx[r * d + i] = rstd * (g[i] * gamma[i] - meanDy - xhat * meanDyXhat)
                        }
                    }
                }
            }
        }
        if x.requiresGrad { x.accumulateGrad(dx) }
        if let gain, gain.requiresGrad { gain.accumulateGrad(dGain) }
        if let bias, bias.requiresGrad { bias.accumulateGrad(dBias) }
    }
}
