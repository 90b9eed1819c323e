#if canImport(Glibc)
import Glibc
#endif

// Glibc's Swift module map does not include <sys/epoll.h> or <sys/eventfd.h>, and the
// package keeps HTTPCore free of C targets, so the four glibc entry points are resolved
// once with dlsym and the kernel ABI constants are spelled out here (values from the
// Linux UAPI headers, identical on every architecture Swift supports).
enum Epoll {
    static let IN: UInt32 = 0x001
    static let OUT: UInt32 = 0x004
    static let ERR: UInt32 = 0x008
    static let HUP: UInt32 = 0x010
    static let RDHUP: UInt32 = 0x2000
    static let CTL_ADD: Int32 = 1
    static let CTL_DEL: Int32 = 2
    static let CTL_MOD: Int32 = 3
    static let CLOEXEC: Int32 = 0o2000000
    static let EFD_NONBLOCK: Int32 = 0o4000
    static let EFD_CLOEXEC: Int32 = 0o2000000

    /// `struct epoll_event` is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16).
    #if arch(x86_64)
    static let eventStride = 12
    static let dataOffset = 4
    #else
    static let eventStride = 16
    static let dataOffset = 8
    #endif

    typealias Create1 = @convention(c) (Int32) -> Int32
    typealias Ctl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFD = @convention(c) (UInt32, Int32) -> Int32

    static func symbol<T>(_ name: String, as: T.Type) -> T? {
        guard let p = dlsym(nil, name) else { return nil }
        return unsafeBitCast(p, to: T.self)
    }

    static let create1Fn = symbol("epoll_create1", as: Create1.self)
    static let ctlFn = symbol("epoll_ctl", as: Ctl.self)
    static let waitFn = symbol("epoll_wait", as: Wait.self)
    static let eventfdFn = symbol("eventfd", as: EventFD.self)

    /// epoll_create1(EPOLL_CLOEXEC); -1 if unavailable.
    static func create() -> Int32 { create1Fn?(CLOEXEC) ?? -1 }

    /// A non-blocking, close-on-exec eventfd; -1 if unavailable.
    static func makeEventFD() -> Int32 { eventfdFn?(0, EFD_NONBLOCK | EFD_CLOEXEC) ?? -1 }

    /// epoll_ctl with the fd itself as the event's user data.
    @discardableResult
    static func control(_ epfd: Int32, _ op: Int32, _ fd: Int32, _ events: UInt32) -> Int32 {
        var raw: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &raw) { p in
            p.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: UInt64(UInt32(bitPattern: fd)), toByteOffset: dataOffset, as: UInt64.self)
            return ctlFn?(epfd, op, fd, p.baseAddress) ?? -1
        }
    }

    /// A buffer for epoll_wait results.
    struct Events {
        let capacity: Int32
        let base: UnsafeMutableRawPointer

        init(capacity: Int32) {
            self.capacity = capacity
            base = .allocate(byteCount: Int(capacity) * Epoll.eventStride, alignment: 8)
        }

        func deallocate() { base.deallocate() }

        /// Waits for readiness; returns the count, or -1 with errno set.
        func wait(_ epfd: Int32, timeoutMillis: Int32) -> Int32 {
            Epoll.waitFn?(epfd, base, capacity, timeoutMillis) ?? -1
        }

        /// The event mask and fd of result `i`.
        func event(_ i: Int) -> (events: UInt32, fd: Int32) {
            let p = base + i * Epoll.eventStride
            let ev = p.loadUnaligned(as: UInt32.self)
            let data = p.loadUnaligned(fromByteOffset: Epoll.dataOffset, as: UInt64.self)
            return (ev, Int32(truncatingIfNeeded: data))
        }
    }
}
