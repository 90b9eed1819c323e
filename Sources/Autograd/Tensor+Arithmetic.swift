// Broadcasting element-wise arithmetic: add, subtract, multiply, divide.

extension Tensor {
    enum BinaryOp { case add, sub, mul, div }

    func binary(_ op: BinaryOp, _ other: Tensor, name: String) throws -> Tensor {
        let a = self, b = other
        guard let bc = Broadcast(a.shape, b.shape) else {
            throw AutogradError.shapeMismatch(op: name, lhs: a.shape, rhs: b.shape)
        }
        var out = uninitializedFloats(bc.shape.product)  // every row is written below
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let x = pa.baseAddress!, y = pb.baseAddress!, z = po.baseAddress!
                    if a.shape == b.shape {  // no broadcasting: one flat row, cut between the threads
                        Parallel.forEachRange(po.count) { r in
                            Tensor.binaryRow(op, x + r.lowerBound, 1, y + r.lowerBound, 1, z + r.lowerBound, r.count)
                        }
                    } else {
                        bc.forEachRowInParallel { o, l, r, n, ls, rs in
                            Tensor.binaryRow(op, x + l, ls, y + r, rs, z + o, n)
                        }
                    }
                }
            }
        }
        return Tensor(unchecked: bc.shape, data: out).record([a, b]) { result in
            Tensor.binaryBackward(op, a, b, result, bc)
        }
    }

    @inline(__always)
    static func binaryRow(_ op: BinaryOp, _ x: UnsafePointer<Float>, _ xs: Int, _ y: UnsafePointer<Float>, _ ys: Int,
                          _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        switch (op, xs, ys) {
        case (.add, 1, 1): for i in 0..<n { z[i] = x[i] + y[i] }
        case (.add, 1, 0): let c = y[0]; for i in 0..<n { z[i] = x[i] + c }
        case (.add, _, _): for i in 0..<n { z[i] = x[i * xs] + y[i * ys] }
        case (.sub, 1, 1): for i in 0..<n { z[i] = x[i] - y[i] }
        case (.sub, _, _): for i in 0..<n { z[i] = x[i * xs] - y[i * ys] }
        case (.mul, 1, 1): for i in 0..<n { z[i] = x[i] * y[i] }
        case (.mul, 1, 0): let c = y[0]; for i in 0..<n { z[i] = x[i] * c }
        case (.mul, _, _): for i in 0..<n { z[i] = x[i * xs] * y[i * ys] }
        case (.div, 1, 1): for i in 0..<n { z[i] = x[i] / y[i] }
        case (.div, _, _): for i in 0..<n { z[i] = x[i * xs] / y[i * ys] }
        }
    }

    /// Adds each operand's share of the result's gradient, summed over its broadcast axes.
    static func binaryBackward(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ result: Tensor, _ bc: Broadcast) {
        let g = result.grad!
        // Sums and differences pass the gradient through unchanged where nothing was broadcast.
        if op == .add || op == .sub {
            if a.requiresGrad, a.shape == bc.shape { a.accumulateGrad(g); if !b.requiresGrad { return } }
            if b.requiresGrad, b.shape == bc.shape {
                b.accumulateGrad(op == .add ? g : g.map { -$0 })
                if !a.requiresGrad || a.shape == bc.shape { return }
            }
        }
        if a.shape == b.shape, op == .mul || op == .div {
            flatProductBackward(op, a, b, g)
            return
        }
        g.withUnsafeBufferPointer { pg in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    let g = pg.baseAddress!, x = pa.baseAddress!, y = pb.baseAddress!
                    if a.requiresGrad && !(op != .mul && op != .div && a.shape == bc.shape) {
                        if a.shape == bc.shape {  // a product or quotient with a broadcast b: rows of a's own
                            a.withGradBuffer(overwriting: { da, fresh in
                                bc.forEachRowInParallel { o, l, r, n, _, rs in
                                    Tensor.scaledRow(op == .mul, fresh, g + o, y + r, rs, da + l, n)
                                }
                            })
                        } else {
                            a.withGradBuffer { da in
                                bc.reduceRows(into: da, count: a.count) { d, o, l, r, n, ls, rs in
                                    let gi = g + o, di = d + l, yi = y + r
                                    switch op {
                                    case .add, .sub: addRow(gi, into: di, step: ls, count: n)
                                    case .mul:
                                        if ls == 0, rs == 1 { di[0] += contiguousDot(gi, yi, count: n) }
                                        else { for i in 0..<n { di[i &* ls] += gi[i] * yi[i &* rs] } }
                                    case .div: for i in 0..<n { di[i &* ls] += gi[i] / yi[i &* rs] }
                                    }
                                }
                            }
                        }
                    }
                    if b.requiresGrad && !(op != .mul && op != .div && b.shape == bc.shape) {
                        if b.shape == bc.shape, op == .mul {  // a product with a broadcast a: rows of b's own
                            b.withGradBuffer(overwriting: { db, fresh in
                                bc.forEachRowInParallel { o, l, r, n, ls, _ in
                                    Tensor.scaledRow(true, fresh, g + o, x + l, ls, db + r, n)
                                }
                            })
                        } else {
                            b.withGradBuffer { db in
                                let body: (UnsafeMutablePointer<Float>, Int, Int, Int, Int, Int, Int) -> Void = { d, o, l, r, n, ls, rs in
                                    let gi = g + o, di = d + r, xi = x + l, yi = y + r
                                    switch op {
                                    case .add: addRow(gi, into: di, step: rs, count: n)
                                    case .sub:
                                        if rs == 0 { di[0] -= contiguousSum(gi, count: n) } else { for i in 0..<n { di[i &* rs] -= gi[i] } }
                                    case .mul:
                                        if rs == 0, ls == 1 { di[0] += contiguousDot(gi, xi, count: n) }
                                        else { for i in 0..<n { di[i &* rs] += gi[i] * xi[i &* ls] } }
                                    case .div:
                                        for i in 0..<n { let v = yi[i &* rs]; di[i &* rs] -= gi[i] * xi[i &* ls] / (v * v) }
                                    }
                                }
                                if b.shape == bc.shape { bc.forEachRowInParallel { body(db, $0, $1, $2, $3, $4, $5) } }
                                else { bc.reduceRows(into: db, count: b.count, body) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One contiguous row of the gradient of a full-shape operand whose partner was broadcast:
    /// d = g·v (a product) or g / v (a quotient), v read at stride `vs`; written when `fresh`,
    /// else added.
    @inline(__always)
    static func scaledRow(_ product: Bool, _ fresh: Bool, _ g: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ vs: Int,
                          _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        switch (product, fresh, vs) {
        case (true, true, 0): let c = v[0]; for i in 0..<n { d[i] = g[i] * c }
        case (true, false, 0): let c = v[0]; for i in 0..<n { d[i] += g[i] * c }
        case (true, true, 1): for i in 0..<n { d[i] = g[i] * v[i] }
        case (true, false, 1): for i in 0..<n { d[i] += g[i] * v[i] }
        case (true, true, _): for i in 0..<n { d[i] = g[i] * v[i &* vs] }
        case (true, false, _): for i in 0..<n { d[i] += g[i] * v[i &* vs] }
        case (false, true, _): for i in 0..<n { d[i] = g[i] / v[i &* vs] }
        case (false, false, _): for i in 0..<n { d[i] += g[i] / v[i &* vs] }
        }
    }

    /// The gradients of a product or quotient of two same-shape operands: flat loops, cut
    /// between the threads, that write a fresh gradient instead of adding into zeros.
    static func flatProductBackward(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ g: [Float]) {
        g.withUnsafeBufferPointer { pg in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    let g = pg.baseAddress!, x = pa.baseAddress!, y = pb.baseAddress!, n = pg.count
                    if a.requiresGrad {
                        a.withGradBuffer(overwriting: { da, fresh in
                            Parallel.forEachRange(n) { r in
                                let at = r.lowerBound
                                Tensor.scaledRow(op == .mul, fresh, g + at, y + at, 1, da + at, r.count)
                            }
                        })
                    }
                    if b.requiresGrad {
                        b.withGradBuffer(overwriting: { db, fresh in
                            Parallel.forEachRange(n) { r in
                                let at = r.lowerBound
                                switch (op, fresh) {
                                case (.mul, _): Tensor.scaledRow(true, fresh, g + at, x + at, 1, db + at, r.count)
                                case (_, true): for i in r { let v = y[i]; db[i] = 0 - g[i] * x[i] / (v * v) }
                                case (_, false): for i in r { let v = y[i]; db[i] -= g[i] * x[i] / (v * v) }
                                }
                            }
                        })
                    }
                }
            }
        }
    }

    /// Element-wise sum with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(.add, rhs, name: "add") }
    /// Element-wise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(.sub, rhs, name: "sub") }
    /// Element-wise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(.mul, rhs, name: "mul") }
    /// Element-wise quotient with broadcasting.
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.binary(.div, rhs, name: "div") }

    /// Adds a constant.
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: rhs) }
    /// Subtracts a constant.
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: -rhs) }
    /// Multiplies by a constant.
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: rhs, shift: 0) }
    /// Multiplies by a constant.
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: lhs, shift: 0) }
    /// Divides by a constant.
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1 / rhs, shift: 0) }
    /// Negation.
    public static prefix func - (x: Tensor) -> Tensor { x.affine(scale: -1, shift: 0) }
    /// A constant minus the tensor.
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: -1, shift: lhs) }

    /// `scale·self + shift`, element-wise.
    public func affine(scale: Float, shift: Float) -> Tensor {
        let x = self
        var out = x.data
        out.withUnsafeMutableBufferPointer { p in
            Parallel.forEachRange(p.count) { r in for i in r { p[i] = p[i] * scale + shift } }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer(overwriting: { dx, fresh in
                    if fresh { for i in 0..<g.count { dx[i] = scale * g[i] } } else { for i in 0..<g.count { dx[i] += scale * g[i] } }
                })
            }
        }
    }
}
