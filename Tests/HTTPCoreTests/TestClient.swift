import Foundation
import Glibc
import HTTPCore
import Testing

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A parsed response as the client saw it.
struct TestResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// A blocking loopback client; every read and write has a timeout so tests cannot hang.
final class TestClient {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(5)) throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestFailure("connect: \(e)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send failed: \(errno)") }
            off += n
        }
    }

    /// Reads more bytes; false on EOF. Throws on timeout or error.
    @discardableResult
    func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0 ..< n])
            return true
        }
        if n == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw TestFailure("read timed out") }
        if errno == ECONNRESET { return false }
        throw TestFailure("recv: \(errno)")
    }

    /// True when the server has closed the connection (EOF or reset) with nothing left unread.
    func isClosedByPeer() throws -> Bool {
        if !buffer.isEmpty { return false }
        return try !fill() && buffer.isEmpty
    }

    func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10), i > 0, buffer[i - 1] == 13 {
                let line = String(decoding: buffer[0 ..< i - 1], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return line
            }
            guard try fill() else { throw TestFailure("connection closed mid-line") }
        }
    }

    func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count < n {
            guard try fill() else { throw TestFailure("connection closed mid-body") }
        }
        let out = Array(buffer[0 ..< n])
        buffer.removeFirst(n)
        return out
    }

    /// Reads one response; `head` means the request was HEAD (no body follows).
    func readResponse(head: Bool = false) throws -> TestResponse {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TestFailure("bad status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters()))
        }
        var r = TestResponse(status: status, headers: headers, body: [])
        if head || status < 200 || status == 204 || status == 304 { return r }
        if let cl = r.header("Content-Length"), let n = Int(cl) {
            r.body = try readExactly(n)
        } else if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let size = try readLine()
                guard let n = Int(size, radix: 16) else { throw TestFailure("bad chunk size \(size)") }
                if n == 0 {
                    _ = try readLine()
                    break
                }
                r.body += try readExactly(n)
                _ = try readLine()
            }
        } else {
            while try fill() {}
            r.body = buffer
            buffer = []
        }
        return r
    }

    /// Sends a request and reads its response.
    func request(_ method: String = "GET", _ target: String, headers: [String] = [], body: String = "") throws -> TestResponse {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: test\r\n"
        for h in headers { text += h + "\r\n" }
        if !body.isEmpty { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + body
        try send(text)
        return try readResponse(head: method == "HEAD")
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

/// Polls `condition` until it holds or `timeout` passes; the pause between polls is not
/// synchronisation, only a way not to spin.
func waitUntil(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}

/// Starts a server on 127.0.0.1 with port 0, runs `body`, then shuts it down.
func withServer(_ router: Router, configure: (inout ServerConfiguration) -> Void = { _ in },
                _ body: (HTTPServer) async throws -> Void) async throws {
    var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 2)
    config.timerResolution = .milliseconds(10)
    config.log = { _ in }
    configure(&config)
    let server = HTTPServer(configuration: config, router: router)
    try server.start()
    do {
        try await body(server)
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await server.shutdown(gracePeriod: .seconds(1))
}

/// Runs blocking client code on its own thread, so that socket waits never occupy the
/// cooperative pool that the server's async handlers need.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        let t = Thread {
            do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
        }
        t.start()
    }
}

/// Synchronous polling, for use inside `blocking`.
func pollUntil(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// A latch an async handler waits on until the test opens it.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var opened = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var enteredCount = 0

    var entered: Int { lock.withLock { enteredCount } }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            enteredCount += 1
            if opened {
                lock.unlock()
                c.resume()
            } else {
                waiters.append(c)
                lock.unlock()
            }
        }
    }

    func open() {
        lock.lock()
        opened = true
        let w = waiters
        waiters = []
        lock.unlock()
        for c in w { c.resume() }
    }
}

/// Collects log lines from the server.
final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
