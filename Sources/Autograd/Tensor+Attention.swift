import Foundation

// Causal multi-head scaled-dot-product attention, fused and tiled.
// Shape letters: B batch, L sequence length, H heads, E head width, T query rows per tile;
// queries, keys and values are (B, L, H·E) with head h in columns h·E ..< (h+1)·E, so no
// transposes are needed: each (batch, head) pair is a strided (L, E) matrix handed to sgemm.
//
// Each pair's queries go in tiles of T rows; a tile's rows see only the keys up to its last
// row, so the products cover the visible part of the L×L scores (about half for long
// sequences) and a tile's scores, T × (keys seen), stay in cache between the products. With
// L ≤ T there is one tile and the computation is that of the untiled kernel, call for call.

/// The query tiles of one (batch, head) pair.
struct AttentionTile {
    /// Query positions of the tile.
    let rows: Range<Int>
    /// The first key any of them sees (keys `firstKey ..< rows.upperBound`).
    let firstKey: Int
    /// Where the tile's probabilities, rows.count × keys, start in the pair's store.
    let offset: Int
    var keys: Int { rows.upperBound - firstKey }

    /// Query rows per tile.
    static let height = 64

    /// The tiles of a sequence of `length` whose queries see `reach` keys back (themselves included),
    /// and the floats their probabilities take.
    static func tiling(length l: Int, reach: Int) -> (tiles: [AttentionTile], size: Int) {
        var tiles: [AttentionTile] = [], size = 0
        for start in stride(from: 0, to: l, by: height) {
            let rows = start..<Swift.min(l, start + height)
            let tile = AttentionTile(rows: rows, firstKey: Swift.max(0, start - reach + 1), offset: size)
            tiles.append(tile)
            size += rows.count * tile.keys
        }
        return (tiles, size)
    }
}

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
        let plan = try AttentionPlan(batch: b, length: l, width: width, stride: width, heads: heads, window: window,
                                     keep: GradMode.isEnabled && (query.requiresGrad || key.requiresGrad || value.requiresGrad))
        let (out, probs) = query.data.withUnsafeBufferPointer { pq in
            key.data.withUnsafeBufferPointer { pk in
                value.data.withUnsafeBufferPointer { pv in plan.forward(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!) }
            }
        }
        return Tensor(unchecked: query.shape, data: out).record([query, key, value]) { y in
            var dq = uninitializedFloats(query.count), dk = uninitializedFloats(key.count), dv = uninitializedFloats(value.count)
            y.grad!.withUnsafeBufferPointer { pg in
                query.data.withUnsafeBufferPointer { pq in
                    key.data.withUnsafeBufferPointer { pk in
                        value.data.withUnsafeBufferPointer { pv in
                            dq.withUnsafeMutableBufferPointer { pdq in
                                dk.withUnsafeMutableBufferPointer { pdk in
                                    dv.withUnsafeMutableBufferPointer { pdv in
                                        plan.backward(g: pg.baseAddress!, probs: probs, q: pq.baseAddress!, k: pk.baseAddress!,
                                                      v: pv.baseAddress!, dq: pdq.baseAddress!, dk: pdk.baseAddress!, dv: pdv.baseAddress!)
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
    }

    /// Causal attention over one packed projection: `qkv` is (B, L, 3·H·E) with the queries,
    /// keys and values in consecutive column blocks, read in place (no split copies), and its
    /// gradient is one packed buffer. Equal to `causalAttention(query:key:value:)` on the three
    /// blocks.
    /// - Returns: (B, L, H·E)
    public static func causalAttention(packed qkv: Tensor, heads: Int, window: Int? = nil) throws -> Tensor {
        guard qkv.rank == 3, qkv.shape[2] % 3 == 0 else {
            throw AutogradError.invalidArgument(op: "attention", message: "packed input \(qkv.shape) is not (B, L, 3·width)")
        }
        let (b, l, width) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let plan = try AttentionPlan(batch: b, length: l, width: width, stride: 3 * width, heads: heads, window: window,
                                     keep: GradMode.isEnabled && qkv.requiresGrad)
        let (out, probs) = qkv.data.withUnsafeBufferPointer { p in
            plan.forward(q: p.baseAddress!, k: p.baseAddress! + width, v: p.baseAddress! + 2 * width)
        }
        return Tensor(unchecked: [b, l, width], data: out).record([qkv]) { y in
            var d = uninitializedFloats(qkv.count)
            y.grad!.withUnsafeBufferPointer { pg in
                qkv.data.withUnsafeBufferPointer { p in
                    d.withUnsafeMutableBufferPointer { pd in
                        let (x, dx) = (p.baseAddress!, pd.baseAddress!)
                        plan.backward(g: pg.baseAddress!, probs: probs, q: x, k: x + width, v: x + 2 * width,
                                      dq: dx, dk: dx + width, dv: dx + 2 * width)
                    }
                }
            }
            qkv.accumulateGrad(d)
        }
    }

    /// Softmax of each row of a tile's (m, n) scores over the keys its query sees
    /// (i − window < j ≤ i); the other columns become 0.
    @inline(__always)
    static func causalSoftmaxInPlace(_ s: UnsafeMutablePointer<Float>, _ tile: AttentionTile, window: Int) {
        let n = tile.keys
        for (r, i) in tile.rows.enumerated() {
            let row = s + r * n
            let first = Swift.max(0, i - window + 1) - tile.firstKey, last = i - tile.firstKey
            let m = maximum(row + first, count: last - first + 1)
            let total = expShifted(row + first, row + first, count: last - first + 1, shift: m)
            let inv = 1 / total
            for j in first...last { row[j] *= inv }
            for j in 0..<first { row[j] = 0 }
            for j in (last + 1)..<Swift.max(n, last + 1) { row[j] = 0 }
        }
    }

    /// The backward pass of one query tile of one (batch, head) pair: g (row stride `gStride`),
    /// q and dq start at the tile's first query row, k, v, dk and dv at its first key (row
    /// stride `stride`); P and the scratch S are (m, n).
    @inline(__always)
    static func attentionTileBackward(_ tile: AttentionTile, p: UnsafePointer<Float>, g: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                      k: UnsafePointer<Float>, v: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                      dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                      s: UnsafeMutablePointer<Float>, e: Int, gStride: Int, stride: Int, scale: Float) {
        let (m, n) = (tile.rows.count, tile.keys)
        // dV += Pᵀ dO
        BLAS.gemm(transposeA: true, transposeB: false, m: n, n: e, k: m, a: p, lda: n, b: g, ldb: gStride, beta: 1, c: dv, ldc: stride)
        // dP = dO vᵀ
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: e, a: g, lda: gStride, b: v, ldb: stride, c: s, ldc: n)
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)); zero outside the attended columns because P is. The row
        // sums run eight rows at once, each over columns 0 … last in order: past a row's last
        // column P is 0, so the longer rows' extra columns add only zeros.
        for first in Swift.stride(from: 0, to: m, by: 8) {
            let count = Swift.min(8, m - first), longest = tile.rows.lowerBound + first + count - tile.firstKey
            let dots = rowDots(rowBlock(p + first * n, row: 0, rows: count, width: n),
                               rowBlock(s + first * n, row: 0, rows: count, width: n), count: longest)
            for lane in 0..<count {
                let r = first + lane, pr = p + r * n, sr = s + r * n, last = tile.rows.lowerBound + r - tile.firstKey
                let dot = dots[lane]
                for j in 0...last { sr[j] = pr[j] * (sr[j] - dot) }
                for j in (last + 1)..<Swift.max(n, last + 1) { sr[j] = 0 }
            }
        }
        // dQ = scale · dS k,  dK += scale · dSᵀ q
        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: e, k: n, alpha: scale, a: s, lda: n, b: k, ldb: stride, c: dq, ldc: stride)
        BLAS.gemm(transposeA: true, transposeB: false, m: n, n: e, k: m, alpha: scale, a: s, lda: n, b: q, ldb: stride, beta: 1, c: dk, ldc: stride)
    }
}

/// The shape of one attention call and the kernels over raw rows: queries, keys and values
/// (and their gradients) have row stride `stride` (the width for separate tensors, 3 × width
/// for a packed projection); the output and its gradient have row stride `width`.
struct AttentionPlan {
    let batch, length, width, stride, heads, headWidth, reach: Int
    let scale: Float
    let tiles: [AttentionTile]
    let pairSize: Int
    /// Whether the forward pass keeps every tile's probabilities for the backward pass.
    let keep: Bool

    init(batch: Int, length: Int, width: Int, stride: Int, heads: Int, window: Int?, keep: Bool) throws {
        guard heads > 0, width % heads == 0 else {
            throw AutogradError.invalidArgument(op: "attention", message: "width \(width) is not divisible by \(heads) heads")
        }
        if let window, window < 1 {
            throw AutogradError.invalidArgument(op: "attention", message: "window \(window) must be at least 1")
        }
        (self.batch, self.length, self.width, self.stride, self.heads) = (batch, length, width, stride, heads)
        headWidth = width / heads
        reach = window ?? length
        scale = 1 / Float(headWidth).squareRoot()
        (tiles, pairSize) = AttentionTile.tiling(length: length, reach: reach)
        self.keep = keep
    }

    /// The (batch, head) pairs, cut between the threads.
    var pairs: [Range<Int>] { Parallel.ranges(batch * heads, parts: Parallel.chunkCount(batch * heads)) }

    /// The output (B, L, width) and the probabilities kept for the backward pass:
    /// (B·H, pairSize) when `keep`, otherwise one tile's worth per chunk.
    func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>) -> (out: [Float], probs: [Float]) {
        let (l, e, pairs) = (length, headWidth, self.pairs)
        var probs = uninitializedFloats(keep ? batch * heads * pairSize : pairs.count * AttentionTile.height * l)
        var out = uninitializedFloats(batch * l * width)
        probs.withUnsafeMutableBufferPointer { pp in
            out.withUnsafeMutableBufferPointer { po in
                let o = po.baseAddress!
                Parallel.forEachChunk(pairs.count) { chunk in
                    for pair in pairs[chunk] {
                        let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                        let (inBase, outBase) = (bi * l * stride + h * e, bi * l * width + h * e)
                        for tile in tiles {
                            let p = pp.baseAddress! + (keep ? pair * pairSize + tile.offset : chunk * AttentionTile.height * l)
                            let (i0, j0, m, n) = (tile.rows.lowerBound, tile.firstKey, tile.rows.count, tile.keys)
                            // S = q kᵀ · scale   (m, n)
                            BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: e, alpha: scale,
                                      a: q + inBase + i0 * stride, lda: stride, b: k + inBase + j0 * stride, ldb: stride, c: p, ldc: n)
                            Tensor.causalSoftmaxInPlace(p, tile, window: reach)
                            // O = P v   (m, E)
                            BLAS.gemm(transposeA: false, transposeB: false, m: m, n: e, k: n, a: p, lda: n,
                                      b: v + inBase + j0 * stride, ldb: stride, c: o + outBase + i0 * width, ldc: width)
                        }
                    }
                }
            }
        }
        return (out, probs)
    }

    /// Per (batch, head) and query tile: dP = dO vᵀ, dV += Pᵀ dO, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
    /// dQ = scale · dS k, dK += scale · dSᵀ q. Every element of dq, dk and dv is written: each
    /// pair zeroes its own columns of dk and dv before its tiles add into them.
    func backward(g: UnsafePointer<Float>, probs: [Float], q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                  v: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                  dv: UnsafeMutablePointer<Float>) {
        let (l, e, pairs) = (length, headWidth, self.pairs)
        // One tile's scratch per chunk for dP, then dS in place.
        let scratchSize = AttentionTile.height * l
        var scratch = uninitializedFloats(pairs.count * scratchSize)
        probs.withUnsafeBufferPointer { pp in
            scratch.withUnsafeMutableBufferPointer { pds in
                Parallel.forEachChunk(pairs.count) { chunk in
                    let s = pds.baseAddress! + chunk * scratchSize
                    for pair in pairs[chunk] {
                        let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                        let (inBase, outBase) = (bi * l * stride + h * e, bi * l * width + h * e)
                        for row in 0..<l {
                            (dk + inBase + row * stride).update(repeating: 0, count: e)
                            (dv + inBase + row * stride).update(repeating: 0, count: e)
                        }
                        for tile in tiles {
                            let (i, j) = (inBase + tile.rows.lowerBound * stride, inBase + tile.firstKey * stride)
                            Tensor.attentionTileBackward(tile, p: pp.baseAddress! + pair * pairSize + tile.offset,
                                                         g: g + outBase + tile.rows.lowerBound * width, q: q + i, k: k + j, v: v + j,
                                                         dq: dq + i, dk: dk + j, dv: dv + j, s: s, e: e,
                                                         gStride: width, stride: stride, scale: scale)
                        }
                    }
                }
            }
        }
    }
}
