// Broadcasting element-wise arithmetic: add, subtract, multiply, divide.

extension Tensor {
    enum BinaryOp { case add, sub, mul, div }

    func binary(_ op: BinaryOp, _ other: Tensor, name: String) throws -> Tensor {
        let a = self, b = other
        guard let bc = Broadcast(a.shape, b.shape) else {
            throw AutogradError.shapeMismatch(op: name, lhs: a.shape, rhs: b.shape)
        }
        var out = [Float](repeating: 0, count: bc.shape.product)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let x = pa.baseAddress!, y = pb.baseAddress!, z = po.baseAddress!
                    bc.forEachRow { o, l, r, n, ls, rs in
                        Tensor.binaryRow(op, x + l, ls, y + r, rs, z + o, n)
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
        result.grad!.withUnsafeBufferPointer { pg in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    let g = pg.baseAddress!, x = pa.baseAddress!, y = pb.baseAddress!
                    if a.requiresGrad {
                        a.withGradBuffer { da in
                            bc.forEachRow { o, l, r, n, ls, rs in
                                for i in 0..<n {
                                    let gi = g[o + i]
                                    let d: Float
                                    switch op {
                                    case .add, .sub: d = gi
                                    case .mul: d = gi * y[r + i * rs]
                                    case .div: d = gi / y[r + i * rs]
                                    }
                                    da[l + i * ls] += d
                                }
                            }
                        }
                    }
                    if b.requiresGrad {
                        b.withGradBuffer { db in
                            bc.forEachRow { o, l, r, n, ls, rs in
                                for i in 0..<n {
                                    let gi = g[o + i]
                                    let d: Float
                                    switch op {
                                    case .add: d = gi
                                    case .sub: d = -gi
                                    case .mul: d = gi * x[l + i * ls]
                                    case .div: let yi = y[r + i * rs]; d = -gi * x[l + i * ls] / (yi * yi)
                                    }
                                    db[r + i * rs] += d
                                }
                            }
                        }
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
            for i in 0..<p.count { p[i] = p[i] * scale + shift }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.withGradBuffer { dx in for i in 0..<g.count { dx[i] += scale * g[i] } }
            }
        }
    }
}
