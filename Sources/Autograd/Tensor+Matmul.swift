import COpenBLAS

// Matrix products. Shape letters: M, N, K matrix extents; batch axes lead.

extension Tensor {
    /// The matrix product `op(self) · op(other)` over the last two axes.
    ///
    /// Both operands may be 2-D, or `self` may carry leading batch axes: with a 2-D `other`
    /// the batch is folded into one product; with equal leading axes each batch item is
    /// multiplied separately. `transposingA`/`transposingB` transpose the last two axes of
    /// `self`/`other` without copying.
    public func matmul(_ other: Tensor, transposingA: Bool = false, transposingB: Bool = false) throws -> Tensor {
        let a = self, b = other
        guard a.rank >= 2, b.rank >= 2 else {
            throw AutogradError.shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape)
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposingA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposingB ? (bc, br) : (br, bc)
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        guard k == kb, bBatch.isEmpty || aBatch == bBatch else {
            throw AutogradError.shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape)
        }
        // A 2-D right operand with an untransposed left one folds all batch rows into one call.
        let folds = bBatch.isEmpty && !transposingA
        let batches = folds ? 1 : aBatch.product
        let rows = folds ? aBatch.product * m : m
        let bStride = bBatch.isEmpty ? 0 : k * n
        var out = k > 0 ? uninitializedFloats(aBatch.product * m * n) : [Float](repeating: 0, count: aBatch.product * m * n)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<batches {
                        BLAS.gemm(
                            transposeA: transposingA, transposeB: transposingB, m: rows, n: n, k: k,
                            a: pa.baseAddress! + i * rows * k, b: pb.baseAddress! + i * bStride,
                            c: pc.baseAddress! + i * rows * n)
                    }
                }
            }
        }
        let result = Tensor(unchecked: aBatch + [m, n], data: out)
        return result.record([a, b]) { y in
            y.grad!.withUnsafeBufferPointer { pg in
                let g = pg.baseAddress!
                a.data.withUnsafeBufferPointer { pa in
                    b.data.withUnsafeBufferPointer { pb in
                        let pa = pa.baseAddress!, pb = pb.baseAddress!
                        if a.requiresGrad {
                            a.withGradBuffer(overwriting: { da, fresh in
                                let beta: Float = fresh ? 0 : 1
                                for i in 0..<batches {
                                    let gi = g + i * rows * n, bi = pb + i * bStride, dai = da + i * rows * k
                                    if transposingA {  // dA (k, m) = op(B) · dCᵀ
                                        BLAS.gemm(transposeA: transposingB, transposeB: true, m: k, n: rows, k: n,
                                                  a: bi, b: gi, beta: beta, c: dai)
                                    } else {  // dA (m, k) = dC · op(B)ᵀ
                                        BLAS.gemm(transposeA: false, transposeB: !transposingB, m: rows, n: k, k: n,
                                                  a: gi, b: bi, beta: beta, c: dai)
                                    }
                                }
                            })
                        }
                        if b.requiresGrad {
                            b.withGradBuffer(overwriting: { db, fresh in
                                // A shared right operand sums the batches' products: only the first may write.
                                for i in 0..<batches {
                                    let beta: Float = fresh && (i == 0 || bStride != 0) ? 0 : 1
                                    let gi = g + i * rows * n, ai = pa + i * rows * k, dbi = db + i * bStride
                                    if transposingB {  // dB (n, k) = dCᵀ · op(A)
                                        BLAS.gemm(transposeA: true, transposeB: transposingA, m: n, n: k, k: rows,
                                                  a: gi, b: ai, beta: beta, c: dbi)
                                    } else {  // dB (k, n) = op(A)ᵀ · dC
                                        BLAS.gemm(transposeA: !transposingA, transposeB: false, m: k, n: n, k: rows,
                                                  a: ai, b: gi, beta: beta, c: dbi)
                                    }
                                }
                            })
                        }
                    }
                }
            }
        }
    }

    /// `self · weights[c]` for every matrix of a stack, the same left operand for all (an
    /// ensemble's members reading one input), without copying `self` once per member.
    /// - Parameters:
    ///   - weights: (C, K, N)
    /// - Returns: (C, M, N) for `self` of shape (M, K).
    public func matmul(eachOf weights: Tensor) throws -> Tensor {
        let x = self, w = weights
        guard x.rank == 2, w.rank == 3, w.shape[1] == x.shape[1] else {
            throw AutogradError.shapeMismatch(op: "matmul(eachOf:)", lhs: x.shape, rhs: w.shape)
        }
        let (members, m, k, n) = (w.shape[0], x.shape[0], x.shape[1], w.shape[2])
        var out = uninitializedFloats(members * m * n)
        x.data.withUnsafeBufferPointer { px in
            w.data.withUnsafeBufferPointer { pw in
                out.withUnsafeMutableBufferPointer { po in
                    for c in 0..<members {
                        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: px.baseAddress!,
                                  b: pw.baseAddress! + c * k * n, c: po.baseAddress! + c * m * n)
                    }
                }
            }
        }
        return Tensor(unchecked: [members, m, n], data: out).record([x, w]) { y in
            y.grad!.withUnsafeBufferPointer { pg in
                let g = pg.baseAddress!
                if x.requiresGrad {  // dX (M, K) += Σ_c dY[c] · W[c]ᵀ, members in order
                    w.data.withUnsafeBufferPointer { pw in
                        x.withGradBuffer(overwriting: { dx, fresh in
                            for c in 0..<members {
                                BLAS.gemm(transposeA: false, transposeB: true, m: m, n: k, k: n, a: g + c * m * n,
                                          b: pw.baseAddress! + c * k * n, beta: fresh && c == 0 ? 0 : 1, c: dx)
                            }
                        })
                    }
                }
                if w.requiresGrad {  // dW[c] (K, N) += Xᵀ · dY[c]
                    x.data.withUnsafeBufferPointer { px in
                        w.withGradBuffer(overwriting: { dw, fresh in
                            for c in 0..<members {
                                BLAS.gemm(transposeA: true, transposeB: false, m: k, n: n, k: m, a: px.baseAddress!,
                                          b: g + c * m * n, beta: fresh ? 0 : 1, c: dw + c * k * n)
                            }
                        })
                    }
                }
            }
        }
    }

    /// The affine map `self · weightᵀ + bias` over the last axis (PyTorch's `F.linear`).
    /// - Parameters:
    ///   - weight: (out, in)
    ///   - bias: (out), optional
    /// - Returns: `self`'s shape with the last axis `in` replaced by `out`.
    public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        let x = self
        guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
            throw AutogradError.shapeMismatch(op: "linear", lhs: x.shape, rhs: weight.shape)
        }
        let (nOut, nIn) = (weight.shape[0], weight.shape[1])
        if let bias, bias.shape != [nOut] {
            throw AutogradError.shapeMismatch(op: "linear bias", lhs: weight.shape, rhs: bias.shape)
        }
        let rows = x.count / Swift.max(nIn, 1)
        var out = bias != nil || nIn > 0 ? uninitializedFloats(rows * nOut) : [Float](repeating: 0, count: rows * nOut)
        out.withUnsafeMutableBufferPointer { py in
            if let bias {
                bias.data.withUnsafeBufferPointer { pb in
                    Parallel.forEachRowRange(rows, width: nOut) { range in
                        for r in range { (py.baseAddress! + r * nOut).update(from: pb.baseAddress!, count: nOut) }
                    }
                }
            }
            x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: nOut, k: nIn,
                              a: px.baseAddress!, b: pw.baseAddress!, beta: bias == nil ? 0 : 1, c: py.baseAddress!)
                }
            }
        }
        let result = Tensor(unchecked: Array(x.shape.dropLast()) + [nOut], data: out)
        return result.record([x, weight] + (bias.map { [$0] } ?? [])) { y in
            y.grad!.withUnsafeBufferPointer { pg in
                let g = pg.baseAddress!
                if x.requiresGrad {  // dX (rows, in) += dY · W
                    weight.data.withUnsafeBufferPointer { pw in
                        x.withGradBuffer(overwriting: { dx, fresh in
                            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: nIn, k: nOut,
                                      a: g, b: pw.baseAddress!, beta: fresh ? 0 : 1, c: dx)
                        })
                    }
                }
                if weight.requiresGrad {  // dW (out, in) += dYᵀ · X
                    x.data.withUnsafeBufferPointer { px in
                        weight.withGradBuffer(overwriting: { dw, fresh in
                            BLAS.gemm(transposeA: true, transposeB: false, m: nOut, n: nIn, k: rows,
                                      a: g, b: px.baseAddress!, beta: fresh ? 0 : 1, c: dw)
                        })
                    }
                }
                if let bias, bias.requiresGrad {  // db += Σ_rows dY
                    bias.withGradBuffer { db in
                        // Column blocks between the threads; each column still sums its rows in order.
                        let blocks = Parallel.ranges(nOut, parts: rows * nOut >= 1 << 16 ? Parallel.chunkCount(nOut / 16) : 1)
                        Parallel.forEachChunk(blocks.count) { c in
                            let cols = blocks[c]
                            for r in 0..<rows {
                                let gr = g + r * nOut
                                for j in cols { db[j] += gr[j] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// `uᵀ · self · v` for a matrix `self` (M, N) and constant vectors u (M), v (N), as a
    /// rank-0 tensor; the gradient with respect to the matrix is `g · u vᵀ`.
    public func bilinearForm(left u: [Float], right v: [Float]) throws -> Tensor {
        guard rank == 2, u.count == shape[0], v.count == shape[1] else {
            throw AutogradError.shapeMismatch(op: "bilinearForm", lhs: shape, rhs: [u.count, v.count])
        }
        let (m, n) = (shape[0], shape[1])
        var wv = [Float](repeating: 0, count: m)
        data.withUnsafeBufferPointer { w in
            v.withUnsafeBufferPointer { pv in
                wv.withUnsafeMutableBufferPointer { out in
                    BLAS.gemv(transpose: false, rows: m, columns: n, a: w.baseAddress!, x: pv.baseAddress!, y: out.baseAddress!)
                }
            }
        }
        var value: Float = 0
        for i in 0..<m { value += u[i] * wv[i] }
        let matrix = self
        return Tensor(value).record([matrix]) { y in
            let g = y.grad![0]
            matrix.withGradBuffer { dw in
                u.withUnsafeBufferPointer { pu in
                    v.withUnsafeBufferPointer { pv in
                        cblas_sger(CblasRowMajor, Int32(m), Int32(n), g, pu.baseAddress!, 1, pv.baseAddress!, 1, dw, Int32(n))
                    }
                }
            }
        }
    }
}
