import COpenBLAS

/// Thin wrappers over OpenBLAS: every matrix product of the engine goes through `gemm`.
///
/// OpenBLAS runs single-threaded; the engine's own thread pool (`Parallel`) cuts large
/// products into one block of rows (or columns) per thread, so the threads that multiply are
/// the same ones that run the element-wise kernels in between.
public enum BLAS {
    /// Sets how many threads the engine uses (matrix products and the parallel kernels).
    public static func setThreadCount(_ count: Int) {
        Parallel.setWidth(count)
    }

    /// The number of threads the engine uses.
    public static var threadCount: Int { Parallel.width }

    /// Runs `body` with OpenBLAS's own threading at `count` threads (for measuring the library
    /// itself, as the benchmarks' raw sgemm rows do); the engine's products are unaffected.
    public static func withLibraryThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        openblas_set_num_threads(Int32(max(1, count)))
        defer { openblas_set_num_threads(1) }
        return try body()
    }

    /// Multiply–adds below which a product runs on one thread: cutting it costs more than it saves.
    static let parallelWork = 1 << 21

    /// `C ← α·op(A)·op(B) + β·C` on row-major matrices, `op(A)` of shape (m, k), `op(B)` (k, n).
    /// - Parameters:
    ///   - lda, ldb, ldc: row strides; default to the packed widths.
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let ldc = ldc ?? n
        if k == 0 {  // an empty sum: C ← β·C, which must also clear a buffer that was never written
            for r in 0..<m { for j in 0..<n { c[r * ldc + j] = beta == 0 ? 0 : beta * c[r * ldc + j] } }
            return
        }
        let lda = lda ?? (transposeA ? m : k)
        let ldb = ldb ?? (transposeB ? k : n)
        let width = Parallel.width
        // Blocks of whole 16-row (or 16-column) panels; each element's sum over k is the same
        // whichever block holds it.
        let byRows = m >= 32 * width
        let panels = ((byRows ? m : n) + 15) / 16
        guard width > 1, m * n * k >= parallelWork, byRows || n >= 32 * width else {
            sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let blocks = Parallel.ranges(panels, parts: width)
        Parallel.forEachChunk(blocks.count) { i in
            let first = blocks[i].lowerBound * 16, end = Swift.min(blocks[i].upperBound * 16, byRows ? m : n)
            if byRows {  // rows of C and of op(A)
                sgemm(transposeA, transposeB, end - first, n, k, alpha, a + (transposeA ? first : first * lda), lda,
                      b, ldb, beta, c + first * ldc, ldc)
            } else {  // columns of C and of op(B)
                sgemm(transposeA, transposeB, m, end - first, k, alpha, a, lda,
                      b + (transposeB ? first * ldb : first), ldb, beta, c + first, ldc)
            }
        }
    }

    @inline(__always)
    static func sgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                      _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>,
                      _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y ← op(A)·x` for a row-major (rows, columns) matrix A.
    @inline(__always)
    public static func gemv(transpose: Bool, rows: Int, columns: Int, a: UnsafePointer<Float>,
                            x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        guard rows > 0, columns > 0 else { return }
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), 1,
                    a, Int32(columns), x, 1, 0, y, 1)
    }
}
