#if canImport(Glibc)
import Glibc
#endif

typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

// Glibc's module map hides accept4 (it is a GNU extension), so it is looked up at run time;
// it saves the fcntl call per connection that plain accept needs.
let accept4Function: Accept4? = {
    guard let sym = dlsym(nil, "accept4") else { return nil }
    return unsafeBitCast(sym, to: Accept4.self)
}()

/// accept4(…, SOCK_NONBLOCK | SOCK_CLOEXEC), or accept plus fcntl where accept4 is missing.
func acceptNonBlocking(_ listener: Int32, _ addr: UnsafeMutablePointer<sockaddr>, _ len: UnsafeMutablePointer<socklen_t>) -> Int32 {
    if let f = accept4Function {
        return f(listener, addr, len, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }
    let fd = Glibc.accept(listener, addr, len)
    if fd >= 0 {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    return fd
}

/// Thin wrappers over the POSIX socket calls the server needs.
enum Socket {
    /// Creates non-blocking listening sockets for every address `host` resolves to, all on
    /// one port (the kernel's choice when `port` is 0).
    static func listen(host: String, port: Int, backlog: Int32) throws -> [Int32] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPError(.internalServerError, code: "listen_failed", message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(first) }
        var fds: [Int32] = []
        var chosenPort = port
        var node: UnsafeMutablePointer<addrinfo>? = first
        var firstError: HTTPError?
        while let ai = node {
            node = ai.pointee.ai_next
            do {
                let fd = try bindOne(ai.pointee, port: chosenPort, backlog: backlog)
                fds.append(fd)
                if chosenPort == 0 { chosenPort = localPort(fd) }
            } catch let e as HTTPError {
                // A name like "localhost" may resolve to an address family the host lacks
                // (no IPv6 loopback); that is only fatal if nothing could be bound.
                if errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL {
                    for fd in fds { close(fd) }
                    throw e
                }
                firstError = firstError ?? e
            }
        }
        if fds.isEmpty, let e = firstError { throw e }
        return fds
    }

    static func bindOne(_ ai: addrinfo, port: Int, backlog: Int32) throws -> Int32 {
        let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                        ai.ai_protocol)
        guard fd >= 0 else { throw failure("socket") }
        // errno survives to the caller, which tolerates a missing address family.
        var one: Int32 = 1
        // SO_REUSEADDR: restart without waiting out TIME_WAIT on the port.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if ai.ai_family == AF_INET6 {
            // Keep IPv6 sockets IPv6-only so `::` and `0.0.0.0` can be bound side by side.
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var storage = sockaddr_storage()
        memcpy(&storage, ai.ai_addr, Int(ai.ai_addrlen))
        setPort(&storage, port)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, ai.ai_addrlen) }
        }
        guard bound == 0 else {
            let (e, code) = (failure("bind"), errno)
            close(fd)
            errno = code
            throw e
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = failure("listen")
            close(fd)
            throw e
        }
        return fd
    }

    static func failure(_ call: String) -> HTTPError {
        HTTPError(.internalServerError, code: "listen_failed", message: "\(call): \(String(cString: strerror(errno)))")
    }

    static func setPort(_ storage: inout sockaddr_storage, _ port: Int) {
        withUnsafeMutablePointer(to: &storage) { p in
            if Int32(p.pointee.ss_family) == AF_INET {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = in_port_t(UInt16(port).bigEndian) }
            } else if Int32(p.pointee.ss_family) == AF_INET6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = in_port_t(UInt16(port).bigEndian) }
            }
        }
    }

    /// The local port a socket is bound to.
    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return describe(storage).port
    }

    /// Address text and port of a socket address.
    static func describe(_ storage: sockaddr_storage) -> (host: String, port: Int) {
        var s = storage
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &s) { p in
            if Int32(p.pointee.ss_family) == AF_INET {
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
                    return (string(fromNullTerminated: buf), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            } else if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
                    return ("[" + string(fromNullTerminated: buf) + "]", Int(UInt16(bigEndian: sin.pointee.sin6_port)))
                }
            }
            return ("?", 0)
        }
    }

    /// Accepts one pending connection as a non-blocking socket with TCP_NODELAY; nil when none is pending.
    static func accept(_ listener: Int32) -> (fd: Int32, remote: String)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                acceptNonBlocking(listener, $0, &len)
            }
        }
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        // Responses are written whole; Nagle would only delay them behind delayed ACKs.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let (host, port) = describe(storage)
        return (fd, "\(host):\(port)")
    }
}
