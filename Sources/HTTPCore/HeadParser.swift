/// Validates and decodes one complete header block (request line plus fields, RFC 9112 §2–§6).
enum HeadParser {
    /// Parses a header block; `p` ends just after the empty line, and the request line is
    /// `p[requestLineStart ..< requestLineEnd]` where `requestLineEnd` is the index of its LF.
    static func parse(_ p: UnsafeBufferPointer<UInt8>, requestLineStart: Int, requestLineEnd: Int,
                      limits: HTTPLimits) throws -> HTTPRequestHead {
        // RFC 9112 §2.2: lines end in CRLF; a bare LF or CR is a framing error here, since
        // tolerating it is what lets two parsers disagree about where a message ends.
        guard requestLineEnd > requestLineStart, p[requestLineEnd - 1] == CR else {
            throw HTTPError.badRequest("request line must end with CRLF")
        }
        let (method, target, version) = try parseRequestLine(
            UnsafeBufferPointer(rebasing: p[requestLineStart ..< requestLineEnd - 1]))

        var headers = HTTPHeaders()
        var contentLength: Int?
        var sawTransferEncoding = false
        var transferCodings: [String] = []
        var hostCount = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expectsContinue = false

        var lineStart = requestLineEnd + 1
        while lineStart < p.count {
            var lf = lineStart
            while p[lf] != LF { lf += 1 }
            guard lf > lineStart, p[lf - 1] == CR else { throw HTTPError.badRequest("header line must end with CRLF") }
            if lf - 1 == lineStart { break }
            let line = UnsafeBufferPointer(rebasing: p[lineStart ..< lf - 1])
            let (nameRange, valueRange) = try parseField(line)
            let nameBytes = UnsafeBufferPointer(rebasing: line[nameRange])
            let value = String(decoding: line[valueRange], as: UTF8.self)

            if equalsLowercase(nameBytes, "content-length") {
                // RFC 9110 §8.6 / RFC 9112 §6.3: a list of identical values is one value;
                // anything else (different values, non-digits, empty) is unrecoverable framing.
                for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let t = element.trimmingSpacesAndTabs()
                    guard !t.isEmpty, t.utf8.count <= 18, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                          let n = Int(t)
                    else { throw HTTPError.badRequest("invalid Content-Length", field: "Content-Length") }
                    if let cl = contentLength, cl != n {
                        throw HTTPError.badRequest("conflicting Content-Length values", field: "Content-Length")
                    }
                    contentLength = n
                }
            } else if equalsLowercase(nameBytes, "transfer-encoding") {
                sawTransferEncoding = true
                for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let t = element.trimmingSpacesAndTabs().lowercased()
                    guard !t.isEmpty else {
                        throw HTTPError.badRequest("invalid Transfer-Encoding", field: "Transfer-Encoding")
                    }
                    transferCodings.append(t)
                }
            } else if equalsLowercase(nameBytes, "host") {
                hostCount += 1
                if value.utf8.contains(where: { $0 == SP || $0 == HTAB || $0 == UInt8(ascii: ",") }) {
                    throw HTTPError.badRequest("invalid Host", field: "Host")
                }
            } else if equalsLowercase(nameBytes, "connection") {
                for token in value.split(separator: ",") {
                    let t = token.trimmingSpacesAndTabs().lowercased()
                    if t == "close" { connectionClose = true } else if t == "keep-alive" { connectionKeepAlive = true }
                }
            } else if equalsLowercase(nameBytes, "expect") {
                // RFC 9110 §10.1.1: 100-continue is the only defined expectation.
                guard value.lowercased() == "100-continue" else {
                    throw HTTPError(.expectationFailed, message: "unsupported expectation", field: "Expect")
                }
                expectsContinue = true
            }
            headers.add(String(decoding: nameBytes, as: UTF8.self), value)
            lineStart = lf + 1
        }

        // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; HTTP/1.0 at most one.
        if hostCount > 1 || (hostCount == 0 && version.minor >= 1) {
            throw HTTPError.badRequest(hostCount == 0 ? "missing Host" : "duplicate Host", field: "Host")
        }

        let framing: BodyFraming
        if sawTransferEncoding {
            // RFC 9112 §6.1: both framings at once is the classic request-smuggling vector;
            // refuse instead of picking one. HTTP/1.0 has no transfer codings.
            if contentLength != nil {
                throw HTTPError.badRequest("both Content-Length and Transfer-Encoding", field: "Transfer-Encoding")
            }
            if version.minor == 0 {
                throw HTTPError.badRequest("Transfer-Encoding in an HTTP/1.0 request", field: "Transfer-Encoding")
            }
            // RFC 9112 §6.3: if chunked is not the final coding the length is unknowable → 400;
            // other codings we do not implement → 501.
            // chunked exactly once and last; applying it twice is forbidden (RFC 9112 §7).
            guard transferCodings.last == "chunked", transferCodings.filter({ $0 == "chunked" }).count == 1 else {
                throw HTTPError.badRequest("chunked must be the final transfer coding, once", field: "Transfer-Encoding")
            }
            guard transferCodings.count == 1 else {
                throw HTTPError(.notImplemented, message: "unsupported transfer coding", field: "Transfer-Encoding")
            }
            framing = .chunked
        } else if let n = contentLength {
            if n > limits.maxBodyBytes { throw HTTPError(.contentTooLarge, message: "request body too large") }
            framing = n == 0 ? .none : .length(n)
        } else {
            framing = .none
        }

        let keepAlive = !connectionClose && (version.minor >= 1 || connectionKeepAlive)
        let targetString = String(decoding: target, as: UTF8.self)
        let (path, query) = splitTarget(targetString)
        return HTTPRequestHead(method: method, target: targetString, path: path, rawQuery: query,
                               version: version, headers: headers, keepAlive: keepAlive,
                               // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0 clients.
                               expectsContinue: expectsContinue && framing != .none && version.minor >= 1,
                               framing: framing)
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3), with single spaces only.
    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws
        -> (HTTPMethod, UnsafeBufferPointer<UInt8>, HTTPVersion) {
        guard let sp1 = line.firstIndex(of: SP), let sp2 = line.lastIndex(of: SP), sp2 > sp1 + 1, sp1 > 0 else {
            throw HTTPError.badRequest("malformed request line")
        }
        for i in 0 ..< sp1 where !isTokenChar(line[i]) { throw HTTPError.badRequest("malformed method") }
        let target = UnsafeBufferPointer(rebasing: line[sp1 + 1 ..< sp2])
        // RFC 9112 §3.2: visible ASCII only; '#' never appears in a request target.
        for b in target where b <= 0x20 || b >= 0x7F || b == UInt8(ascii: "#") {
            throw HTTPError.badRequest("malformed request target")
        }
        let v = UnsafeBufferPointer(rebasing: line[(sp2 + 1)...])
        guard v.count == 8, v[0] == UInt8(ascii: "H"), v[1] == UInt8(ascii: "T"), v[2] == UInt8(ascii: "T"),
              v[3] == UInt8(ascii: "P"), v[4] == UInt8(ascii: "/"), v[6] == UInt8(ascii: "."),
              isDigit(v[5]), isDigit(v[7])
        else { throw HTTPError.badRequest("malformed HTTP version") }
        guard v[5] == UInt8(ascii: "1") else {
            throw HTTPError(.httpVersionNotSupported, message: "only HTTP/1.x is supported")
        }
        let version = HTTPVersion(major: 1, minor: Int(v[7] - UInt8(ascii: "0")))
        let method = knownMethod(UnsafeBufferPointer(rebasing: line[0 ..< sp1]))
        // RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT) or asterisk-form (OPTIONS).
        if method == .connect { throw HTTPError(.notImplemented, message: "CONNECT is not supported") }
        let first = target[0]
        if first == UInt8(ascii: "*") {
            guard target.count == 1, method == .options else { throw HTTPError.badRequest("malformed request target") }
        } else if first != UInt8(ascii: "/") {
            let lower = String(decoding: target.prefix(8), as: UTF8.self).lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw HTTPError.badRequest("malformed request target")
            }
        }
        return (method, target, version)
    }

    /// Splits `field-name ":" OWS field-value OWS` (RFC 9112 §5), rejecting obs-fold, whitespace
    /// before the colon and control characters in the value.
    static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws -> (Range<Int>, Range<Int>) {
        // RFC 9112 §5.2: a line starting with whitespace is obs-fold; a server may reject it with 400.
        if line[0] == SP || line[0] == HTAB { throw HTTPError.badRequest("obsolete line folding in header") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPError.badRequest("header without colon") }
        guard colon > 0 else { throw HTTPError.badRequest("empty header name") }
        for i in 0 ..< colon where !isTokenChar(line[i]) {
            // RFC 9112 §5.1: whitespace between name and colon MUST be rejected with 400.
            if line[i] == SP || line[i] == HTAB { throw HTTPError.badRequest("whitespace before colon in header") }
            throw HTTPError.badRequest("invalid header name")
        }
        var start = colon + 1
        var end = line.count
        while start < end && (line[start] == SP || line[start] == HTAB) { start += 1 }
        while end > start && (line[end - 1] == SP || line[end - 1] == HTAB) { end -= 1 }
        for i in start ..< end {
            let b = line[i]
            // field-vchar / SP / HTAB / obs-text; CR, LF, NUL and other controls are invalid (RFC 9110 §5.5).
            if (b < 0x20 && b != HTAB) || b == 0x7F { throw HTTPError.badRequest("invalid character in header value") }
        }
        return (0 ..< colon, start ..< end)
    }

    static func splitTarget(_ target: String) -> (String, String?) {
        var t = Substring(target)
        if t.first != "/" && t != "*" {
            // absolute-form: drop scheme and authority, keep path (RFC 9112 §3.2.2).
            if let colon = t.firstIndex(of: ":") {
                let rest = t[colon...].dropFirst(3)
                t = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { rest[$0...] } ?? ""
            }
        }
        if let q = t.firstIndex(of: "?") {
            let path = t[..<q]
            return (path.isEmpty ? "/" : String(path), String(t[t.index(after: q)...]))
        }
        return (t.isEmpty ? "/" : String(t), nil)
    }

    static func knownMethod(_ b: UnsafeBufferPointer<UInt8>) -> HTTPMethod {
        switch b.count {
        case 3 where b[0] == UInt8(ascii: "G") && b[1] == UInt8(ascii: "E") && b[2] == UInt8(ascii: "T"): return .get
        case 3 where b[0] == UInt8(ascii: "P") && b[1] == UInt8(ascii: "U") && b[2] == UInt8(ascii: "T"): return .put
        case 4 where equalsExact(b, "POST"): return .post
        case 4 where equalsExact(b, "HEAD"): return .head
        case 6 where equalsExact(b, "DELETE"): return .delete
        default: return HTTPMethod(String(decoding: b, as: UTF8.self))
        }
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// tchar (RFC 9110 §5.6.2).
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func equalsExact(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let q = s.utf8Start
        for i in 0 ..< b.count where b[i] != q[i] { return false }
        return true
    }

    /// Case-insensitive comparison against a lowercase ASCII literal.
    static func equalsLowercase(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let q = s.utf8Start
        for i in 0 ..< b.count {
            var c = b[i]
            if c >= 0x41 && c <= 0x5A { c |= 0x20 }
            if c != q[i] { return false }
        }
        return true
    }
}
