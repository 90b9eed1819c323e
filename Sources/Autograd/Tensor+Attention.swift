import Foundation

// Causal multi-head scaled-dot-product attention, fused.
// Shape letters: B batch, L sequence length, H heads, E head width; queries, keys and values
// are (B, L, H·E) with head h in columns h·E ..< (h+1)·E, so no transposes are needed: each
// (batch, head) pair is a strided (L, E) matrix handed straight to sgemm.

extension Tensor {
    /// `softmax(q kᵀ / √E + causal mask) v` for every head; position i attends to j ≤ i, and
    /// with a `window` W only to i − W < j ≤ i (what a key/value cache of W tokens sees).
    /// - Parameters:
    ///   - query, key, value: (B, L, H·E)
    ///   - heads: H
    /// - Returns: (B, L, H·E)
    public static func causalAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, window: Int? = nil) throws -> Tensor {
        guard query.rank == 3, key.shape == query.shape, value.shape == query.shape else {
            throw AutogradError.shapeMismatch(op: "attention", lhs: query.shape, rhs: key.shape == query.shape ? value.shape : key.shape)
        }
        let (b, l, width) = (query.shape[0], query.shape[1], query.shape[2])
        guard heads > 0, width % heads == 0 else {
            throw AutogradError.invalidArgument(op: "attention", message: "width \(width) is not divisible by \(heads) heads")
        }
        if let window, window < 1 {
            throw AutogradError.invalidArgument(op: "attention", message: "window \(window) must be at least 1")
        }
        let reach = window ?? l
        let e = width / heads
        let scale = 1 / Float(e).squareRoot()
        // Attention probabilities, kept for the backward pass: (B, H, L, L), zero above the diagonal.
        var probs = uninitializedFloats(b * heads * l * l)
        var out = uninitializedFloats(query.count)
        let pairs = Parallel.ranges(b * heads, parts: Parallel.chunkCount(b * heads))
        query.data.withUnsafeBufferPointer { pq in
            key.data.withUnsafeBufferPointer { pk in
                value.data.withUnsafeBufferPointer { pv in
                    probs.withUnsafeMutableBufferPointer { pp in
                        out.withUnsafeMutableBufferPointer { po in
                            let (q, k, v, p, o) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pp.baseAddress!, po.baseAddress!)
                            Parallel.forEachChunk(pairs.count) { chunk in
                                for pair in pairs[chunk] {
                                    let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                                    let base = bi * l * width + h * e
                                    let probabilities = p + pair * l * l
                                    // S = q kᵀ · scale   (L, L)
                                    BLAS.gemm(transposeA: false, transposeB: true, m: l, n: l, k: e, alpha: scale,
                                              a: q + base, lda: width, b: k + base, ldb: width, c: probabilities, ldc: l)
                                    causalSoftmaxInPlace(probabilities, l, window: reach)
                                    // O = P v   (L, E)
                                    BLAS.gemm(transposeA: false, transposeB: false, m: l, n: e, k: l,
                                              a: probabilities, lda: l, b: v + base, ldb: width, c: o + base, ldc: width)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(unchecked: query.shape, data: out).record([query, key, value]) { y in
            attentionBackward(query, key, value, y, probs: probs, heads: heads, scale: scale)
        }
    }

    /// Softmax of each row i of the (L, L) score matrix over columns i − window < j ≤ i; the
    /// other columns become 0.
    @inline(__always)
    static func causalSoftmaxInPlace(_ s: UnsafeMutablePointer<Float>, _ l: Int, window: Int) {
        for i in 0..<l {
            let row = s + i * l
            let first = Swift.max(0, i - window + 1)
            var m = -Float.infinity
            for j in first...i { m = Swift.max(m, row[j]) }
            let total = expShifted(row + first, row + first, count: i - first + 1, shift: m)
            let inv = 1 / total
            for j in first...i { row[j] *= inv }
            for j in 0..<first { row[j] = 0 }
            for j in (i + 1)..<Swift.max(l, i + 1) { row[j] = 0 }
        }
    }

    /// Per (batch, head): dP = dO vᵀ, dV = Pᵀ dO, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
    /// dQ = scale · dS k, dK = scale · dSᵀ q.
    static func attentionBackward(_ query: Tensor, _ key: Tensor, _ value: Tensor, _ y: Tensor,
                                  probs: [Float], heads: Int, scale: Float) {
        let (b, l, width) = (query.shape[0], query.shape[1], query.shape[2])
        let e = width / heads
        var dq = uninitializedFloats(query.count)
        var dk = uninitializedFloats(key.count)
        var dv = uninitializedFloats(value.count)
        let pairs = Parallel.ranges(b * heads, parts: Parallel.chunkCount(b * heads))
        // One (L, L) scratch matrix per chunk for dP, then dS in place.
        var scratch = uninitializedFloats(pairs.count * l * l)
        y.grad!.withUnsafeBufferPointer { pg in
            query.data.withUnsafeBufferPointer { pq in
                key.data.withUnsafeBufferPointer { pk in
                    value.data.withUnsafeBufferPointer { pv in
                        probs.withUnsafeBufferPointer { pp in
                            dq.withUnsafeMutableBufferPointer { pdq in
                                dk.withUnsafeMutableBufferPointer { pdk in
                                    dv.withUnsafeMutableBufferPointer { pdv in
                                        scratch.withUnsafeMutableBufferPointer { pds in
                                            let (g, q, k, v) = (pg.baseAddress!, pq.baseAddress!, pk.baseAddress!, pv.baseAddress!)
                                            let (dQ, dK, dV) = (pdq.baseAddress!, pdk.baseAddress!, pdv.baseAddress!)
                                            Parallel.forEachChunk(pairs.count) { chunk in
                                                let s = pds.baseAddress! + chunk * l * l
                                                for pair in pairs[chunk] {
                                                    let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                                                    let base = bi * l * width + h * e
                                                    attentionPairBackward(p: pp.baseAddress! + pair * l * l, g: g + base, q: q + base,
                                                                          k: k + base, v: v + base, dq: dQ + base, dk: dK + base,
                                                                          dv: dV + base, s: s, l: l, e: e, width: width, scale: scale)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        query.accumulateGrad(dq)
        key.accumulateGrad(dk)
        value.accumulateGrad(dv)
    }

    /// The backward pass of one (batch, head) pair; all matrices are (L, E) with row stride
    /// `width` except P and the scratch S, which are (L, L).
    @inline(__always)
    static func attentionPairBackward(p: UnsafePointer<Float>, g: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                      k: UnsafePointer<Float>, v: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                      dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                      s: UnsafeMutablePointer<Float>, l: Int, e: Int, width: Int, scale: Float) {
        // dV = Pᵀ dO
        BLAS.gemm(transposeA: true, transposeB: false, m: l, n: e, k: l, a: p, lda: l, b: g, ldb: width, c: dv, ldc: width)
        // dP = dO vᵀ
        BLAS.gemm(transposeA: false, transposeB: true, m: l, n: l, k: e, a: g, lda: width, b: v, ldb: width, c: s, ldc: l)
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)); zero outside the attended columns because P is.
        for i in 0..<l {
            let pr = p + i * l, sr = s + i * l
            var dot: Float = 0
            for j in 0...i { dot += pr[j] * sr[j] }
            for j in 0...i { sr[j] = pr[j] * (sr[j] - dot) }
            for j in (i + 1)..<Swift.max(l, i + 1) { sr[j] = 0 }
        }
        // dQ = scale · dS k,  dK = scale · dSᵀ q
        BLAS.gemm(transposeA: false, transposeB: false, m: l, n: e, k: l, alpha: scale, a: s, lda: l, b: k, ldb: width, c: dq, ldc: width)
        BLAS.gemm(transposeA: true, transposeB: false, m: l, n: e, k: l, alpha: scale, a: s, lda: l, b: q, ldb: width, c: dk, ldc: width)
    }
}
