/// An incremental HTTP/1.1 request parser (RFC 9112) that accepts bytes in any split.
///
/// Feed bytes with `append`, then call `next()` until it returns nil. It yields `.head` when a
/// header block announcing a body is complete (so a server can answer `Expect: 100-continue`
/// and start the body deadline) and `.request` when a whole request is complete. Pipelined
/// requests come out one after another. After a thrown `HTTPError` the parser stays failed:
/// the connection must answer with the error's status and close, since the framing of what
/// follows can no longer be trusted.
public struct HTTPRequestParser {
    /// What `next()` found.
    public enum Event {
        /// A header block whose request has a body still to be read.
        case head(HTTPRequestHead)
        /// A complete request.
        case request(HTTPRequest)
    }

    enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPError)
    }

    /// The limits this parser enforces.
    public let limits: HTTPLimits
    var buffer: [UInt8] = []
    var readIndex = 0
    var state: State = .head
    // Progress of the scan for the end of the header block, relative to `readIndex`,
    // so bytes arriving one at a time are not rescanned (no quadratic work).
    var scanOffset = 0
    var lineStart = 0
    var requestLineStart = 0
    var requestLineEnd = -1
    var headerLines = 0
    var emptyLinesSkipped = 0
    var pendingHead: HTTPRequestHead?
    var body: [UInt8] = []
    var trailerBytes = 0
    var trailerLines = 0

    /// Creates a parser enforcing `limits`.
    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet consumed by a complete request.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True when no part of a request has been received (between requests on a keep-alive connection).
    public var isIdle: Bool {
        if case .head = state { return buffer.count == readIndex } else { return false }
    }

    /// True while a body is being read (after `.head` and before `.request`).
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    /// Parses as far as the buffered bytes allow; nil means more bytes are needed.
    public mutating func next() throws -> Event? {
        do {
            return try step()
        } catch let error as HTTPError {
            state = .failed(error)
            throw error
        }
    }

    /// Parses every request in `bytes`, which must end on a request boundary; for tests and tools.
    public static func parseAll(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        parser.append(bytes)
        var out: [HTTPRequest] = []
        while let event = try parser.next() {
            if case .request(let r) = event { out.append(r) }
        }
        if parser.bufferedByteCount > 0 || !parser.isIdle {
            throw HTTPError.badRequest("incomplete request")
        }
        return out
    }

    mutating func step() throws -> Event? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                guard let head = try scanHead() else { compact(); return nil }
                switch head.framing {
                case .none:
                    return .request(HTTPRequest(head: head, body: []))
                case .length(let n):
                    pendingHead = head
                    body = []
                    body.reserveCapacity(min(n, 1 << 20))
                    state = .fixedBody(remaining: n)
                    return .head(head)
                case .chunked:
                    pendingHead = head
                    body = []
                    trailerBytes = 0
                    trailerLines = 0
                    state = .chunkSize
                    return .head(head)
                }
            case .fixedBody(let remaining):
                let owed = takeBody(remaining)
                if owed > 0 {
                    state = .fixedBody(remaining: owed)
                    compact()
                    return nil
                }
                return finishBody()
            case .chunkSize:
                guard let size = try parseChunkSizeLine() else { compact(); return nil }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let owed = takeBody(remaining)
                if owed > 0 {
                    state = .chunkData(remaining: owed)
                    compact()
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                // RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
                guard buffer.count - readIndex >= 2 else {
                    if buffer.count - readIndex == 1 && buffer[readIndex] != CR {
                        throw HTTPError.badRequest("chunk data not followed by CRLF")
                    }
                    compact()
                    return nil
                }
                guard buffer[readIndex] == CR && buffer[readIndex + 1] == LF else {
                    throw HTTPError.badRequest("chunk data not followed by CRLF")
                }
                readIndex += 2
                state = .chunkSize
            case .trailers:
                guard try skipTrailers() else { compact(); return nil }
                return finishBody()
            }
        }
    }

    /// Moves up to `remaining` buffered bytes into the body; returns how many are still owed.
    mutating func takeBody(_ remaining: Int) -> Int {
        let take = min(remaining, buffer.count - readIndex)
        if take > 0 {
            body.append(contentsOf: buffer[readIndex ..< readIndex + take])
            readIndex += take
        }
        return remaining - take
    }

    mutating func finishBody() -> Event {
        // pendingHead is always set while a body is read; the fallback only keeps this total.
        let head = pendingHead ?? HTTPRequestHead(method: .get, target: "/", path: "/", rawQuery: nil, version: .http1_1,
                                                  headers: HTTPHeaders(), keepAlive: false, expectsContinue: false,
                                                  framing: .none)
        pendingHead = nil
        let request = HTTPRequest(head: head, body: body)
        body = []
        state = .head
        return .request(request)
    }

    /// Drops consumed bytes once it is cheap or worthwhile to do so.
    mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeSubrange(0 ..< readIndex)
            readIndex = 0
        }
    }

    /// Finds the end of the header block, enforcing the size limits as bytes arrive, then parses it.
    mutating func scanHead() throws -> HTTPRequestHead? {
        let available = buffer.count - readIndex
        let found: Int? = try buffer.withUnsafeBufferPointer { all in
            let p = UnsafeBufferPointer(rebasing: all[readIndex...])
            var i = scanOffset
            while i < available {
                guard p[i] == LF else { i += 1; continue }
                let lineLength = i - lineStart
                let isEmpty = lineLength == 0 || (lineLength == 1 && p[lineStart] == CR)
                if requestLineEnd < 0 {
                    if isEmpty {
                        // RFC 9112 §2.2: ignore empty lines received before the request line.
                        emptyLinesSkipped += 1
                        if emptyLinesSkipped > 8 { throw HTTPError.badRequest("too many empty lines") }
                        lineStart = i + 1
                        requestLineStart = i + 1
                        i += 1
                        continue
                    }
                    if lineLength - 1 > limits.maxRequestLineBytes { throw Self.uriTooLong }
                    requestLineEnd = i
                } else if isEmpty {
                    return i + 1
                } else {
                    headerLines += 1
                    if headerLines > limits.maxHeaderCount {
                        throw HTTPError(.requestHeaderFieldsTooLarge, message: "too many header fields")
                    }
                    if i + 1 - (requestLineEnd + 1) > limits.maxHeaderBytes { throw Self.headersTooLarge }
                }
                lineStart = i + 1
                i += 1
            }
            return nil
        }
        guard let end = found else {
            scanOffset = available
            if requestLineEnd < 0 {
                if available - requestLineStart > limits.maxRequestLineBytes + 1 { throw Self.uriTooLong }
            } else if available - (requestLineEnd + 1) > limits.maxHeaderBytes + 2 {
                throw Self.headersTooLarge
            }
            return nil
        }
        let head = try buffer.withUnsafeBufferPointer { all in
            try HeadParser.parse(UnsafeBufferPointer(rebasing: all[readIndex ..< readIndex + end]),
                                 requestLineStart: requestLineStart, requestLineEnd: requestLineEnd,
                                 limits: limits)
        }
        readIndex += end
        scanOffset = 0
        lineStart = 0
        requestLineStart = 0
        requestLineEnd = -1
        headerLines = 0
        emptyLinesSkipped = 0
        return head
    }

    static let uriTooLong = HTTPError(.uriTooLong, message: "request line too long")
    static let headersTooLarge = HTTPError(.requestHeaderFieldsTooLarge, message: "header block too large")
}

let CR = UInt8(ascii: "\r")
let LF = UInt8(ascii: "\n")
let SP = UInt8(ascii: " ")
let HTAB = UInt8(ascii: "\t")
