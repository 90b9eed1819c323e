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
        guard heads > 0, width % heads == 0 else {
            throw AutogradError.invalidArgument(op: "attention", message: "width \(width) is not divisible by \(heads) heads")
        }
        if let window, window < 1 {
            throw AutogradError.invalidArgument(op: "attention", message: "window \(window) must be at least 1")
        }
        let reach = window ?? l
        let e = width / heads
        let scale = 1 / Float(e).squareRoot()
        let (tiles, pairSize) = AttentionTile.tiling(length: l, reach: reach)
        let pairs = Parallel.ranges(b * heads, parts: Parallel.chunkCount(b * heads))
        // Attention probabilities, tile by tile, kept for the backward pass when it will run:
        // (B·H, pairSize); otherwise one tile's worth per chunk.
        let keep = GradMode.isEnabled && (query.requiresGrad || key.requiresGrad || value.requiresGrad)
        var probs = uninitializedFloats(keep ? b * heads * pairSize : pairs.count * AttentionTile.height * l)
        var out = uninitializedFloats(query.count)
        query.data.withUnsafeBufferPointer { pq in
            key.data.withUnsafeBufferPointer { pk in
                value.data.withUnsafeBufferPointer { pv in
                    probs.withUnsafeMutableBufferPointer { pp in
                        out.withUnsafeMutableBufferPointer { po in
                            let (q, k, v, o) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, po.baseAddress!)
                            Parallel.forEachChunk(pairs.count) { chunk in
                                for pair in pairs[chunk] {
                                    let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                                    let base = bi * l * width + h * e
                                    for tile in tiles {
                                        let p = pp.baseAddress! + (keep ? pair * pairSize + tile.offset : chunk * AttentionTile.height * l)
                                        let (i0, j0, m, n) = (tile.rows.lowerBound, tile.firstKey, tile.rows.count, tile.keys)
                                        // S = q kᵀ · scale   (m, n)
                                        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: e, alpha: scale,
                                                  a: q + base + i0 * width, lda: width, b: k + base + j0 * width, ldb: width, c: p, ldc: n)
                                        causalSoftmaxInPlace(p, tile, window: reach)
                                        // O = P v   (m, E)
                                        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: e, k: n, a: p, lda: n,
                                                  b: v + base + j0 * width, ldb: width, c: o + base + i0 * width, ldc: width)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(unchecked: query.shape, data: out).record([query, key, value]) { y in
            attentionBackward(query, key, value, y, probs: probs, heads: heads, scale: scale, tiles: tiles, pairSize: pairSize)
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

    /// Per (batch, head) and query tile: dP = dO vᵀ, dV += Pᵀ dO, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
    /// dQ = scale · dS k, dK += scale · dSᵀ q.
    static func attentionBackward(_ query: Tensor, _ key: Tensor, _ value: Tensor, _ y: Tensor, probs: [Float], heads: Int,
                                  scale: Float, tiles: [AttentionTile], pairSize: Int) {
        let (b, l, width) = (query.shape[0], query.shape[1], query.shape[2])
        let e = width / heads
        var dq = uninitializedFloats(query.count)
        // Tiles add into the keys' and values' gradients.
        var dk = [Float](repeating: 0, count: key.count), dv = [Float](repeating: 0, count: value.count)
        let pairs = Parallel.ranges(b * heads, parts: Parallel.chunkCount(b * heads))
        // One tile's scratch per chunk for dP, then dS in place.
        let scratchSize = AttentionTile.height * l
        var scratch = uninitializedFloats(pairs.count * scratchSize)
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
                                                let s = pds.baseAddress! + chunk * scratchSize
                                                for pair in pairs[chunk] {
                                                    let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                                                    let base = bi * l * width + h * e
                                                    for tile in tiles {
                                                        let (i, j) = (base + tile.rows.lowerBound * width, base + tile.firstKey * width)
                                                        attentionTileBackward(tile, p: pp.baseAddress! + pair * pairSize + tile.offset,
                                                                              g: g + i, q: q + i, k: k + j, v: v + j, dq: dQ + i, dk: dK + j,
                                                                              dv: dV + j, s: s, e: e, width: width, scale: scale)
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
        }
        query.accumulateGrad(dq)
        key.accumulateGrad(dk)
        value.accumulateGrad(dv)
    }

    /// The backward pass of one query tile of one (batch, head) pair: g, q and dq start at the
    /// tile's first query row, k, v, dk and dv at its first key (row stride `width`); P and the
    /// scratch S are (m, n).
    @inline(__always)
    static func attentionTileBackward(_ tile: AttentionTile, p: UnsafePointer<Float>, g: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                      k: UnsafePointer<Float>, v: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                      dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                      s: UnsafeMutablePointer<Float>, e: Int, width: Int, scale: Float) {
        let (m, n) = (tile.rows.count, tile.keys)
        // dV += Pᵀ dO
        BLAS.gemm(transposeA: true, transposeB: false, m: n, n: e, k: m, a: p, lda: n, b: g, ldb: width, beta: 1, c: dv, ldc: width)
        // dP = dO vᵀ
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: e, a: g, lda: width, b: v, ldb: width, c: s, ldc: n)
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)); zero outside the attended columns because P is. The row
        // sums run eight rows at once, each over columns 0 … last in order: past a row's last
        // column P is 0, so the longer rows' extra columns add only zeros.
        for first in stride(from: 0, to: m, by: 8) {
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
        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: e, k: n, alpha: scale, a: s, lda: n, b: k, ldb: width, c: dq, ldc: width)
        BLAS.gemm(transposeA: true, transposeB: false, m: n, n: e, k: m, alpha: scale, a: s, lda: n, b: q, ldb: width, beta: 1, c: dk, ldc: width)
    }
}
