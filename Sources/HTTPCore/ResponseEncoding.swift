#if canImport(Glibc)
import Glibc
#endif

/// Serialises response heads into a connection's output buffer (RFC 9112 §4, §6).
enum ResponseEncoding {
    /// Pre-encoded `HTTP/1.1 <code> <reason>\r\n` for every registered status.
    static let statusLines: [Int: [UInt8]] = {
        var table: [Int: [UInt8]] = [:]
        for (code, phrase) in HTTPStatus.phrases { table[code] = Array("HTTP/1.1 \(code) \(phrase)\r\n".utf8) }
        return table
    }()

    static let continueLine: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let contentLength: [UInt8] = Array("Content-Length: ".utf8)
    static let chunkedHeader: [UInt8] = Array("Transfer-Encoding: chunked\r\n".utf8)
    static let closeHeader: [UInt8] = Array("Connection: close\r\n".utf8)
    static let keepAliveHeader: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let crlf: [UInt8] = [CR, LF]
    /// Sent to connections accepted past `maxConnections`, before closing them.
    static let overloaded: [UInt8] = {
        let body = HTTPError(.serviceUnavailable, message: "too many connections").jsonBody
        return Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
    }()

    static func appendStatusLine(_ status: HTTPStatus, to out: inout [UInt8]) {
        if let line = statusLines[status.code], status.reasonPhrase == HTTPStatus.phrases[status.code] {
            out.append(contentsOf: line)
        } else {
            appendSanitised("HTTP/1.1 \(status.code) \(status.reasonPhrase)", to: &out)
            out.append(contentsOf: crlf)
        }
    }

    /// Appends `name: value\r\n`, dropping CR and LF so handler-supplied text cannot inject
    /// extra header lines or end the head early.
    static func appendHeader(_ name: String, _ value: String, to out: inout [UInt8]) {
        appendSanitised(name, to: &out)
        out.append(UInt8(ascii: ":"))
        out.append(SP)
        appendSanitised(value, to: &out)
        out.append(contentsOf: crlf)
    }

    @inline(__always)
    static func appendSanitised(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { p in
            if !p.contains(where: { $0 == CR || $0 == LF || $0 == 0 }) {
                out.append(contentsOf: p)
            } else {
                for b in p where b != CR && b != LF && b != 0 { out.append(b) }
            }
        }
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 && count < 20 {
                d[count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            while count > 0 {
                count -= 1
                out.append(d[count])
            }
        }
    }

    static func appendHex(_ value: Int, to out: inout [UInt8]) {
        let hex = String(value, radix: 16)
        out.append(contentsOf: hex.utf8)
    }

    /// Whether the server, not the handler, owns this header (message framing and `Date`).
    static func isServerOwned(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return HTTPHeaders.equalsIgnoringCase(name, "Date")
        case 10: return HTTPHeaders.equalsIgnoringCase(name, "Connection")
        case 14: return HTTPHeaders.equalsIgnoringCase(name, "Content-Length")
        case 17: return HTTPHeaders.equalsIgnoringCase(name, "Transfer-Encoding")
        default: return false
        }
    }
}

/// The `Date` header line (RFC 9110 §6.6.1), re-rendered at most once per second.
struct DateCache {
    private var second = -1
    private var cached: [UInt8] = []

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    mutating func line() -> [UInt8] {
        var t = time(nil)
        if t != second {
            second = t
            var tm = tm()
            gmtime_r(&t, &tm)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let text = "Date: \(Self.days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(Self.months[Int(tm.tm_mon)]) "
                + "\(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT\r\n"
            cached = Array(text.utf8)
        }
        return cached
    }
}
