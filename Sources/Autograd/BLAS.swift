import COpenBLAS

/// Thin wrappers over OpenBLAS: every matrix product of the engine goes through `gemm`.
public enum BLAS {
    /// Sets how many threads OpenBLAS uses for one call.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

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
        let lda = lda ?? (transposeA ? m : k)
        let ldb = ldb ?? (transposeB ? k : n)
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc ?? n))
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
