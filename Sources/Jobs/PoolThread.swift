import Foundation

/// A worker or monitor thread of the pool, with a stack large enough for deep training code,
/// that shutdown joins: once `join()` returns the thread has ended, so nothing of a job still
/// runs while the process exits.
final class PoolThread: @unchecked Sendable {
    // @unchecked: `thread` is written once in `init`; `joined` only under `lock`.
    private var thread = pthread_t()
    private let lock = NSLock()
    private var joined = false

    /// Starts `body` on a new thread named `name` (shown by `top -H` and debuggers).
    init(name: String, stackBytes: Int = 16 << 20, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackBytes)
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        let status = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
            Thread.current.name = start.name
            start.body()
            return nil
        }, start)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits until the thread has ended; later calls return at once.
    func join() {
        lock.lock()
        let first = !joined
        joined = true
        lock.unlock()
        if first { pthread_join(thread, nil) }
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
