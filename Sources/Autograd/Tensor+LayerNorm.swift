import Foundation

// Layer normalisation over the last axis, fused: one kernel forward, one backward.
// Shape letters: R rows (all leading axes), D the normalised width.
//
// Rows go through in blocks of eight (`RowStrips.swift`): the row sums keep a scalar loop's
// column order, so every result equals, bit for bit, that of the plain per-row loops (the
// reference in `LayerNormTests`). With more than one BLAS thread, large inputs are cut into
// consecutive row ranges, one per thread; the backward pass adds each range's dγ and dβ in
// range order, so results do not depend on timing (one thread: the plain loops' order).

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
        var out = d > 0 ? uninitializedFloats(count) : [Float](repeating: 0, count: count)
        // Per row: mean and reciprocal standard deviation, kept for the backward pass.
        var stats = [Float](repeating: 0, count: 2 * rows)
        let gv = gain?.data ?? [Float](repeating: 1, count: d), bv = bias?.data ?? [Float](repeating: 0, count: d)
        let parts = layerNormRanges(rows: rows, d: d)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                stats.withUnsafeMutableBufferPointer { ps in
                    gv.withUnsafeBufferPointer { pg in
                        bv.withUnsafeBufferPointer { pb in
                            Parallel.forEachChunk(parts.count) { c in
                                let (r, first) = (parts[c], parts[c].lowerBound)
                                layerNormForward(px.baseAddress! + first * d, py.baseAddress! + first * d, ps.baseAddress! + 2 * first,
                                                 pg.baseAddress!, pb.baseAddress!, rows: r.count, d: d, epsilon: epsilon)
                            }
                        }
                    }
                }
            }
        }
        let inputs = [x] + [gain, bias].compactMap { $0 }
        return Tensor(unchecked: shape, data: out).record(inputs) { y in
            let (dx, dGain, dBias) = layerNormGradients(y.grad!, x.data, stats, gv, parts: parts, d: d)
            x.accumulateGrad(dx)
            gain?.accumulateGrad(dGain)
            bias?.accumulateGrad(dBias)
        }
    }
}

/// Consecutive row ranges, whole blocks of eight rows each, one per thread for large inputs.
func layerNormRanges(rows: Int, d: Int) -> [Range<Int>] {
    let blocks = (rows + 7) / 8
    let parts = rows * d >= 1 << 15 ? Parallel.chunkCount(blocks) : 1
    return Parallel.ranges(blocks, parts: parts).map { ($0.lowerBound * 8)..<Swift.min(rows, $0.upperBound * 8) }
}

