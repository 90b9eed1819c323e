// Row sums that keep a plain loop's order, computed several rows at a time.
//
// A float sum depends on its order. The row reductions of LayerNorm run over each row's columns
// 0, 1, 2, … as a scalar loop does, so their results are the scalar loop's, bit for bit; speed
// comes from taking eight rows at once, one row per SIMD lane (two independent chains of
// additions), reading four columns of four rows per step and transposing them in registers.

typealias Quad = SIMD4<Float>

/// Four rows of a row-major matrix read column by column, one row per lane; rows past the end
/// repeat the last row (their lanes are computed and dropped).
struct Strip {
    let r0, r1, r2, r3: UnsafePointer<Float>

    /// Rows `row ..< row + 4` of a matrix with `rows` rows of `width` floats at `base`.
    @inline(__always)
    init(_ base: UnsafePointer<Float>, row: Int, rows: Int, width: Int) {
        let last = rows &- 1
        r0 = base + Swift.min(row, last) &* width
        r1 = base + Swift.min(row &+ 1, last) &* width
        r2 = base + Swift.min(row &+ 2, last) &* width
        r3 = base + Swift.min(row &+ 3, last) &* width
    }

    /// Columns i ..< i + 4: a 4×4 transpose in registers.
    @inline(__always)
    func columns(_ i: Int) -> (Quad, Quad, Quad, Quad) {
        let a = load4(r0 + i), b = load4(r1 + i), c = load4(r2 + i), e = load4(r3 + i)
        let ab0 = Quad(a[0], b[0], a[1], b[1]), ce0 = Quad(c[0], e[0], c[1], e[1])
        let ab1 = Quad(a[2], b[2], a[3], b[3]), ce1 = Quad(c[2], e[2], c[3], e[3])
        return (Quad(lowHalf: ab0.lowHalf, highHalf: ce0.lowHalf), Quad(lowHalf: ab0.highHalf, highHalf: ce0.highHalf),
                Quad(lowHalf: ab1.lowHalf, highHalf: ce1.lowHalf), Quad(lowHalf: ab1.highHalf, highHalf: ce1.highHalf))
    }

    /// Column i.
    @inline(__always)
    func column(_ i: Int) -> Quad { Quad(r0[i], r1[i], r2[i], r3[i]) }
}

/// Rows `row ..< row + 8` of a (rows, width) matrix as two strips.
@inline(__always)
func rowBlock(_ base: UnsafePointer<Float>, row: Int, rows: Int, width: Int) -> (Strip, Strip) {
    (Strip(base, row: row, rows: rows, width: width), Strip(base, row: row &+ 4, rows: rows, width: width))
}

/// Per row of an 8-row block (one per lane): Σ over its `width` columns, in column order, of the
/// element, or of (element − center)² when `center` is given.
@inline(__always)
func rowSums(_ block: (Strip, Strip), width d: Int, center: SIMD8<Float>? = nil) -> SIMD8<Float> {
    let (lo, hi) = block
    var sLo = Quad(), sHi = Quad(), i = 0
    if let center {
        let (cLo, cHi) = (center.lowHalf, center.highHalf)
        while i &+ 4 <= d {
            let (a0, a1, a2, a3) = lo.columns(i), (b0, b1, b2, b3) = hi.columns(i)
            let e0 = a0 - cLo, f0 = b0 - cHi, e1 = a1 - cLo, f1 = b1 - cHi
            let e2 = a2 - cLo, f2 = b2 - cHi, e3 = a3 - cLo, f3 = b3 - cHi
            sLo += e0 * e0; sHi += f0 * f0; sLo += e1 * e1; sHi += f1 * f1
            sLo += e2 * e2; sHi += f2 * f2; sLo += e3 * e3; sHi += f3 * f3
            i &+= 4
        }
        while i < d { let e = lo.column(i) - cLo, f = hi.column(i) - cHi; sLo += e * e; sHi += f * f; i &+= 1 }
    } else {
        while i &+ 4 <= d {
            let (a0, a1, a2, a3) = lo.columns(i), (b0, b1, b2, b3) = hi.columns(i)
            sLo += a0; sHi += b0; sLo += a1; sHi += b1; sLo += a2; sHi += b2; sLo += a3; sHi += b3
            i &+= 4
        }
        while i < d { sLo += lo.column(i); sHi += hi.column(i); i &+= 1 }
    }
    return SIMD8(lowHalf: sLo, highHalf: sHi)
}

@inline(__always)
func load4(_ p: UnsafePointer<Float>) -> Quad { UnsafeRawPointer(p).loadUnaligned(as: Quad.self) }

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func store8(_ value: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD8<Float>.self)
}

/// Per row of an 8-row block (one per lane): Σ over columns `0 ..< count`, in column order, of
/// the product of the two matrices' elements.
@inline(__always)
func rowDots(_ a: (Strip, Strip), _ b: (Strip, Strip), count d: Int) -> SIMD8<Float> {
    var sLo = Quad(), sHi = Quad(), i = 0
    while i &+ 4 <= d {
        let (a0, a1, a2, a3) = a.0.columns(i), (b0, b1, b2, b3) = b.0.columns(i)
        sLo += a0 * b0; sLo += a1 * b1; sLo += a2 * b2; sLo += a3 * b3
        let (c0, c1, c2, c3) = a.1.columns(i), (e0, e1, e2, e3) = b.1.columns(i)
        sHi += c0 * e0; sHi += c1 * e1; sHi += c2 * e2; sHi += c3 * e3
        i &+= 4
    }
    while i < d { sLo += a.0.column(i) * b.0.column(i); sHi += a.1.column(i) * b.1.column(i); i &+= 1 }
    return SIMD8(lowHalf: sLo, highHalf: sHi)
}

/// The largest of `count` floats (the order does not matter for a maximum).
@inline(__always)
func maximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: -.infinity), i = 0
    while i &+ 8 <= count {
        let v = load8(p + i)
        lanes = lanes.replacing(with: v, where: v .> lanes)
        i &+= 8
    }
    var m = -Float.infinity
    for lane in 0..<8 { m = Swift.max(m, lanes[lane]) }
    while i < count { m = Swift.max(m, p[i]); i &+= 1 }
    return m
}
