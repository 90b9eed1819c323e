import Foundation

// Element-wise functions and activations, each with its derivative beside it.

extension Tensor {
    /// Applies `forward` element-wise; the backward multiplies by `derivative(x, y)`, where
    /// `x` is the input element and `y` the output element.
    @inline(__always)
    func unary(_ forward: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        let x = self
        var out = uninitializedFloats(count)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                Parallel.forEachRange(px.count) { r in for i in r { py[i] = forward(px[i]) } }
            }
        }
        return Tensor(unchecked: shape, data: out).record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.data.withUnsafeBufferPointer { px in
                    y.data.withUnsafeBufferPointer { py in
                        x.withGradBuffer(overwriting: { dx, fresh in
                            Parallel.forEachRange(g.count) { r in
                                if fresh {
                                    for i in r { dx[i] = g[i] * derivative(px[i], py[i]) }
                                } else {
                                    for i in r { dx[i] += g[i] * derivative(px[i], py[i]) }
                                }
                            }
                        })
                    }
                }
            }
        }
    }

    /// eˣ
    public func exp() -> Tensor { unary({ Foundation.exp($0) }, derivative: { _, y in y }) }
    /// ln x
    public func log() -> Tensor { unary({ Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    /// √x
    public func sqrt() -> Tensor { unary({ $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    /// xᵖ for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        unary({ Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }
    /// x clamped to [low, high]; the gradient passes where low ≤ x ≤ high (as PyTorch).
    public func clamp(min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
        unary({ Swift.min(Swift.max($0, low), high) }, derivative: { x, _ in x >= low && x <= high ? 1 : 0 })
    }
    /// |x|; the gradient at 0 is 0.
    public func abs() -> Tensor {
        unary({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) })
    }
    /// tanh x
    public func tanh() -> Tensor { unary({ Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }
    /// The logistic function 1 / (1 + e⁻ˣ).
    public func sigmoid() -> Tensor {
        unary({ Tensor.sigmoid($0) }, derivative: { _, y in y * (1 - y) })
    }
    /// ln(1 + eˣ), linear above 20 as PyTorch's default threshold.
    public func softplus() -> Tensor {
        unary({ $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) }, derivative: { x, _ in Tensor.sigmoid(x) })
    }
    /// max(x, 0)
    public func relu() -> Tensor { unary({ Swift.max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }
    /// x for x > 0, else slope·x (PyTorch default slope 0.01).
    public func leakyReLU(slope: Float = 0.01) -> Tensor {
        // Its own loops, not `unary`'s: the MLPs' activation, and `unary` calls its closures once
        // per element (the same values either way).
        let x = self
        var out = uninitializedFloats(count)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { py in
                Parallel.forEachRange(px.count) { r in for i in r { py[i] = px[i] > 0 ? px[i] : slope * px[i] } }
            }
        }
        let y = Tensor(unchecked: shape, data: out)
        y.record([x]) { y in
            y.grad!.withUnsafeBufferPointer { g in
                x.data.withUnsafeBufferPointer { px in
                    x.withGradBuffer(overwriting: { dx, fresh in
                        Parallel.forEachRange(g.count) { r in
                            if fresh {
                                for i in r { dx[i] = g[i] * (px[i] > 0 ? 1 : slope) }
                            } else {
                                for i in r { dx[i] += g[i] * (px[i] > 0 ? 1 : slope) }
                            }
                        }
                    })
                }
            }
        }
        return y
    }
    /// The exact GELU, x·Φ(x) with Φ the standard normal CDF.
    public func gelu() -> Tensor {
        unary({ 0.5 * $0 * (1 + Foundation.erf($0 * 0.70710678)) }, derivative: { x, _ in
            0.5 * (1 + Foundation.erf(x * 0.70710678)) + x * 0.39894228 * Foundation.exp(-0.5 * x * x)
        })
    }

    /// sign(x)·ln(|x| + 1), compressing large magnitudes (spec §0).
    public func symlog() -> Tensor {
        unary({ Tensor.symlog($0) }, derivative: { x, _ in 1 / (Swift.abs(x) + 1) })
    }
    /// sign(x)·(e^|x| − 1), the inverse of `symlog`.
    public func symexp() -> Tensor {
        unary({ Tensor.symexp($0) }, derivative: { x, _ in Foundation.exp(Swift.abs(x)) })
    }

    /// sign(x)·ln(|x| + 1) on one value (sign(0) = 0).
    public static func symlog(_ x: Float) -> Float {
        x == 0 ? 0 : (x < 0 ? -1 : 1) * Foundation.log(Swift.abs(x) + 1)
    }
    /// sign(x)·(e^|x| − 1) on one value.
    public static func symexp(_ x: Float) -> Float {
        x == 0 ? 0 : (x < 0 ? -1 : 1) * (Foundation.exp(Swift.abs(x)) - 1)
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }()
    }
}
