// Index-driven operations: embedding lookup, gather along an axis, rotary position embedding
// and dropout.

import Foundation

extension Tensor {
    /// Rows of the table `self` (V, D) at `indices`, shaped `indexShape + [D]`.
    public func embedding(indices: [Int], shape indexShape: [Int]) throws -> Tensor {
        guard rank == 2, indexShape.product == indices.count else {
            throw AutogradError.shapeMismatch(op: "embedding", lhs: shape, rhs: indexShape)
        }
        let (v, d) = (shape[0], shape[1])
        if let bad = indices.first(where: { $0 < 0 || $0 >= v }) {
            throw AutogradError.invalidArgument(op: "embedding", message: "index \(bad) is outside the table's \(v) rows")
        }
        let table = self
        var out = [Float](repeating: 0, count: indices.count * d)
        for (r, index) in indices.enumerated() {
            for j in 0..<d { out[r * d + j] = table.data[index * d + j] }
        }
        return Tensor(unchecked: indexShape + [d], data: out).record([table]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                table.withGradBuffer { dt in
                    for (r, index) in indices.enumerated() {
                        for j in 0..<d { dt[index * d + j] += g[r * d + j] }
                    }
                }
            }
        }
    }

    /// PyTorch's `gather`: `out[…, j, …] = self[…, indices[…, j, …], …]` along `axis`.
    /// `indexShape` equals `self.shape` except along `axis`.
    public func gather(axis: Int, indices: [Int], shape indexShape: [Int]) throws -> Tensor {
        let axis = try normalizedAxis(axis, op: "gather")
        guard indexShape.count == rank, indices.count == indexShape.product,
              indexShape.enumerated().allSatisfy({ $0.offset == axis || $0.element == shape[$0.offset] }) else {
            throw AutogradError.shapeMismatch(op: "gather", lhs: shape, rhs: indexShape)
        }
        let (outer, n, inner) = split(at: axis)
        let m = indexShape[axis]
        if let bad = indices.first(where: { $0 < 0 || $0 >= n }) {
            throw AutogradError.invalidArgument(op: "gather", message: "index \(bad) is outside axis \(axis) of shape \(shape)")
        }
        let x = self
        var out = [Float](repeating: 0, count: indices.count)
        for o in 0..<outer {
            for j in 0..<m {
                for i in 0..<inner {
                    let at = (o * m + j) * inner + i
                    out[at] = x.data[(o * n + indices[at]) * inner + i]
                }
            }
        }
        return Tensor(unchecked: indexShape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer { dx in
                    for o in 0..<outer {
                        for j in 0..<m {
                            for i in 0..<inner {
                                let at = (o * m + j) * inner + i
                                dx[(o * n + indices[at]) * inner + i] += g[at]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rotary position embedding (half-split convention) on (B, L, H·E) queries or keys: within
    /// each head, pairs (x_j, x_{j+E/2}) are rotated by θ_j = t / 10000^(2j/E).
    /// - Parameter positions: the absolute time index t of each of the B·L tokens.
    public func rotaryEmbedding(positions: [Float], heads: Int) throws -> Tensor {
        guard rank == 3, positions.count == shape[0] * shape[1], heads > 0, shape[2] % heads == 0,
              (shape[2] / heads) % 2 == 0 else {
            throw AutogradError.shapeMismatch(op: "rotaryEmbedding", lhs: shape, rhs: [positions.count, heads])
        }
        let x = self
        let width = shape[2], e = width / heads, half = e / 2
        let frequencies = (0..<half).map { j in Float(1 / Foundation.pow(10000.0, 2.0 * Double(j) / Double(e))) }
        func rotate(_ src: [Float], inverse: Bool) -> [Float] {
            var dst = [Float](repeating: 0, count: src.count)
            for (token, t) in positions.enumerated() {
                for j in 0..<half {
                    let angle = t * frequencies[j]
                    let c = Foundation.cos(angle), s = inverse ? -Foundation.sin(angle) : Foundation.sin(angle)
                    for h in 0..<heads {
                        let i1 = token * width + h * e + j, i2 = i1 + half
                        dst[i1] = src[i1] * c - src[i2] * s
                        dst[i2] = src[i1] * s + src[i2] * c
                    }
                }
            }
            return dst
        }
        return Tensor(unchecked: shape, data: rotate(x.data, inverse: false)).record([x]) { y in
            x.accumulateGrad(rotate(y.grad!, inverse: true))
        }
    }

    /// Inverted dropout: zeroes each element with probability `probability` and scales the
    /// rest by 1/(1−p); the identity when not `training` or when p = 0.
    public func dropout(probability: Float, training: Bool, using rng: RandomGenerator) throws -> Tensor {
        guard probability >= 0, probability < 1 else {
            throw AutogradError.invalidArgument(op: "dropout", message: "probability \(probability) is not in [0, 1)")
        }
        guard training, probability > 0 else { return self }
        let keep = 1 / (1 - probability)
        let x = self
        // The mask draws one uniform per element in order; the product is taken as it is drawn.
        var mask = uninitializedFloats(count), out = uninitializedFloats(count)
        x.data.withUnsafeBufferPointer { px in
            mask.withUnsafeMutableBufferPointer { pm in
                out.withUnsafeMutableBufferPointer { po in
                    for i in 0..<px.count {
                        let m = rng.uniform() < probability ? Float(0) : keep
                        pm[i] = m
                        po[i] = px[i] * m
                    }
                }
            }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                mask.withUnsafeBufferPointer { pm in
                    x.withGradBuffer(overwriting: { dx, fresh in
                        Parallel.forEachRange(g.count) { r in
                            if fresh { for i in r { dx[i] = g[i] * pm[i] } } else { for i in r { dx[i] += g[i] * pm[i] } }
                        }
                    })
                }
            }
        }
    }
}
