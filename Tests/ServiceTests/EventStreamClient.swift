import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback client for one Server-Sent Events response: sends the request, decodes
/// the chunked body and splits it into events.
final class EventStreamClient {
    /// One parsed event, or a comment (`event == ":"`).
    struct Event {
        var event = "message"
        var id: String?
        var data = ""
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
        }
    }

    let fd: Int32
    private var raw: [UInt8] = []
    private var text = ""
    private(set) var head = ""
    private(set) var ended = false

    /// Connects and sends `GET target` with `headers`; reads the response head.
    init(port: Int, target: String, headers: [String] = []) throws {
        fd = try LoopbackClient.connectedSocket(port: port)
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let message = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        let bytes = Array(message.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            close(fd); throw LoopbackClient.Failure(what: "send")
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) {
                head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                raw.removeSubrange(..<end.upperBound)
                return
            }
            guard receive() else { break }
        }
        close(fd)
        throw LoopbackClient.Failure(what: "no response head")
    }

    deinit { close(fd) }

    /// The status code of the response.
    var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }

    /// The value of a response header (case-insensitive).
    func header(_ name: String) -> String? {
        for line in head.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The next event (comments included) within `seconds`; nil on timeout or end of stream.
    func next(within seconds: Double) -> Event? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let end = text.range(of: "\n\n") {
                let block = String(text[..<end.lowerBound])
                text.removeSubrange(..<end.upperBound)
                return Self.parse(block)
            }
            if ended || Date() >= deadline { return nil }
            if !receive() { ended = true }
            decodeChunks()
        }
    }

    /// The next event of type `type` within `seconds`, skipping others; nil on timeout.
    func next(_ type: String, within seconds: Double) -> Event? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let e = next(within: deadline.timeIntervalSinceNow) else { return nil }
            if e.event == type { return e }
        }
        return nil
    }

    /// Reads until the server ends the response (last chunk or closing) or `seconds` pass;
    /// true if it ended.
    func waitForEnd(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !ended && !sawLastChunk && Date() < deadline {
            if !receive() { ended = true }
            decodeChunks()
        }
        return ended || sawLastChunk
    }

    /// Whether the terminating zero-length chunk arrived.
    private(set) var sawLastChunk = false

    /// One recv; false on end of stream or error, true on data or timeout.
    private func receive() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        if n > 0 { raw += buffer[..<n]; return true }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return true }
        return false
    }

    private func decodeChunks() {
        while let lineEnd = raw.firstRange(of: Array("\r\n".utf8)) {
            guard let size = Int(String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) else { return }
            let start = lineEnd.upperBound
            guard raw.count >= start + size + 2 else { return }
            if size == 0 { sawLastChunk = true }
            text += String(decoding: raw[start ..< start + size], as: UTF8.self)
            raw.removeSubrange(..<(start + size + 2))
        }
    }

    static func parse(_ block: String) -> Event {
        var e = Event()
        var data: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") { e.event = ":"; data.append(String(line.dropFirst().trimmingCharacters(in: .whitespaces))); continue }
            let parts = line.split(separator: ":", maxSplits: 1)
            let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
            switch parts.first.map(String.init) {
            case "event": e.event = value
            case "id": e.id = value
            case "data": data.append(value)
            default: break
            }
        }
        e.data = data.joined(separator: "\n")
        return e
    }
}
