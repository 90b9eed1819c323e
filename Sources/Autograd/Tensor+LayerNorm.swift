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
        // Per row: mean and reciprocal standard deviation, kept for the backward pass.
        var stats = [Float](repeating: 0, count: 2 * rows)
        let gv = gain?.data ?? [Float](repeating: 1, count: d), bv = bias?.data ?? [Float](repeating: 0, count: d)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                stats.withUnsafeMutableBufferPointer { ps in
                    gv.withUnsafeBufferPointer { pg in
                        bv.withUnsafeBufferPointer { pb in
                            layerNormForward(px.baseAddress!, py.baseAddress!, ps.baseAddress!, pg.baseAddress!,
                                             pb.baseAddress!, rows: rows, d: d, epsilon: epsilon)
                        }
                    }
                }
            }
        }
        let inputs = [x] + [gain, bias].compactMap { $0 }
        return Tensor(unchecked: shape, data: out).record(inputs) { y in
            var dx = [Float](repeating: 0, count: x.count)
            var dGain = [Float](repeating: 0, count: d), dBias = [Float](repeating: 0, count: d)
            y.grad!.withUnsafeBufferPointer { pg in
                x.data.withUnsafeBufferPointer { px in
                    stats.withUnsafeBufferPointer { ps in
                        gv.withUnsafeBufferPointer { gamma in
                            dx.withUnsafeMutableBufferPointer { pdx in
                                dGain.withUnsafeMutableBufferPointer { pdg in
                                    dBias.withUnsafeMutableBufferPointer { pdb in
                                        layerNormBackward(pg.baseAddress!, px.baseAddress!, ps.baseAddress!, gamma.baseAddress!,
                                                          pdx.baseAddress!, pdg.baseAddress!, pdb.baseAddress!, rows: rows, d: d)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            x.accumulateGrad(dx)
            gain?.accumulateGrad(dGain)
            bias?.accumulateGrad(dBias)
        }
    }
}

/// Normalises each of `rows` rows of width `d`; `stats` receives (mean, 1/σ) per row.
@inline(__always)
func layerNormForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ stats: UnsafeMutablePointer<Float>,
                      _ gain: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, d: Int, epsilon: Float) {
    let inverseWidth = 1 / Float(d)
    for r in 0..<rows {
        let xr = x + r &* d, yr = y + r &* d
        var sum: Float = 0
        for i in 0..<d { sum += xr[i] }
        let mean = sum * inverseWidth
        var squares: Float = 0
        for i in 0..<d { let c = xr[i] - mean; squares += c * c }
        let rstd = 1 / (squares * inverseWidth + epsilon).squareRoot()
        for i in 0..<d { yr[i] = (xr[i] - mean) * rstd * gain[i] + bias[i] }
        stats[2 &* r] = mean
        stats[2 &* r + 1] = rstd
    }
}

/// With x̂ = (x − μ)·r and g the upstream gradient:
/// dx = r · (g·γ − mean(g·γ) − x̂ · mean(g·γ·x̂)), dγ += Σ g·x̂, dβ += Σ g.
@inline(__always)
func layerNormBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ stats: UnsafePointer<Float>,
                       _ gamma: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                       _ dGain: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
    let inverseWidth = 1 / Float(d)
    for r in 0..<rows {
        let gr = g + r &* d, xr = x + r &* d, dxr = dx + r &* d
        let mean = stats[2 &* r], rstd = stats[2 &* r + 1]
        var meanDy: Float = 0, meanDyXhat: Float = 0
        for i in 0..<d {
            let xhat = (xr[i] - mean) * rstd
            let dy = gr[i] * gamma[i]
            meanDy += dy
            meanDyXhat += dy * xhat
            dGain[i] += gr[i] * xhat
            dBias[i] += gr[i]
        }
        meanDy *= inverseWidth
        meanDyXhat *= inverseWidth
        for i in 0..<d {
            let xhat = (xr[i] - mean) * rstd
            dxr[i] = rstd * (gr[i] * gamma[i] - meanDy - xhat * meanDyXhat)
        }
    }
}
