// Shape operations: reshape, transpose, broadcast, tile, concatenate, split and slice.

extension Tensor {
    /// The same elements under a new shape; one extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).product
            guard known > 0, count % known == 0 else {
                throw AutogradError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape)
            }
            target[hole] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), target.product == count else {
            throw AutogradError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape)
        }
        let x = self
        return Tensor(unchecked: target, data: data).record([x]) { y in
            x.accumulateGrad(y.grad!)
        }
    }

    /// Reorders the axes: result axis `i` is input axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) throws -> Tensor {
        guard permutation.sorted() == Array(0..<rank) else {
            throw AutogradError.invalidArgument(op: "permute", message: "\(permutation) is not a permutation of the axes of \(shape)")
        }
        let x = self
        let outShape = permutation.map { shape[$0] }
        let inStrides = Broadcast.strides(shape, in: shape)
        let strides = permutation.map { inStrides[$0] }  // input stride of each output axis
        var out = [Float](repeating: 0, count: count)
        Tensor.stridedCopy(shape: outShape, strides: strides, from: data, into: &out, gathering: true)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Tensor(unchecked: outShape, data: out).record([x]) { y in
            var back = [Float](repeating: 0, count: x.count)
            Tensor.stridedCopy(shape: outShape, strides: strides, from: y.grad!, into: &back, gathering: false)
            x.accumulateGrad(back)
        }
    }

    /// Swaps two axes.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let a = try normalizedAxis(a, op: "transpose"), b = try normalizedAxis(b, op: "transpose")
        var permutation = Array(0..<rank)
        permutation.swapAt(a, b)
        return try permuted(permutation)
    }

    /// Walks `shape` in row-major order; element `i` of the walk sits at `Σ index·strides` in the
    /// strided buffer. Gathering copies strided → dense, otherwise dense → strided.
    static func stridedCopy(shape: [Int], strides: [Int], from src: [Float], into dst: inout [Float], gathering: Bool) {
        let total = shape.product
        guard total > 0 else { return }
        let rank = shape.count
        src.withUnsafeBufferPointer { ps in
            dst.withUnsafeMutableBufferPointer { pd in
                guard rank > 0 else { pd[0] = ps[0]; return }
                let n = shape[rank - 1], step = strides[rank - 1]
                var index = [Int](repeating: 0, count: rank)
                var offset = 0, dense = 0
                while dense < total {
                    if gathering {
                        for i in 0..<n { pd[dense + i] = ps[offset + i * step] }
                    } else {
                        for i in 0..<n { pd[offset + i * step] = ps[dense + i] }
                    }
                    dense += n
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        offset += strides[axis]
                        if index[axis] < shape[axis] { break }
                        offset -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }

    /// Expands extent-1 axes (and missing leading axes) to `target` (NumPy broadcasting).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard let bc = Broadcast(target, shape), bc.shape == target else {
            throw AutogradError.shapeMismatch(op: "broadcast", lhs: shape, rhs: target)
        }
        let x = self
        var out = uninitializedFloats(target.product)  // every row is written below
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                bc.forEachRow { o, _, r, n, _, rs in for i in 0..<n { po[o + i] = px[r + i * rs] } }
            }
        }
        return Tensor(unchecked: target, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer { dx in
                    bc.reduceRows(into: dx, count: x.count) { d, o, _, r, n, _, rs in
                        addRow(g.baseAddress! + o, into: d + r, step: rs, count: n)
                    }
                }
            }
        }
    }

    /// Tiles the tensor `counts[i]` times along axis `i` (PyTorch's `Tensor.repeat`); extra
    /// leading counts add new axes.
    public func repeated(_ counts: [Int]) throws -> Tensor {
        guard counts.count >= rank, counts.allSatisfy({ $0 >= 1 }) else {
            throw AutogradError.invalidArgument(op: "repeat", message: "counts \(counts) do not fit shape \(shape)")
        }
        let base = [Int](repeating: 1, count: counts.count - rank) + shape
        // View the result as (counts[0], base[0], counts[1], base[1], …) and broadcast into it.
        let expandedShape = zip(counts, base).flatMap { [$0, $1] }
        let source = try reshaped(base.flatMap { [1, $0] })
        return try source.broadcast(to: expandedShape).reshaped(zip(counts, base).map { $0 * $1 })
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else {
            throw AutogradError.invalidArgument(op: "concat", message: "no tensors to join")
        }
        let axis = try first.normalizedAxis(axis, op: "concat")
        for t in tensors where t.rank != first.rank || t.shape.enumerated().contains(where: { $0.offset != axis && $0.element != first.shape[$0.offset] }) {
            throw AutogradError.shapeMismatch(op: "concat", lhs: first.shape, rhs: t.shape)
        }
        let (outer, _, inner) = first.split(at: axis)
        let widths = tensors.map { $0.shape[axis] * inner }
        let total = widths.reduce(0, +)
        var out = [Float](repeating: 0, count: outer * total)
        out.withUnsafeMutableBufferPointer { po in
            var column = 0
            for (t, w) in zip(tensors, widths) {
                t.data.withUnsafeBufferPointer { pt in
                    for o in 0..<outer {
                        (po.baseAddress! + o * total + column).update(from: pt.baseAddress! + o * w, count: w)
                    }
                }
                column += w
            }
        }
        var outShape = first.shape
        outShape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        return Tensor(unchecked: outShape, data: out).record(tensors) { y in
            y.grad!.withUnsafeBufferPointer { pg in
                var column = 0
                for (t, w) in zip(tensors, widths) {
                    if t.requiresGrad {
                        t.withGradBuffer { dt in
                            for o in 0..<outer {
                                let g = pg.baseAddress! + o * total + column, d = dt + o * w
                                for i in 0..<w { d[i] += g[i] }
                            }
                        }
                    }
                    column += w
                }
            }
        }
    }

    /// The elements at positions `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let axis = try normalizedAxis(axis, op: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw AutogradError.invalidArgument(op: "slice", message: "range \(range) is outside axis \(axis) of shape \(shape)")
        }
        let x = self
        let (outer, n, inner) = split(at: axis)
        let w = range.count * inner, start = range.lowerBound * inner
        var out = uninitializedFloats(outer * w)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                for o in 0..<outer {
                    (po.baseAddress! + o * w).update(from: px.baseAddress! + o * n * inner + start, count: w)
                }
            }
        }
        var outShape = shape
        outShape[axis] = range.count
        return Tensor(unchecked: outShape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer(overwriting: { dx, fresh in
                    let row = n * inner
                    for o in 0..<outer {
                        let d = dx + o * row + start, go = g.baseAddress! + o * w
                        if fresh {
                            // A fresh buffer: the slice's columns are written, the rest zeroed.
                            (dx + o * row).update(repeating: 0, count: start)
                            d.update(from: go, count: w)
                            (d + w).update(repeating: 0, count: row - start - w)
                        } else {
                            for i in 0..<w { d[i] += go[i] }
                        }
                    }
                })
            }
        }
    }

    /// Cuts the tensor along `axis` into consecutive pieces of the given sizes.
    public func split(sizes: [Int], axis: Int) throws -> [Tensor] {
        let a = try normalizedAxis(axis, op: "split")
        guard sizes.reduce(0, +) == shape[a], sizes.allSatisfy({ $0 >= 0 }) else {
            throw AutogradError.invalidArgument(op: "split", message: "sizes \(sizes) do not add up to axis \(a) of shape \(shape)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(axis: a, start..<(start + size))
        }
    }

    /// Inserts an axis of extent 1 at `axis`.
    public func unsqueezed(_ axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0, a <= rank else {
            throw AutogradError.invalidArgument(op: "unsqueeze", message: "axis \(axis) is out of range for shape \(shape)")
        }
        var s = shape
        s.insert(1, at: a)
        return try reshaped(s)
    }
}
