/// Size, count and time limits the server enforces on every connection.
///
/// Each limit answers with its own status: request line → 414, header bytes or count → 431,
/// body → 413, header or body deadline → 408, framing errors → 400 (then the connection closes).
public struct HTTPLimits: Sendable {
    /// Longest request line (method, target, version) in bytes, without CRLF; longer → 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Largest header block after the request line, in bytes including CRLFs; larger → 431.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields per request (trailer fields count too); more → 431.
    public var maxHeaderCount: Int = 100
    /// Largest request body in bytes, after chunked decoding; larger → 413.
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    /// Time allowed from a request's first byte until its header block is complete; then 408.
    public var headerTimeout: Duration = .seconds(10)
    /// Time allowed for reading a request body once the header block is complete; then 408.
    public var bodyTimeout: Duration = .seconds(30)
    /// How long a keep-alive connection may sit idle between requests before it is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a response may wait for the client to read it before the connection is dropped.
    public var writeTimeout: Duration = .seconds(30)
    /// Most simultaneous connections; past this a new connection gets 503 and is closed.
    public var maxConnections: Int = 10_000
    /// Most response bytes queued on one connection before the server stops reading more
    /// pipelined requests from it (and before a stream writer is considered stalled).
    public var maxOutputBufferBytes: Int = 4 * 1024 * 1024

    /// The default limits.
    public init() {}
}

/// Where the server listens, how many event-loop threads it runs, and its limits.
public struct ServerConfiguration: Sendable {
    /// The address to bind: an IPv4 or IPv6 literal, or a name such as `localhost`
    /// (every address it resolves to is bound, all on the same port).
    public var host: String
    /// The TCP port; 0 asks the kernel for a free one (see `HTTPServer.port`).
    public var port: Int
    /// Event-loop threads; each owns a share of the connections. Defaults to the core count.
    public var eventLoopThreads: Int
    /// The `listen(2)` backlog.
    public var backlog: Int32 = 1024
    /// The limits applied to every connection.
    public var limits: HTTPLimits = HTTPLimits()
    /// How often deadlines are checked; timeouts fire up to this much late.
    public var timerResolution: Duration = .milliseconds(100)
    /// Receives server log lines (unexpected handler errors with their request id, I/O failures).
    public var log: @Sendable (String) -> Void = { line in
        fputsStandardError("[http] " + line + "\n")
    }

    /// Creates a configuration for the given address and port.
    public init(host: String = "127.0.0.1", port: Int = 0, eventLoopThreads: Int? = nil) {
        self.host = host
        self.port = port
        self.eventLoopThreads = max(1, eventLoopThreads ?? defaultThreadCount())
    }
}
