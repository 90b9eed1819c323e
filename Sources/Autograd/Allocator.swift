/// Allocator tuning for tensor workloads, applied once: at program start, or before the first
/// tensor is made.
///
/// A training step allocates and frees the same multi-megabyte buffers over and over. By
/// default glibc serves every allocation over 128 KiB with a fresh `mmap` and returns it with
/// `munmap`, so each step pays a page fault per 4 KiB touched (measured: half the time of a
/// fused LayerNorm forward+backward). Raising the mmap and trim thresholds keeps freed
/// buffers in the heap for reuse.
public enum Allocator {
    /// Applies the tuning now. glibc's `mallopt` is not thread-safe, so a program calls this
    /// first thing, before it starts threads; tensors apply it lazily otherwise.
    public static func configure() { _ = configured }

    static let configured: Bool = {
        #if os(Linux)
        // <malloc.h> parameters (not exported by the Glibc module).
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
        _ = glibcMallopt(mmapThreshold, 32 << 20)  // glibc's maximum on 64-bit
        // The largest threshold mallopt takes (2 GiB − 1): a medium-size training step frees
        // more than 1 GiB at its end, which a 1 GiB threshold handed back to the kernel, so the
        // next step faulted every page in again (a tenth of its time, issue 13).
        _ = glibcMallopt(trimThreshold, Int32.max)
        _ = glibcMallopt(topPad, 64 << 20)
        #endif
        return true
    }()
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
