#if canImport(Glibc)
import Glibc
#endif

/// One client connection, confined to its event loop's thread (stream writers reach it
/// through `EventLoop.execute`). Requests on it are answered strictly in order: while one is
/// being handled asynchronously or streamed, later pipelined requests wait in the parser.
final class Connection: @unchecked Sendable {
    enum Phase { case reading, awaitingHandler, streaming, lingering, closed }
    enum DeadlineKind { case none, idle, header, body, write, linger }

    let fd: Int32
    unowned let loop: EventLoop
    let remote: String
    let limits: HTTPLimits
    var parser: HTTPRequestParser
    var out: [UInt8] = []
    var outOffset = 0
    var phase: Phase = .reading
    var closeAfterFlush = false
    var peerClosed = false
    var deadline: UInt64 = 0
    var deadlineKind: DeadlineKind = .none
    var interest: UInt32 = 0
    var stream: BodyStreamWriter?
    var streamChunked = false
    var streamKeepAlive = false

    static let readEvents = Epoll.IN | Epoll.RDHUP

    init(fd: Int32, loop: EventLoop, remote: String, limits: HTTPLimits) {
        self.fd = fd
        self.loop = loop
        self.remote = remote
        self.limits = limits
        parser = HTTPRequestParser(limits: limits)
    }

    func start() {
        interest = Self.readEvents
        loop.add(fd: fd, events: interest)
        refreshDeadline()
    }

    var pendingOutput: Int { out.count - outOffset }

    func handle(events: UInt32) {
        if events & (Epoll.ERR | Epoll.HUP) != 0 {
            // HUP: both directions are shut (a reset, or FIN after our own shutdown); ERR: a socket error.
            close()
            return
        }
        if events & (Epoll.IN | Epoll.RDHUP) != 0 {
            readAvailable()
            if phase == .closed { return }
        }
        if events & Epoll.OUT != 0 { flush() }
    }

    func readAvailable() {
        var reads = 0
        while true {
            let n = recv(fd, loop.readBuffer, loop.readCapacity, 0)
            if n > 0 {
                reads += 1
                if phase != .lingering {
                    parser.append(UnsafeRawBufferPointer(start: loop.readBuffer, count: n))
                }
                if n < loop.readCapacity || reads >= 8 { break }
            } else if n == 0 {
                peerClosed = true
                break
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                close()
                return
            }
        }
        switch phase {
        case .lingering:
            if peerClosed { close() }
        case .reading:
            processRequests()
        case .streaming:
            // The only way an event-stream client says goodbye is by closing.
            if peerClosed { close() } else { updateInterest() }
        case .awaitingHandler, .closed:
            updateInterest()
        }
    }

    /// Parses and answers buffered requests until one needs to wait (async handler, stream,
    /// full output buffer) or the buffer holds no complete request.
    func processRequests() {
        while phase == .reading && !closeAfterFlush && pendingOutput < limits.maxOutputBufferBytes {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                respondWithError(error as? HTTPError ?? .badRequest("malformed request"))
                break
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                // RFC 9110 §10.1.1: tell a waiting client to send the body. Limits were
                // already checked on the head, so an oversized body was refused before this.
                if head.expectsContinue { out.append(contentsOf: ResponseEncoding.continueLine) }
                deadlineKind = .none
            case .request(let request):
                deadlineKind = .none
                handle(request)
            }
        }
        if phase == .reading && !closeAfterFlush && peerClosed {
            // The client has finished sending; a partial request can never complete.
            closeAfterFlush = true
        }
        flush()
    }

    func handle(_ request: HTTPRequest) {
        let context = RequestContext(requestID: loop.nextRequestID(), startNanos: monotonicNanos(),
                                     remoteAddress: remote)
        switch loop.core.responder.respond(to: request, context: context) {
        case .response(let response):
            write(response, for: request.head)
        case .pending(let pending):
            phase = .awaitingHandler
            let responder = loop.core.responder
            let loop = self.loop
            let handlers = loop.core.handlers
            let head = request.head
            handlers.enter()
            Task {
                let response = await responder.run(pending)
                loop.execute { self.asyncHandlerFinished(response, head: head) }
                handlers.leave()
            }
        }
    }

    func asyncHandlerFinished(_ response: HTTPResponse, head: HTTPRequestHead) {
        guard phase == .awaitingHandler else { return }
        phase = .reading
        write(response, for: head)
        if phase == .reading { processRequests() } else { flush() }
    }

    func respondWithError(_ error: HTTPError) {
        var head = HTTPRequestHead(method: .get, target: "/", path: "/", rawQuery: nil, version: .http1_1,
                                   headers: HTTPHeaders(), keepAlive: false, expectsContinue: false, framing: .none)
        head.keepAlive = false
        write(.error(error), for: head)
        closeAfterFlush = true
    }

    func refreshDeadline() {
        func arm(_ kind: DeadlineKind, _ timeout: Duration) {
            if deadlineKind != kind {
                deadlineKind = kind
                deadline = loop.now &+ timeout.nanoseconds
            }
        }
        if phase == .lingering || phase == .closed { return }
        if pendingOutput > 0 {
            arm(.write, limits.writeTimeout)
            return
        }
        switch phase {
        case .reading:
            if parser.isIdle {
                arm(.idle, limits.idleTimeout)
            } else if parser.isReadingBody {
                arm(.body, limits.bodyTimeout)
            } else {
                arm(.header, limits.headerTimeout)
            }
        default:
            deadlineKind = .none
        }
    }

    func updateInterest() {
        guard phase != .closed else { return }
        var want: UInt32 = 0
        switch phase {
        case .reading:
            if !peerClosed && !closeAfterFlush && pendingOutput < limits.maxOutputBufferBytes { want = Self.readEvents }
        case .streaming:
            // Keep watching for the client leaving; stop once it has queued too much input.
            if !peerClosed && parser.bufferedByteCount < limits.maxHeaderBytes + limits.maxRequestLineBytes {
                want = Self.readEvents
            }
        case .lingering:
            want = Epoll.IN
        case .awaitingHandler, .closed:
            want = 0
        }
        if pendingOutput > 0 { want |= Epoll.OUT }
        if want != interest {
            interest = want
            loop.modify(fd: fd, events: want)
        }
    }

    func deadlineExpired() {
        switch deadlineKind {
        case .header, .body:
            // RFC 9110 §15.5.9: 408, then close; the rest of the request is never read.
            deadlineKind = .none
            respondWithError(HTTPError(.requestTimeout, message: "request not received in time"))
            flush()
        default:
            close()
        }
    }

    /// Shutdown: idle connections close now, busy ones after their current response.
    func drain() {
        switch phase {
        case .reading where parser.isIdle:
            if pendingOutput == 0 { close() } else { closeAfterFlush = true }
        case .streaming:
            endStream()
        default:
            break
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        deadlineKind = .none
        loop.unregister(self)
        Glibc.close(fd)
        if let writer = stream {
            stream = nil
            writer.didClose()
        }
    }
}
