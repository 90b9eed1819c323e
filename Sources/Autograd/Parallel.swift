import Dispatch

/// Coarse-grained parallelism for kernels made of many small, independent pieces (the
/// (batch, head) pairs of attention), where handing each small product to a multithreaded
/// BLAS costs more in synchronisation than the product itself.
public enum Parallel {
    /// Runs `body(chunk)` for `chunks` chunks on up to `BLAS.threadCount` threads, with BLAS
    /// single-threaded meanwhile so that the two levels of parallelism do not compete; the
    /// BLAS thread count is restored afterwards. With one thread the chunks run in order.
    static func forEachChunk(_ chunks: Int, _ body: (Int) -> Void) {
        let width = BLAS.threadCount
        guard width > 1, chunks > 1 else {
            for c in 0..<chunks { body(c) }
            return
        }
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(width) }
        DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
    }

    /// Splits `0..<count` into `parts` near-equal consecutive ranges.
    static func ranges(_ count: Int, parts: Int) -> [Range<Int>] {
        let parts = Swift.max(1, Swift.min(parts, count))
        return (0..<parts).map { p in (p * count / parts)..<((p + 1) * count / parts) }
    }

    /// How many chunks to cut `count` independent items into.
    static func chunkCount(_ count: Int) -> Int { Swift.min(count, BLAS.threadCount) }
}
