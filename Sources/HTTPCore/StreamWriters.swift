/// Where a stream writer's bytes go: the connection, on its event loop.
protocol StreamSink: AnyObject, Sendable {
    func streamWrite(_ bytes: [UInt8])
    func streamFinish()
}

/// Writes the body of a streaming response; safe to use from any thread.
///
/// Writes are queued to the connection's event loop in order. Once the client disconnects,
/// the response falls too far behind (`HTTPLimits.maxOutputBufferBytes`) or `finish()` is
/// called, the writer is closed: writes return false and the `onClose` handlers run once.
public final class BodyStreamWriter: @unchecked Sendable {
    private let lock = Lock()
    private var closed = false
    private var closeHandlers: [@Sendable () -> Void] = []
    private weak var sink: (any StreamSink)?

    init(sink: any StreamSink) { self.sink = sink }

    /// A writer that is closed from the start (used for HEAD responses to streams).
    init() {
        closed = true
    }

    /// Whether the stream has ended; writes after that are dropped.
    public var isClosed: Bool { lock.withLock { closed } }

    /// Queues bytes; returns false (and drops them) if the stream is closed.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard let sink = lock.withLock({ closed ? nil : self.sink }) else { return false }
        if !bytes.isEmpty { sink.streamWrite(bytes) }
        return true
    }

    /// Queues the UTF-8 bytes of `text`; returns false if the stream is closed.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Ends the response (the terminating chunk is sent); the connection may then be reused.
    public func finish() {
        let sink: (any StreamSink)? = lock.withLock {
            if closed { return nil }
            closed = true
            return self.sink
        }
        sink?.streamFinish()
    }

    /// Registers `handler` to run once when the stream ends for any reason (immediately if it has).
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let runNow: Bool = lock.withLock {
            if closed && sink == nil { return true }
            closeHandlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// Called by the connection when the stream is over: closes the writer and runs the handlers.
    func didClose() {
        let handlers: [@Sendable () -> Void] = lock.withLock {
            closed = true
            sink = nil
            defer { closeHandlers = [] }
            return closeHandlers
        }
        for h in handlers { h() }
    }
}

/// One Server-Sent Event (HTML Living Standard, "Server-sent events").
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` type, or nil for the default `message`.
    public var event: String?
    /// The payload; each line becomes one `data:` line.
    public var data: String
    /// The `id:` that clients echo back in `Last-Event-ID` on reconnect.
    public var id: String?
    /// The reconnection delay to ask of clients, in milliseconds.
    public var retry: Int?

    /// Creates an event.
    public init(data: String, event: String? = nil, id: String? = nil, retry: Int? = nil) {
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
    }

    /// The wire form, ending with the blank line that dispatches the event.
    public var encoded: String {
        var out = ""
        // Newlines inside event or id would start a new field; strip them.
        if let event { out += "event: " + event.filter { $0 != "\n" && $0 != "\r" } + "\n" }
        if let id { out += "id: " + id.filter { $0 != "\n" && $0 != "\r" } + "\n" }
        if let retry { out += "retry: \(retry)\n" }
        var line = ""
        var lastWasCR = false
        for ch in data.unicodeScalars {
            if ch == "\r" || ch == "\n" {
                if ch == "\n" && lastWasCR { lastWasCR = false; continue }
                out += "data: " + line + "\n"
                line = ""
                lastWasCR = ch == "\r"
            } else {
                line.unicodeScalars.append(ch)
                lastWasCR = false
            }
        }
        out += "data: " + line + "\n\n"
        return out
    }
}

/// Writes Server-Sent Events to one client; safe to keep and use from any thread.
public final class EventStreamWriter: @unchecked Sendable {
    /// The underlying body writer.
    public let body: BodyStreamWriter

    /// Wraps a body writer.
    public init(_ body: BodyStreamWriter) { self.body = body }

    /// Sends one event; false if the client is gone.
    @discardableResult
    public func send(_ event: ServerSentEvent) -> Bool { body.write(event.encoded) }

    /// Sends one event built from its parts; false if the client is gone.
    @discardableResult
    public func send(data: String, event: String? = nil, id: String? = nil) -> Bool {
        send(ServerSentEvent(data: data, event: event, id: id))
    }

    /// Sends a comment line, which clients ignore; useful as a keep-alive.
    @discardableResult
    public func comment(_ text: String = "") -> Bool {
        body.write(": " + text.filter { $0 != "\n" && $0 != "\r" } + "\n\n")
    }

    /// Whether the stream has ended.
    public var isClosed: Bool { body.isClosed }

    /// Ends the stream.
    public func finish() { body.finish() }

    /// Registers `handler` to run once when the stream ends (e.g. to unsubscribe from updates).
    public func onClose(_ handler: @escaping @Sendable () -> Void) { body.onClose(handler) }
}
