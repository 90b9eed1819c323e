/// NumPy-style broadcasting of two shapes, walked one innermost row at a time.
///
/// The walk runs over the result's axes coalesced: axes of extent 1 are dropped and neighbouring
/// axes merged wherever both operands step through them as through one axis, so that rows are
/// as long as the operands allow (a (B, L, G, A) result with a (G, A) operand is walked in rows
/// of G·A, not A). Rows still cover the result in row-major order.
struct Broadcast {
    let shape: [Int]
    /// The walk's axes (never empty) and each operand's element strides along them (0 along
    /// broadcast axes).
    let loopShape: [Int], lhsStrides: [Int], rhsStrides: [Int]

    init?(_ lhs: [Int], _ rhs: [Int]) {
        let rank = max(lhs.count, rhs.count)
        let l = [Int](repeating: 1, count: rank - lhs.count) + lhs
        let r = [Int](repeating: 1, count: rank - rhs.count) + rhs
        var shape = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            guard l[i] == r[i] || l[i] == 1 || r[i] == 1 else { return nil }
            shape[i] = l[i] == 1 ? r[i] : l[i]
        }
        self.shape = shape
        (loopShape, lhsStrides, rhsStrides) = Broadcast.coalesced(shape, Broadcast.strides(l, in: shape),
                                                                  Broadcast.strides(r, in: shape))
    }

    /// The axes of `shape` without those of extent 1, with each axis merged into the one
    /// inside it when both operands' strides allow: outer stride = inner stride × inner extent.
    static func coalesced(_ shape: [Int], _ l: [Int], _ r: [Int]) -> ([Int], [Int], [Int]) {
        var axes: [(n: Int, l: Int, r: Int)] = []
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if let inner = axes.last, l[i] == inner.l * inner.n, r[i] == inner.r * inner.n {
                axes[axes.count - 1] = (inner.n * shape[i], inner.l, inner.r)
            } else {
                axes.append((shape[i], l[i], r[i]))
            }
        }
        if axes.isEmpty { axes = [(1, 0, 0)] }
        axes.reverse()
        return (axes.map(\.n), axes.map(\.l), axes.map(\.r))
    }

    /// Row-major strides of `shape`, zeroed where the extent is 1 but the result's is not.
    static func strides(_ shape: [Int], in result: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = shape[i] == 1 && result[i] != 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Calls `body(out, lhs, rhs, n, lhsStep, rhsStep)` for every innermost row: `n` elements
    /// starting at offset `out` of the result, `lhs`/`rhs` of the operands, advancing by the steps.
    func forEachRow(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        forEachRow(in: 0..<rowCount, body)
    }

    /// Rows of the walk (each of `loopShape.last` elements).
    var rowCount: Int {
        let n = loopShape[loopShape.count - 1]
        return n == 0 ? 0 : loopShape.product / n
    }

    /// `forEachRow` over the rows `rows` only, in order.
    func forEachRow(in rows: Range<Int>, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let shape = loopShape, rank = shape.count
        let n = shape[rank - 1]
        guard n > 0, !rows.isEmpty else { return }
        let ls = lhsStrides[rank - 1], rs = rhsStrides[rank - 1]
        // The odometer at the first row: its index over the outer axes and both offsets.
        var index = [Int](repeating: 0, count: rank)
        var lOff = 0, rOff = 0
        var rest = rows.lowerBound
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
            lOff += index[axis] * lhsStrides[axis]
            rOff += index[axis] * rhsStrides[axis]
        }
        var out = rows.lowerBound * n
        let end = rows.upperBound * n
        while out < end {
            body(out, lOff, rOff, n, ls, rs)
            out += n
            // Advance the odometer over the outer axes.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                lOff += lhsStrides[axis]
                rOff += rhsStrides[axis]
                if index[axis] < shape[axis] { break }
                lOff -= lhsStrides[axis] * shape[axis]
                rOff -= rhsStrides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// `forEachRow` with the rows cut between the engine's threads when the result is large;
    /// only for bodies whose rows write disjoint memory.
    func forEachRowInParallel(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        guard shape.product >= Parallel.elementGrain else { forEachRow(body); return }
        let parts = Parallel.ranges(rowCount, parts: Parallel.chunkCount(rowCount))
        Parallel.forEachChunk(parts.count) { forEachRow(in: parts[$0], body) }
    }

    /// Adds every row's contribution into the gradient `d` (`count` elements) of an operand
    /// that was broadcast, where rows meet at the same elements: `body(target, out, lhs, rhs,
    /// n, lhsStep, rhsStep)` adds one row's terms into `target` at the operand's offsets. A
    /// large result is cut into a fixed number of row blocks (set by its size, not by the
    /// threads), each adding into its own zeroed copy, and the copies are added to `d` in block
    /// order, so the sums do not depend on how many threads ran them.
    func reduceRows(into d: UnsafeMutablePointer<Float>, count: Int,
                    _ body: (UnsafeMutablePointer<Float>, Int, Int, Int, Int, Int, Int) -> Void) {
        let total = shape.product, rows = rowCount
        let blocks = Swift.min(rows, 16, total / (1 << 15), Swift.max(1, (1 << 22) / Swift.max(count, 1)))
        guard blocks > 1 else { forEachRow { body(d, $0, $1, $2, $3, $4, $5) }; return }
        let parts = Parallel.ranges(rows, parts: blocks)
        var partial = [Float](repeating: 0, count: parts.count * count)
        partial.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            Parallel.forEachChunk(parts.count) { k in
                forEachRow(in: parts[k]) { body(base + k * count, $0, $1, $2, $3, $4, $5) }
            }
            Parallel.forEachRange(count, grain: 1 << 14) { r in
                for k in 0..<parts.count {
                    let src = base + k * count
                    for i in r { d[i] += src[i] }
                }
            }
        }
    }
}

/// Adds a row of `count` contiguous gradient values into `d` at `step` apart, or their sum into
/// `d[0]` when the step is 0 (the row was broadcast from one element).
@inline(__always)
func addRow(_ g: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>, step: Int, count: Int) {
    if step == 0 { d[0] += contiguousSum(g, count: count) } else { for i in 0..<count { d[i &* step] += g[i] } }
}

/// Σ of `count` contiguous floats over eight lanes.
@inline(__always)
func contiguousSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(), i = 0
    while i &+ 8 <= count { lanes += load8(p + i); i &+= 8 }
    var total = lanes.sum()
    while i < count { total += p[i]; i &+= 1 }
    return total
}

/// Σ aᵢ·bᵢ over `count` contiguous floats, over eight lanes.
@inline(__always)
func contiguousDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(), i = 0
    while i &+ 8 <= count { lanes += load8(a + i) * load8(b + i); i &+= 8 }
    var total = lanes.sum()
    while i < count { total += a[i] * b[i]; i &+= 1 }
    return total
}
