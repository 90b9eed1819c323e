#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread the server waits for on shutdown: `join()` returns once `body` has returned
/// and the thread has ended, so nothing of the server still runs when `shutdownAndWait` returns.
final class JoinableThread: @unchecked Sendable {
    // @unchecked: `handle` is written once in `init`; `joined` only under `lock`.
    private var handle = pthread_t()
    private let lock = Lock()
    private var joined = false

    /// Starts a thread running `body`.
    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let status = pthread_create(&handle, nil, { arg in
            guard let arg else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits for the thread to end (at most one caller joins; later calls return at once).
    func join() {
        let first: Bool = lock.withLock {
            defer { joined = true }
            return !joined
        }
        if first { pthread_join(handle, nil) }
    }
}

/// The closure a thread runs, boxed to cross `pthread_create`.
final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Counts work in flight (async handlers still running) and lets shutdown wait for it.
final class InFlightCounter: @unchecked Sendable {
    // @unchecked: `count` is only touched with `mutex` held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var count = 0

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func enter() {
        pthread_mutex_lock(mutex)
        count += 1
        pthread_mutex_unlock(mutex)
    }

    func leave() {
        pthread_mutex_lock(mutex)
        count -= 1
        if count == 0 { pthread_cond_broadcast(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// Waits until nothing is in flight or the monotonic `deadline` (nanoseconds) passes.
    /// - Returns: true when nothing is in flight.
    @discardableResult
    func waitUntilIdle(deadline: UInt64) -> Bool {
        var limit = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while count > 0 {
            if pthread_cond_timedwait(condition, mutex, &limit) == ETIMEDOUT { break }
        }
        return count == 0
    }
}
