#if canImport(Glibc)
import Glibc
#endif

/// Response serialisation, streaming bodies and the write side of a connection.
extension Connection: StreamSink {
    /// Queues a response head and body (RFC 9112 §6.1–§6.3 framing); a streaming body switches
    /// the connection to the streaming phase and hands the producer its writer.
    func write(_ response: HTTPResponse, for head: HTTPRequestHead) {
        var keepAlive = head.keepAlive && !loop.draining
        let isHead = head.method == .head
        let supportsChunked = head.version.minor >= 1
        let status = response.status
        ResponseEncoding.appendStatusLine(status, to: &out)
        out.append(contentsOf: loop.dateCache.line())
        for field in response.headers where !ResponseEncoding.isServerOwned(field.name) {
            ResponseEncoding.appendHeader(field.name, field.value, to: &out)
        }
        var startStream: (@Sendable (BodyStreamWriter) -> Void)?
        var body: [UInt8] = []
        switch response.body {
        case .empty:
            break
        case .bytes(let bytes):
            body = bytes
        case .stream(let start):
            if !isHead && !status.forbidsBody {
                startStream = start
                // Without chunked coding (HTTP/1.0) the body is delimited by closing (RFC 9112 §6.3).
                if supportsChunked { out.append(contentsOf: ResponseEncoding.chunkedHeader) } else { keepAlive = false }
            }
        }
        if startStream == nil && !status.forbidsBody {
            out.append(contentsOf: ResponseEncoding.contentLength)
            ResponseEncoding.appendDecimal(body.count, to: &out)
            out.append(contentsOf: ResponseEncoding.crlf)
        }
        if !keepAlive {
            out.append(contentsOf: ResponseEncoding.closeHeader)
        } else if !supportsChunked {
            out.append(contentsOf: ResponseEncoding.keepAliveHeader)
        }
        out.append(contentsOf: ResponseEncoding.crlf)
        if let start = startStream {
            phase = .streaming
            streamChunked = supportsChunked
            streamKeepAlive = keepAlive
            let writer = BodyStreamWriter(sink: self)
            stream = writer
            start(writer)
            return
        }
        if !isHead && !status.forbidsBody { out.append(contentsOf: body) }
        if !keepAlive { closeAfterFlush = true }
    }

    // MARK: StreamSink (any thread)

    func streamWrite(_ bytes: [UInt8]) {
        loop.execute { self.appendStreamBytes(bytes) }
    }

    func streamFinish() {
        loop.execute { self.endStream() }
    }

    func appendStreamBytes(_ bytes: [UInt8]) {
        guard phase == .streaming else { return }
        if streamChunked {
            ResponseEncoding.appendHex(bytes.count, to: &out)
            out.append(contentsOf: ResponseEncoding.crlf)
            out.append(contentsOf: bytes)
            out.append(contentsOf: ResponseEncoding.crlf)
        } else {
            out.append(contentsOf: bytes)
        }
        if pendingOutput > limits.maxOutputBufferBytes {
            // The client is not keeping up; drop it rather than buffer without bound.
            close()
            return
        }
        flush()
    }

    func endStream() {
        guard phase == .streaming else { return }
        if streamChunked { out.append(contentsOf: ResponseEncoding.lastChunk) }
        phase = .reading
        if !streamKeepAlive || loop.draining { closeAfterFlush = true }
        let writer = stream
        stream = nil
        writer?.didClose()
        processRequests()
    }

    func flush() {
        while outOffset < out.count {
            let n = out.withUnsafeBytes { p in
                send(fd, p.baseAddress! + outOffset, p.count - outOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outOffset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                close()
                return
            }
        }
        if outOffset == out.count {
            if out.capacity > 1 << 20 { out = [] } else { out.removeAll(keepingCapacity: true) }
            outOffset = 0
            if closeAfterFlush && phase == .reading {
                startLingeringClose()
                return
            }
        }
        refreshDeadline()
        updateInterest()
    }

    /// Half-closes and discards further input for a moment before closing, so that a client
    /// still sending (a refused body, pipelined requests) reads our final response instead
    /// of a reset (RFC 9112 §9.6).
    func startLingeringClose() {
        Glibc.shutdown(fd, Int32(SHUT_WR))
        if peerClosed {
            close()
            return
        }
        phase = .lingering
        deadlineKind = .linger
        deadline = loop.now &+ min(Duration.seconds(1), limits.headerTimeout).nanoseconds
        updateInterest()
    }
}
