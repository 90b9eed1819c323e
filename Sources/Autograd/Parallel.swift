import COpenBLAS
import Foundation
import Synchronization

/// The engine's parallelism: one pool of threads that runs every multithreaded piece of work —
/// the halves of a large matrix product, the (batch, head) pairs of attention, the row ranges
/// of LayerNorm — so that both cores stay busy through a whole training step and no second
/// set of threads (OpenBLAS's own) spins beside it. OpenBLAS itself runs single-threaded on
/// each piece.
public enum Parallel {
    /// Threads a parallel piece of work uses, the calling thread included (at least 1).
    static var width: Int { pool.width.load(ordering: .relaxed) }

    /// Sets the width, starting worker threads as needed.
    static func setWidth(_ count: Int) { pool.resize(Swift.max(1, count)) }

    /// Runs `body(chunk)` for `chunks` chunks over the pool's threads, the caller taking its
    /// share, and returns when all are done. Chunks are handed out in order as threads come
    /// free. With a width of 1, or when the pool is already busy (a call from inside a chunk,
    /// or from a second thread that trains at the same time), the chunks run in order here.
    public static func forEachChunk(_ chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 1, width > 1, pool.run(chunks, body) else {
            for c in 0..<chunks { body(c) }
            return
        }
    }

    /// Splits `0..<count` into `parts` near-equal consecutive ranges.
    static func ranges(_ count: Int, parts: Int) -> [Range<Int>] {
        let parts = Swift.max(1, Swift.min(parts, count))
        return (0..<parts).map { p in (p * count / parts)..<((p + 1) * count / parts) }
    }

    /// How many chunks to cut `count` independent items into.
    static func chunkCount(_ count: Int) -> Int { Swift.min(count, width) }

    /// Runs `body(range)` over `0..<count` in one range per thread when `count` reaches
    /// `grain` (element-wise loops, whose results do not depend on the cut), else in one call.
    @inline(__always)
    static func forEachRange(_ count: Int, grain: Int = elementGrain, _ body: (Range<Int>) -> Void) {
        let w = width
        guard w > 1, count >= grain else { body(0..<count); return }
        let parts = ranges(count, parts: w)
        forEachChunk(parts.count) { body(parts[$0]) }
    }

    /// Elements below which an element-wise loop runs in one call: handing a piece to the pool
    /// would cost more than it saves.
    static var elementGrain: Int { 1 << 16 }

    /// `forEachRange` over `rows` rows of `width` elements each: cut between the threads when
    /// the rows hold as many elements as an element-wise loop's grain.
    @inline(__always)
    static func forEachRowRange(_ rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        forEachRange(rows, grain: Swift.max(1, elementGrain / Swift.max(width, 1)), body)
    }

    /// The pool, started at OpenBLAS's own default width (its `OPENBLAS_NUM_THREADS`, or the
    /// cores), with OpenBLAS itself then kept to one thread.
    static let pool: ComputePool = {
        let pool = ComputePool()
        let initial = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        pool.resize(Swift.max(1, initial))
        return pool
    }()
}

/// Worker threads that wait for the next job by spinning briefly, then sleeping.
///
/// A job is published by bumping `generation`. Every active worker (the first `width − 1`)
/// takes part in every job: it takes chunks from `next` until none are left and then counts
/// itself done in `pending`. The caller works through chunks too and then waits (spinning:
/// chunks are short) for `pending` to reach zero, so no job starts before every active worker
/// has finished the previous one, and the job's fields stay fixed while workers read them.
/// The set of active workers changes only between jobs (`resize` holds `busy`).
final class ComputePool: @unchecked Sendable {
    let width = Atomic<Int>(1)
    private let generation = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    /// The generation the fields of `job` belong to (a lagging worker skips a job it did not see published).
    private let jobGeneration = Atomic<Int>(0)
    /// Set while a job runs (or the pool resizes); a second caller — another thread, or a
    /// chunk of the running job — finds it set and runs its chunks alone.
    private let busy = Atomic<Bool>(false)
    /// The current job; written by the caller before it publishes the generation.
    private nonisolated(unsafe) var job: ((Int) -> Void)?
    private nonisolated(unsafe) var jobChunks = 0
    /// Workers sleep here when no job came while they spun.
    private let sleep = NSCondition()
    private nonisolated(unsafe) var sleepers = 0
    private nonisolated(unsafe) var workers: [Thread] = []

    /// Spins of a waiting worker before it sleeps (a few milliseconds: longer than the serial
    /// stretches of a training step, so that a worker sleeps only when training pauses).
    private let spinLimit = 1 << 22

    func resize(_ count: Int) {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {}
        defer { busy.store(false, ordering: .releasing) }
        while workers.count < count - 1 {
            // The generation the new worker has seen is taken here, before any later job is published.
            let index = workers.count, seen = generation.load(ordering: .acquiring)
            let thread = Thread { [unowned self] in self.workerLoop(index, seen: seen) }
            thread.name = "amago-compute-\(index + 1)"
            thread.stackSize = 8 << 20
            workers.append(thread)
            thread.start()
        }
        width.store(count, ordering: .releasing)
    }

    /// Runs the job on the pool; false when the pool is busy with another job.
    func run(_ chunks: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        return withoutActuallyEscaping(body) { body in
            let helpers = width.load(ordering: .relaxed) - 1
            guard helpers > 0 else { return false }
            job = body
            jobChunks = chunks
            next.store(0, ordering: .relaxed)
            pending.store(helpers, ordering: .relaxed)
            let g = generation.load(ordering: .relaxed) &+ 1
            jobGeneration.store(g, ordering: .releasing)
            generation.store(g, ordering: .releasing)
            sleep.lock()
            if sleepers > 0 { sleep.broadcast() }
            sleep.unlock()
            work(chunks, body)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
            return true
        }
    }

    private func work(_ chunks: Int, _ body: (Int) -> Void) {
        while true {
            let c = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard c < chunks else { return }
            body(c)
        }
    }

    /// A worker's share of the current job; its reference to the job's closure ends here,
    /// before the worker counts itself done (the caller's closure must not outlive its call).
    @inline(never)
    private func takePart() {
        guard let body = job else { return }
        work(jobChunks, body)
    }

    private func workerLoop(_ index: Int, seen first: Int) {
        var seen = first
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < spinLimit { continue }
                sleep.lock()
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { sleep.wait() }
                sleepers -= 1
                sleep.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            guard index < width.load(ordering: .acquiring) - 1, jobGeneration.load(ordering: .acquiring) == seen else { continue }
            takePart()
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }
}
