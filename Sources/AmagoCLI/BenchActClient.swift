import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client on one keep-alive loopback connection, for `bench act`:
/// it writes a prepared request and reads the response by its Content-Length.
final class BenchActClient {
    enum Failure: Error, CustomStringConvertible {
        /// A failed call and the errno it left, captured where it failed.
        case socket(String, errno: Int32), closed, malformed(String)
        /// The call that failed, with errno read now (before anything else can change it).
        static func socket(_ call: String) -> Failure { .socket(call, errno: Glibc.errno) }
        var description: String {
            switch self {
            case .socket(let s, let code): return "socket: \(s) failed: \(String(cString: strerror(code))) (errno \(code))"
            case .closed: return "the server closed the connection"
            case .malformed(let s): return "malformed response: \(s)"
            }
        }
    }

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`, with Nagle's algorithm off like the server's sockets.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.socket("socket") }
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: in_port_t(UInt16(port).bigEndian),
                                  sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        let status = withUnsafeBytes(of: &address) { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard status == 0 else {
            let failure = Failure.socket("connect")
            close(fd)
            throw failure
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// The bytes of a `POST path` request with a JSON body.
    static func post(_ path: String, json body: String) -> [UInt8] {
        let bytes = Array(body.utf8)
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        return Array(head.utf8) + bytes
    }

    /// Sends a prepared request and returns the response's status and body.
    func send(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure.socket("write") }
            sent += n
        }
        var headEnd: Int?
        while true {
            if let end = Self.headerEnd(pending) { headEnd = end; break }
            try fill()
        }
        guard let end = headEnd, let head = String(bytes: pending[..<end], encoding: .utf8) else { throw Failure.malformed("head") }
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.split(separator: " ").count >= 2,
              let status = Int(statusLine.split(separator: " ")[1]) else { throw Failure.malformed("status line") }
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        while pending.count < end + 4 + length { try fill() }
        let body = Array(pending[(end + 4)..<(end + 4 + length)])
        pending.removeFirst(end + 4 + length)
        return (status, body)
    }

    private func fill() throws {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw n == 0 ? Failure.closed : Failure.socket("read") }
        pending += buffer[0..<n]
    }

    /// The offset of the blank line ending the head, if it has arrived.
    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// CPU seconds the calling thread has used.
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
