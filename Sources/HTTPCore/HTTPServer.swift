#if canImport(Glibc)
import Glibc
#endif

/// State shared by the event loops of one server.
final class ServerCore: @unchecked Sendable {
    let config: ServerConfiguration
    let responder: Responder
    var loops: [EventLoop] = []
    /// The loops' threads, joined on shutdown.
    var threads: [JoinableThread] = []
    /// Async handlers still running (each answers on its loop when done).
    let handlers = InFlightCounter()

    private let lock = Lock()
    private var activeConnections = 0
    private var runningLoops = 0
    private var stopped = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let stopCondition: UnsafeMutablePointer<pthread_cond_t>
    private let stopMutex: UnsafeMutablePointer<pthread_mutex_t>

    init(config: ServerConfiguration, router: Router) {
        self.config = config
        responder = Responder(router: router, log: config.log)
        stopCondition = .allocate(capacity: 1)
        stopCondition.initialize(to: pthread_cond_t())
        pthread_cond_init(stopCondition, nil)
        stopMutex = .allocate(capacity: 1)
        stopMutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(stopMutex, nil)
    }

    deinit {
        pthread_cond_destroy(stopCondition)
        pthread_mutex_destroy(stopMutex)
        stopCondition.deallocate()
        stopMutex.deallocate()
    }

    var connectionCount: Int { lock.withLock { activeConnections } }

    func reserveConnection() -> Bool {
        lock.withLock {
            guard activeConnections < config.limits.maxConnections else { return false }
            activeConnections += 1
            return true
        }
    }

    func releaseConnection() { lock.withLock { activeConnections -= 1 } }

    func loopsStarted(_ n: Int) { lock.withLock { runningLoops = n } }

    func loopExited() {
        let resume: [CheckedContinuation<Void, Never>] = lock.withLock {
            runningLoops -= 1
            guard runningLoops == 0 else { return [] }
            loops = []
            pthread_mutex_lock(stopMutex)
            stopped = true
            pthread_cond_broadcast(stopCondition)
            pthread_mutex_unlock(stopMutex)
            defer { waiters = [] }
            return waiters
        }
        for c in resume { c.resume() }
    }

    var isStopped: Bool { lock.withLock { stopped } }

    func waitBlocking() {
        pthread_mutex_lock(stopMutex)
        while !stopped { pthread_cond_wait(stopCondition, stopMutex) }
        pthread_mutex_unlock(stopMutex)
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done: Bool = lock.withLock {
                if stopped { return true }
                waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}

/// An HTTP/1.1 server: epoll event loops on their own threads, answering with a `Router`.
///
/// ```swift
/// var router = Router()
/// router.get("/healthz") { _, _ in .text("ok") }
/// let server = HTTPServer(configuration: ServerConfiguration(port: 8080), router: router)
/// try server.start()
/// ```
public final class HTTPServer: @unchecked Sendable {
    let core: ServerCore
    private let lock = Lock()
    private var listening: [Int32] = []
    private var started = false
    private var shutdownRequested = false
    private var boundPort = 0
    private var boundAddresses: [String] = []

    /// Creates a server; nothing is bound until `start()`.
    public init(configuration: ServerConfiguration = ServerConfiguration(), router: Router) {
        core = ServerCore(config: configuration, router: router)
    }

    /// The configuration in force.
    public var configuration: ServerConfiguration { core.config }

    /// The bound TCP port (the kernel's choice when configured as 0); 0 before `start()`.
    public var port: Int { lock.withLock { boundPort } }

    /// The bound addresses as `host:port`, e.g. `127.0.0.1:8080` or `[::1]:8080`.
    public var addresses: [String] { lock.withLock { boundAddresses } }

    /// Connections currently open (including ones waiting to be closed).
    public var connectionCount: Int { core.connectionCount }

    /// Binds the listening sockets and starts the event-loop threads.
    public func start() throws {
        try lock.withLock {
            guard !started else { throw HTTPError(.internalServerError, code: "already_started", message: "server already started") }
            let fds = try Socket.listen(host: core.config.host, port: core.config.port, backlog: core.config.backlog)
            var loops: [EventLoop] = []
            do {
                for i in 0 ..< core.config.eventLoopThreads { loops.append(try EventLoop(index: i, core: core)) }
            } catch {
                for fd in fds { Glibc.close(fd) }
                throw error
            }
            core.loops = loops
            loops[0].listeners = fds
            for fd in fds { loops[0].add(fd: fd, events: Epoll.IN) }
            boundPort = fds.first.map(Socket.localPort) ?? 0
            boundAddresses = fds.map { fd in
                var storage = sockaddr_storage()
                var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
                _ = withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
                }
                let (host, port) = Socket.describe(storage)
                return "\(host):\(port)"
            }
            listening = fds
            started = true
            core.loopsStarted(loops.count)
            core.threads = loops.map { loop in JoinableThread { loop.run() } }
        }
    }

    /// Stops accepting, lets in-flight requests finish for up to `gracePeriod`, then closes
    /// every remaining connection. Idle keep-alive connections close at once and open event
    /// streams are ended. Returns when every loop's thread has ended and every async handler
    /// has returned (those still running after the connections closed get another `gracePeriod`).
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        guard requestShutdown(gracePeriod) else { return }
        await core.wait()
        finishShutdown(gracePeriod)
    }

    /// Like `shutdown(gracePeriod:)`, blocking the calling thread.
    public func shutdownAndWait(gracePeriod: Duration = .seconds(10)) {
        guard requestShutdown(gracePeriod) else { return }
        core.waitBlocking()
        finishShutdown(gracePeriod)
    }

    /// Joins the loops' threads (they have stopped; this waits for them to end) and waits for
    /// async handlers still running.
    private func finishShutdown(_ grace: Duration) {
        let threads: [JoinableThread] = lock.withLock { core.threads }
        for thread in threads { thread.join() }
        core.handlers.waitUntilIdle(deadline: monotonicNanos() &+ grace.nanoseconds)
    }

    /// Blocks the calling thread until the server has stopped.
    public func waitUntilStopped() {
        guard lock.withLock({ started }) else { return }
        core.waitBlocking()
    }

    private func requestShutdown(_ grace: Duration) -> Bool {
        let (wasStarted, first): (Bool, Bool) = lock.withLock {
            defer { if started { shutdownRequested = true } }
            return (started, started && !shutdownRequested)
        }
        guard wasStarted else { return false }
        if first {
            let deadline = monotonicNanos() &+ grace.nanoseconds
            for loop in core.loops { loop.execute { loop.beginDrain(deadline: deadline) } }
        }
        return true
    }
}
