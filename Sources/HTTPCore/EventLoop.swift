#if canImport(Glibc)
import Glibc
#endif

/// One epoll readiness loop on its own thread. It owns a share of the connections and,
/// for loop 0, the listening sockets; everything it owns is touched only on its thread.
/// Other threads reach it through `execute`, a locked mailbox plus an eventfd wake-up.
final class EventLoop: @unchecked Sendable {
    let index: Int
    // Strong: the loop must outlive nothing but itself; ServerCore drops its loops when all exit.
    let core: ServerCore
    let epfd: Int32
    let wakeFD: Int32
    var listeners: [Int32] = []
    var connections: [Connection?] = []
    var connectionCount = 0
    let readCapacity = 64 * 1024
    let readBuffer: UnsafeMutableRawPointer
    var dateCache = DateCache()
    /// Monotonic time of the latest wake-up; deadlines are measured against it.
    var now: UInt64 = 0
    var nextSweep: UInt64 = 0
    var draining = false
    var drainDeadline: UInt64 = 0
    var requestCounter: UInt64 = 0
    var acceptCursor = 0

    private let mailboxLock = Lock()
    private var mailbox: [() -> Void] = []
    private var wakePending = false
    private var stopped = false

    init(index: Int, core: ServerCore) throws {
        self.index = index
        self.core = core
        epfd = Epoll.create()
        guard epfd >= 0 else { throw Socket.failure("epoll_create1") }
        wakeFD = Epoll.makeEventFD()
        guard wakeFD >= 0 else {
            Glibc.close(epfd)
            throw Socket.failure("eventfd")
        }
        readBuffer = .allocate(byteCount: readCapacity, alignment: 16)
        add(fd: wakeFD, events: Epoll.IN)
    }

    deinit {
        Glibc.close(epfd)
        Glibc.close(wakeFD)
        readBuffer.deallocate()
    }

    func add(fd: Int32, events: UInt32) {
        Epoll.control(epfd, Epoll.CTL_ADD, fd, events)
    }

    func modify(fd: Int32, events: UInt32) {
        Epoll.control(epfd, Epoll.CTL_MOD, fd, events)
    }

    /// Runs `task` on this loop's thread; false (and the task dropped) once the loop has stopped.
    @discardableResult
    func execute(_ task: @escaping () -> Void) -> Bool {
        let wake: Bool? = mailboxLock.withLock {
            if stopped { return nil }
            mailbox.append(task)
            if wakePending { return false }
            wakePending = true
            return true
        }
        guard let wake else { return false }
        if wake {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
        return true
    }

    private func runMailbox() {
        var drained: UInt64 = 0
        _ = read(wakeFD, &drained, 8)
        let tasks: [() -> Void] = mailboxLock.withLock {
            wakePending = false
            defer { mailbox = [] }
            return mailbox
        }
        for t in tasks { t() }
    }

    /// The loop body; returns when a drain completes.
    func run() {
        let capacity: Int32 = 256
        let events = Epoll.Events(capacity: capacity)
        defer { events.deallocate() }
        let tick = core.config.timerResolution.nanoseconds
        let timeoutMillis = Int32(clamping: max(1, tick / 1_000_000))
        now = monotonicNanos()
        nextSweep = now &+ tick
        while true {
            let n = events.wait(epfd, timeoutMillis: timeoutMillis)
            now = monotonicNanos()
            if n < 0 && errno != EINTR {
                core.config.log("epoll_wait failed: \(String(cString: strerror(errno)))")
                break
            }
            var i = 0
            while i < Int(n) {
                let (ev, fd) = events.event(i)
                i += 1
                if fd == wakeFD {
                    runMailbox()
                } else if Int(fd) < connections.count, let c = connections[Int(fd)] {
                    c.handle(events: ev)
                } else if listeners.contains(fd) {
                    acceptAll(fd)
                }
            }
            if now >= nextSweep {
                sweep()
                nextSweep = now &+ tick
            }
            if draining && (connectionCount == 0 || now >= drainDeadline) { break }
        }
        for case let c? in connections { c.close() }
        for l in listeners { Glibc.close(l) }
        listeners = []
        // Tasks queued before the stop still run: a handed-over socket gets closed by
        // `register`, and work for closed connections is ignored by the connections.
        let leftover: [() -> Void] = mailboxLock.withLock {
            stopped = true
            defer { mailbox = [] }
            return mailbox
        }
        for t in leftover { t() }
        core.loopExited()
    }

    func sweep() {
        for case let c? in connections where c.deadlineKind != .none && c.deadline <= now {
            c.deadlineExpired()
        }
    }

    func acceptAll(_ listener: Int32) {
        while let (fd, remote) = Socket.accept(listener) {
            guard !draining, core.reserveConnection() else {
                // Past the cap: answer 503 at once rather than leave the client hanging.
                _ = ResponseEncoding.overloaded.withUnsafeBytes {
                    send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                Glibc.shutdown(fd, Int32(SHUT_WR))
                Glibc.close(fd)
                continue
            }
            let target = core.loops[acceptCursor % core.loops.count]
            acceptCursor &+= 1
            if target === self {
                register(fd: fd, remote: remote)
            } else if !target.execute({ target.register(fd: fd, remote: remote) }) {
                Glibc.close(fd)
                core.releaseConnection()
            }
        }
    }

    func register(fd: Int32, remote: String) {
        if draining {
            Glibc.close(fd)
            core.releaseConnection()
            return
        }
        let c = Connection(fd: fd, loop: self, remote: remote, limits: core.config.limits)
        if Int(fd) >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: Int(fd) + 1 - connections.count + 64))
        }
        connections[Int(fd)] = c
        connectionCount += 1
        now = monotonicNanos()
        c.start()
    }

    func unregister(_ c: Connection) {
        connections[Int(c.fd)] = nil
        connectionCount -= 1
        core.releaseConnection()
    }

    func nextRequestID() -> UInt64 {
        requestCounter &+= 1
        // Loop index in the low byte keeps ids unique across loops without sharing a counter.
        return requestCounter << 8 | UInt64(index & 0xFF)
    }

    /// Starts a graceful drain: stop accepting, close idle connections, let the rest finish.
    func beginDrain(deadline: UInt64) {
        draining = true
        drainDeadline = deadline
        for l in listeners {
            Epoll.control(epfd, Epoll.CTL_DEL, l, 0)
            Glibc.close(l)
        }
        listeners = []
        for case let c? in connections { c.drain() }
    }
}
