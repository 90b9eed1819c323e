// Element-wise exp over buffers, written so the compiler vectorises it (glibc's expf is a
// scalar call per element, and softmax over attention scores is the engine's largest
// non-matmul cost).
//
// exp(x) = 2ⁿ · exp(r) with n = round(x / ln 2) and r = x − n·ln 2 in [−ln2/2, ln2/2]; exp(r) by
// a degree-6 Taylor polynomial (relative error below 2e-7 on that interval, about 1–2 ulp);
// 2ⁿ is assembled in the exponent bits. Inputs are clamped to [−87, 88] (results below
// e⁻⁸⁷ ≈ 1.6e-38 are flushed to 0, as softmax weights that small are 0 in float anyway).

@inline(__always)
func fastExp(_ value: Float) -> Float {
    let x = Swift.min(Swift.max(value, -87), 88)
    // Adding 1.5·2²³ rounds x/ln2 to the nearest integer n and leaves n in the low mantissa
    // bits, so both n and 2ⁿ come out of wrapping integer arithmetic (no traps, vectorisable).
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    return value < -87 ? 0 : p * scale
}

/// The same computation on eight lanes at once.
@inline(__always)
func fastExp(_ value: SIMD8<Float>) -> SIMD8<Float> {
    // Clamped by selects: `clamped(lowerBound:upperBound:)` is a generic call per vector here.
    let x = value.replacing(with: -87, where: value .< -87).replacing(with: 88, where: value .> 88)
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    let result = p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    return result.replacing(with: 0, where: value .< -87)
}

/// `y[i] = exp(x[i] − shift)` for `count` elements (x and y may be the same buffer); returns Σ y.
@inline(__always)
func expShifted(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let e = fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - shift)
        UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: SIMD8<Float>.self)
        lanes += e
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        let e = fastExp(x[i] - shift)
        y[i] = e
        total += e
        i += 1
    }
    return total
}

extension Tensor {
    /// `exp` of every element with the engine's vectorised kernel (exposed for tests and benchmarks).
    public static func vectorExp(_ values: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                guard let xb = x.baseAddress, let yb = y.baseAddress else { return }
                _ = expShifted(xb, yb, count: x.count, shift: 0)
            }
        }
        return out
    }
}
