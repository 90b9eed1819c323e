import Foundation
#if canImport(Glibc)
import Glibc
#endif
import AMAGO
import Environments
import JSON
import Service
import Storage
import TestSupport
import Testing

@Suite("Live server on loopback", .serialized)
struct LiveServerTests {
    @Test func serves_overLoopback_andShutdownRequeuesRunningJobs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-live-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = TestDatabase.location(in: folder)
        defer { TestDatabase.remove(database) }
        let host = try ServiceHost(options: ServiceOptions(port: 0, dataDirectory: folder, database: database, workers: 1,
                                                           pollInterval: 0.1))
        try host.start()
        let health = try LoopbackClient.request(port: host.port, "GET", "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200"))
        let spec = try Specs.text(Specs.tinyTMaze(epochs: 10_000, name: "live"))
        let created = try LoopbackClient.request(port: host.port, "POST", "/experiments", body: spec)
        #expect(created.hasPrefix("HTTP/1.1 201"))
        let id = try #require(try host.store.listExperiments().experiments.first?.id)
        let deadline = Date().addingTimeInterval(30)
        while try host.store.experiment(id: id).status == .queued, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try host.store.experiment(id: id).status == .running)
        #expect(host.shutdown(gracePeriod: .seconds(2), jobDeadline: 30))
        let reopened = try Store(database: database)
        #expect(try reopened.experiment(id: id).status == .queued)
    }

    @Test func host_refusesNonLoopbackWithoutToken() {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-live-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ServiceError.insecureBinding(host: "0.0.0.0")) {
            try ServiceHost(options: ServiceOptions(host: "0.0.0.0", port: 0, dataDirectory: folder, workers: 1))
        }
    }
}

/// A blocking one-request HTTP/1.1 client over a loopback TCP socket, as a curl user would call.
enum LoopbackClient {
    struct Failure: Error { let what: String }

    /// A response: status code, headers (names lowercased) and body bytes.
    struct Response {
        var status: Int, headers: [String: String], body: [UInt8]
        var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body)) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// A TCP socket connected to 127.0.0.1:`port`; the caller closes it.
    static func connectedSocket(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(what: "connect errno \(errno)")
        }
        return fd
    }

    /// The whole response as text, head included.
    static func request(port: Int, _ method: String, _ target: String, body: String = "") throws -> String {
        String(decoding: try exchange(port: port, method, target, body: body), as: UTF8.self)
    }

    /// One request and its parsed response (the server's `Content-Length` framing, `Connection: close`).
    static func call(port: Int, _ method: String, _ target: String, body: String = "",
                     headers: [String: String] = [:]) throws -> Response {
        let raw = try exchange(port: port, method, target, body: body, headers: headers)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = (0...max(raw.count - 4, 0)).first(where: { Array(raw[$0..<min($0 + 4, raw.count)]) == separator }) else {
            throw Failure(what: "no end of head in \(raw.count) bytes")
        }
        let head = String(decoding: raw[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(what: "bad status line")
        }
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: fields, body: Array(raw[(split + 4)...]))
    }

    /// Sends one request with `Connection: close` and reads the reply until the server closes.
    static func exchange(port: Int, _ method: String, _ target: String, body: String = "",
                         headers: [String: String] = [:]) throws -> [UInt8] {
        let fd = try connectedSocket(port: port)
        defer { close(fd) }
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        let message = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\(extra)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        let bytes = Array(message.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(what: "send errno \(errno)") }
            sent += n
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            reply += buffer[..<n]
        }
        return reply
    }
}