/// dx (R, D), dγ (D) and dβ (D) from the upstream gradient `g` (R, D).
func layerNormGradients(_ g: [Float], _ x: [Float], _ stats: [Float], _ gamma: [Float], parts: [Range<Int>], d: Int)
    -> (dx: [Float], dGain: [Float], dBias: [Float]) {
    var dx = d > 0 ? uninitializedFloats(x.count) : [Float](repeating: 0, count: x.count)
    // Per range: its dγ and dβ (D each) and a scratch of 16 rows; range 0 adds into the results.
    var sums = [Float](repeating: 0, count: parts.count * 2 * d), scratch = uninitializedFloats(parts.count * 16 * d)
    g.withUnsafeBufferPointer { pg in
        x.withUnsafeBufferPointer { px in
            stats.withUnsafeBufferPointer { ps in
                gamma.withUnsafeBufferPointer { gm in
                    dx.withUnsafeMutableBufferPointer { pdx in
                        sums.withUnsafeMutableBufferPointer { psum in
                            scratch.withUnsafeMutableBufferPointer { pscr in
                                Parallel.forEachChunk(parts.count) { c in
                                    let (first, n, partial) = (parts[c].lowerBound, parts[c].count, psum.baseAddress! + c * 2 * d)
                                    layerNormBackward(pg.baseAddress! + first * d, px.baseAddress! + first * d, ps.baseAddress! + 2 * first,
                                                      gm.baseAddress!, pdx.baseAddress! + first * d, partial, partial + d,
                                                      rows: n, d: d, scratch: pscr.baseAddress! + c * 16 * d)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for c in 1..<Swift.max(1, parts.count) {
        for i in 0..<(2 * d) { sums[i] += sums[c * 2 * d + i] }
    }
    return (dx, Array(sums[0..<d]), Array(sums[d..<(2 * d)]))
}

/// Normalises each of `rows` rows of width `d`; `stats` receives (mean, 1/σ) per row.
func layerNormForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ stats: UnsafeMutablePointer<Float>,
                      _ gain: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, d: Int, epsilon: Float) {
    let inverseWidth = 1 / Float(d)
    for first in stride(from: 0, to: rows, by: 8) {
        let block = rowBlock(x, row: first, rows: rows, width: d)
        let mean = rowSums(block, width: d) * inverseWidth
        let rstd = 1 / (rowSums(block, width: d, center: mean) * inverseWidth + epsilon).squareRoot()
        for lane in 0..<Swift.min(8, rows &- first) {
            let r = first &+ lane
            normaliseRow(x + r &* d, y + r &* d, mean: mean[lane], rstd: rstd[lane], gain, bias, d: d)
            stats[2 &* r] = mean[lane]
            stats[2 &* r &+ 1] = rstd[lane]
        }
    }
}

/// y = (x − mean) · rstd · γ + β along one row.
@inline(__always)
func normaliseRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mean: Float, rstd: Float,
                  _ gain: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, d: Int) {
    var i = 0
    while i &+ 8 <= d {
        store8((load8(x + i) - mean) * rstd * load8(gain + i) + load8(bias + i), y + i)
        i &+= 8
    }
    while i < d { y[i] = (x[i] - mean) * rstd * gain[i] + bias[i]; i &+= 1 }
}

/// With x̂ = (x − μ)·r and g the upstream gradient:
/// dx = r · (g·γ − mean(g·γ) − x̂ · mean(g·γ·x̂)), dγ += Σ g·x̂, dβ += Σ g.
/// `scratch` holds 16 rows of `d` floats: g·γ and g·γ·x̂ of the current block.
func layerNormBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ stats: UnsafePointer<Float>,
                       _ gamma: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                       _ dGain: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, rows: Int, d: Int,
                       scratch: UnsafeMutablePointer<Float>) {
    let inverseWidth = 1 / Float(d)
    let dy = scratch, dyXhat = scratch + 8 &* d
    for first in stride(from: 0, to: rows, by: 8) {
        let count = Swift.min(8, rows &- first)
        for lane in 0..<count {
            let r = first &+ lane
            backwardTerms(g + r &* d, x + r &* d, gamma, dy + lane &* d, dyXhat + lane &* d, dGain, dBias,
                          mean: stats[2 &* r], rstd: stats[2 &* r &+ 1], d: d)
        }
        let meanDy = rowSums(rowBlock(dy, row: 0, rows: count, width: d), width: d) * inverseWidth
        let meanDyXhat = rowSums(rowBlock(dyXhat, row: 0, rows: count, width: d), width: d) * inverseWidth
        for lane in 0..<count {
            let r = first &+ lane
            inputGradientRow(dy + lane &* d, x + r &* d, dx + r &* d, mean: stats[2 &* r], rstd: stats[2 &* r &+ 1],
                             meanDy: meanDy[lane], meanDyXhat: meanDyXhat[lane], d: d)
        }
    }
}

/// One row's dy = g·γ and dy·x̂ (into the block's scratch), and its terms of dγ and dβ.
@inline(__always)
func backwardTerms(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>,
                   _ dy: UnsafeMutablePointer<Float>, _ dyXhat: UnsafeMutablePointer<Float>,
                   _ dGain: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, mean: Float, rstd: Float, d: Int) {
    var i = 0
    while i &+ 8 <= d {
        let gv = load8(g + i), xhat = (load8(x + i) - mean) * rstd, dyv = gv * load8(gamma + i)
        store8(dyv, dy + i)
        store8(dyv * xhat, dyXhat + i)
        store8(load8(dGain + i) + gv * xhat, dGain + i)
        store8(load8(dBias + i) + gv, dBias + i)
        i &+= 8
    }
    while i < d {
        let xhat = (x[i] - mean) * rstd
        dy[i] = g[i] * gamma[i]
        dyXhat[i] = dy[i] * xhat
        dGain[i] += g[i] * xhat
        dBias[i] += g[i]
        i &+= 1
    }
}

/// dx = r · (dy − mean(dy) − x̂ · mean(dy·x̂)) along one row.
@inline(__always)
func inputGradientRow(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                      mean: Float, rstd: Float, meanDy: Float, meanDyXhat: Float, d: Int) {
    var i = 0
    while i &+ 8 <= d {
        let xhat = (load8(x + i) - mean) * rstd
        store8(rstd * (load8(dy + i) - meanDy - xhat * meanDyXhat), dx + i)
        i &+= 8
    }
    while i < d {
        let xhat = (x[i] - mean) * rstd
        dx[i] = rstd * (dy[i] - meanDy - xhat * meanDyXhat)
        i &+= 1
    }
}
