import Foundation

/// The tasks behind open event streams: shutdown ends them and waits for them, so that none
/// still reads the database when it closes.
final class StreamTasks: @unchecked Sendable {
    // @unchecked: `tasks`, `nextID` and `isClosed` are only touched under `lock`.
    private let lock = NSLock()
    private let running = DispatchGroup()
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var nextID: UInt64 = 0
    private var isClosed = false

    /// Runs `body` as a tracked task; nil (and nothing started) once shutdown has begun.
    func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { return nil }
        nextID += 1
        let id = nextID
        running.enter()
        let task = Task { [self] in
            await body()
            finished(id)
        }
        tasks[id] = task
        return task
    }

    private func finished(_ id: UInt64) {
        lock.lock()
        tasks[id] = nil
        lock.unlock()
        running.leave()
    }

    /// Refuses new streams, cancels the open ones and waits up to `timeout` seconds for them.
    /// - Returns: true when every stream's task has ended.
    @discardableResult
    func endAll(timeout: TimeInterval) -> Bool {
        lock.lock()
        isClosed = true
        let open = Array(tasks.values)
        lock.unlock()
        for task in open { task.cancel() }
        return running.wait(timeout: .now() + timeout) == .success
    }
}
