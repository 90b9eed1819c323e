/// NumPy-style broadcasting of two shapes, walked one innermost row at a time.
struct Broadcast {
    let shape: [Int]
    /// Element strides of each operand in the result's index space (0 along broadcast axes).
    let lhsStrides: [Int], rhsStrides: [Int]

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
        lhsStrides = Broadcast.strides(l, in: shape)
        rhsStrides = Broadcast.strides(r, in: shape)
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
        let rank = shape.count
        guard rank > 0 else { body(0, 0, 0, 1, 0, 0); return }
        let n = shape[rank - 1]
        let total = shape.product
        guard total > 0 else { return }
        let ls = lhsStrides[rank - 1], rs = rhsStrides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var lOff = 0, rOff = 0, out = 0
        while out < total {
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
}
