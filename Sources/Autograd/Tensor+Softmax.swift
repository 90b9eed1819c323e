import Foundation

// Softmax, log-softmax and cross-entropy against soft labels, along the last axis.
// Shape letters: R rows (all leading axes), N the last axis. Large inputs cut their rows
// between the engine threads; each row is computed by one thread, so values do not depend on the cut.

extension Tensor {
    /// Row-wise softmax of `x` (R, N) into `y`, computed stably.
    @inline(__always)
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        Parallel.forEachRowRange(rows, width: n) { range in
            for r in range {
                let xr = x + r * n, yr = y + r * n
                var m = -Float.infinity
                for i in 0..<n { m = Swift.max(m, xr[i]) }
                let inv = 1 / expShifted(xr, yr, count: n, shift: m)
                for i in 0..<n { yr[i] *= inv }
            }
        }
    }

    private var lastAxis: Int { shape.last ?? 1 }

    /// ln Σ exp(x_i) over one row of `n` values, computed stably around the row's maximum.
    @inline(__always)
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, x[i]) }
        var total: Float = 0
        for i in 0..<n { total += Foundation.exp(x[i] - m) }
        return m + Foundation.log(total)
    }

    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        let x = self, n = lastAxis, rows = count / Swift.max(n, 1)
        var out = uninitializedFloats(count)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in Tensor.softmaxRows(px.baseAddress!, py.baseAddress!, rows: rows, n: n) }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            // dx = y ⊙ (g − Σ g·y)
            y.grad!.withUnsafeBufferPointer { g in
                y.data.withUnsafeBufferPointer { py in
                    x.withGradBuffer { dx in
                        Parallel.forEachRowRange(rows, width: n) { range in
                            for r in range {
                                var dot: Float = 0
                                for i in 0..<n { dot += g[r * n + i] * py[r * n + i] }
                                for i in 0..<n { dx[r * n + i] += py[r * n + i] * (g[r * n + i] - dot) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// ln softmax over the last axis.
    public func logSoftmax() -> Tensor {
        let x = self, n = lastAxis, rows = count / Swift.max(n, 1)
        var out = uninitializedFloats(count)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                Parallel.forEachRowRange(rows, width: n) { range in
                    for r in range {
                        let lse = Tensor.logSumExp(px.baseAddress! + r * n, n)
                        for i in 0..<n { py[r * n + i] = px[r * n + i] - lse }
                    }
                }
            }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            // dx = g − softmax · Σ g
            y.grad!.withUnsafeBufferPointer { g in
                y.data.withUnsafeBufferPointer { py in
                    x.withGradBuffer { dx in
                        Parallel.forEachRowRange(rows, width: n) { range in
                            for r in range {
                                var total: Float = 0
                                for i in 0..<n { total += g[r * n + i] }
                                for i in 0..<n { dx[r * n + i] += g[r * n + i] - Foundation.exp(py[r * n + i]) * total }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Cross-entropy of the logits `self` (…, N) against soft labels (…, N):
    /// `−Σ_i label_i · ln softmax(self)_i` for each row, shape (…). Gradients flow to both.
    public func crossEntropy(softLabels labels: Tensor) throws -> Tensor {
        guard labels.shape == shape, rank >= 1 else {
            throw AutogradError.shapeMismatch(op: "crossEntropy", lhs: shape, rhs: labels.shape)
        }
        let x = self, n = lastAxis, rows = count / Swift.max(n, 1)
        var logp = uninitializedFloats(count)
        var loss = uninitializedFloats(rows)
        x.data.withUnsafeBufferPointer { px in
            labels.data.withUnsafeBufferPointer { pl in
                logp.withUnsafeMutableBufferPointer { lp in
                    loss.withUnsafeMutableBufferPointer { out in
                        Parallel.forEachRowRange(rows, width: n) { range in
                            for r in range {
                                let lse = Tensor.logSumExp(px.baseAddress! + r * n, n)
                                var l: Float = 0
                                for i in 0..<n {
                                    lp[r * n + i] = px[r * n + i] - lse
                                    l -= pl[r * n + i] * lp[r * n + i]
                                }
                                out[r] = l
                            }
                        }
                    }
                }
            }
        }
        return Tensor(unchecked: Array(shape.dropLast()), data: loss).record([x, labels]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                logp.withUnsafeBufferPointer { lp in
                    labels.data.withUnsafeBufferPointer { pl in
                        if x.requiresGrad {  // dx = g · (softmax · Σ label − label)
                            x.withGradBuffer { dx in
                                Parallel.forEachRowRange(rows, width: n) { range in
                                    for r in range {
                                        var mass: Float = 0
                                        for i in 0..<n { mass += pl[r * n + i] }
                                        for i in 0..<n {
                                            dx[r * n + i] += g[r] * (Foundation.exp(lp[r * n + i]) * mass - pl[r * n + i])
                                        }
                                    }
                                }
                            }
                        }
                        if labels.requiresGrad {  // dlabel = −g · ln softmax
                            labels.withGradBuffer { dl in
                                Parallel.forEachRowRange(rows, width: n) { range in
                                    for r in range { for i in 0..<n { dl[r * n + i] -= g[r] * lp[r * n + i] } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
