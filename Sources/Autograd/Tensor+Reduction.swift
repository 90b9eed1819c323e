// Reductions: sums and means (whole, along an axis, masked) and max/min along an axis.
// An axis splits a shape into (outer, n, inner): the reduced extent and what lies either side.

extension Tensor {
    func normalizedAxis(_ axis: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw AutogradError.invalidArgument(op: op, message: "axis \(axis) is out of range for shape \(shape)")
        }
        return a
    }

    func split(at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (Array(shape[..<axis]).product, shape[axis], Array(shape[(axis + 1)...]).product)
    }

    /// The sum of all elements (rank 0).
    public func sum() -> Tensor {
        let x = self
        var total: Float = 0
        x.data.withUnsafeBufferPointer { p in for v in p { total += v } }
        return Tensor(total).record([x]) { y in
            let g = y.grad![0]
            x.withGradBuffer { dx in for i in 0..<x.count { dx[i] += g } }
        }
    }

    /// The mean of all elements (rank 0).
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Sums along `axis`; the axis is kept with extent 1 when `keepingAxis`, else removed.
    public func sum(axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let x = self
        let axis = try normalizedAxis(axis, op: "sum")
        let (outer, n, inner) = split(at: axis)
        var out = uninitializedFloats(outer * inner)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                let src = px.baseAddress!, dst = py.baseAddress!
                if inner == 1 {
                    // Each output sums one contiguous run of n values, in order.
                    Parallel.forEachRowRange(outer, width: n) { r in
                        for o in r {
                            let row = src + o &* n
                            var total: Float = 0
                            for k in 0..<n { total += row[k] }
                            dst[o] = total
                        }
                    }
                } else {
                    Parallel.forEachRowRange(outer, width: n &* inner) { r in
                        for o in r {
                            let d = dst + o &* inner, first = src + o &* n &* inner
                            if n == 0 { for i in 0..<inner { d[i] = 0 } ; continue }
                            for i in 0..<inner { d[i] = first[i] }
                            for k in 1..<n {
                                let s = first + k &* inner
                                for i in 0..<inner { d[i] += s[i] }
                            }
                        }
                    }
                }
            }
        }
        var outShape = shape
        if keepingAxis { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        return Tensor(unchecked: outShape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { pg in
                x.withGradBuffer(overwriting: { dx, fresh in
                    let g = pg.baseAddress!
                    Parallel.forEachRowRange(outer, width: n &* inner) { r in
                        for o in r {
                            let go = g + o &* inner
                            for k in 0..<n {
                                let d = dx + (o &* n &+ k) &* inner
                                if inner == 1 {
                                    if fresh { d[0] = go[0] } else { d[0] += go[0] }
                                } else if fresh {
                                    for i in 0..<inner { d[i] = go[i] }
                                } else {
                                    for i in 0..<inner { d[i] += go[i] }
                                }
                            }
                        }
                    }
                })
            }
        }
    }

    /// Means along `axis`.
    public func mean(axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let a = try normalizedAxis(axis, op: "mean")
        return try sum(axis: a, keepingAxis: keepingAxis) * (1 / Float(Swift.max(shape[a], 1)))
    }

    /// The masked mean `Σ(x·mask) / (Σmask + 1e-5)` over all elements (`mask` broadcasts to
    /// `self`; it carries no gradient of its own in typical use).
    public func maskedMean(_ mask: Tensor) throws -> Tensor {
        let product = try self * mask
        let expanded = try mask.broadcast(to: product.shape)
        return try product.sum() / (expanded.sum() + 1e-5)
    }

    /// The masked mean along `axis`: `Σ_axis(x·mask) / (Σ_axis mask + 1e-5)`.
    public func maskedMean(_ mask: Tensor, axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let product = try self * mask
        let expanded = try mask.broadcast(to: product.shape)
        return try product.sum(axis: axis, keepingAxis: keepingAxis) / (expanded.sum(axis: axis, keepingAxis: keepingAxis) + 1e-5)
    }

    /// The maximum along `axis` and, for each, the index along `axis` where it occurs (first on ties).
    public func max(axis: Int, keepingAxis: Bool = false) throws -> (values: Tensor, indices: [Int]) {
        try extremum(axis: axis, keepingAxis: keepingAxis, op: "max", better: >)
    }

    /// The minimum along `axis` and the index along `axis` where it occurs (first on ties).
    public func min(axis: Int, keepingAxis: Bool = false) throws -> (values: Tensor, indices: [Int]) {
        try extremum(axis: axis, keepingAxis: keepingAxis, op: "min", better: <)
    }

    private func extremum(axis: Int, keepingAxis: Bool, op: String, better: (Float, Float) -> Bool) throws
        -> (values: Tensor, indices: [Int]) {
        let x = self
        let axis = try normalizedAxis(axis, op: op)
        let (outer, n, inner) = split(at: axis)
        guard n > 0 else { throw AutogradError.invalidArgument(op: op, message: "empty axis in shape \(shape)") }
        var values = [Float](repeating: 0, count: outer * inner)
        var indices = [Int](repeating: 0, count: outer * inner)
        x.data.withUnsafeBufferPointer { px in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = px[o * n * inner + i], at = 0
                    for k in 1..<Swift.max(n, 1) {
                        let v = px[(o * n + k) * inner + i]
                        if better(v, best) || (best.isNaN && !v.isNaN) { best = v; at = k }
                    }
                    values[o * inner + i] = best
                    indices[o * inner + i] = at
                }
            }
        }
        var outShape = shape
        if keepingAxis { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        let result = Tensor(unchecked: outShape, data: values).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer { dx in
                    for o in 0..<outer {
                        for i in 0..<inner { dx[(o * n + indices[o * inner + i]) * inner + i] += g[o * inner + i] }
                    }
                }
            }
        }
        return (result, indices)
    }
}
