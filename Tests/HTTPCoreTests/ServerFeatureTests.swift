import Foundation
import Glibc
import HTTPCore
import Testing

@Suite("Live server features", .serialized)
struct ServerFeatureTests {
    @Test func requestSentOneByteAtATime() async throws {
        try await withServer(basicRouter()) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                for byte in Array("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".utf8) {
                    try c.send([byte])
                }
                #expect(try c.readResponse().text == "hello")
                for byte in Array("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n".utf8) { try c.send([byte]) }
                #expect(try c.readResponse().text == "ok")
            }
        }
    }

    @Test func errorsRenderAsJSONWithoutLeakingInternals() async throws {
        let logs = LogSink()
        try await withServer(basicRouter(), configure: { $0.log = { logs.append($0) } }) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                let missing = try c.request("GET", "/nope")
                #expect(missing.status == 404)
                #expect(missing.text == "{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}")
                let wrong = try c.request("DELETE", "/healthz")
                #expect(wrong.status == 405)
                #expect(wrong.header("Allow") == "GET, HEAD")
                let invalid = try c.request("GET", "/fail")
                #expect(invalid.status == 422)
                #expect(invalid.text.contains("\"field\":\"limit\""))
                let crash = try c.request("GET", "/crash")
                #expect(crash.status == 500)
                #expect(!crash.text.contains("internal detail"))
                let id = try #require(crash.header("X-Request-Id"))
                #expect(logs.lines.contains { $0.contains(id) && $0.contains("internal detail") })
            }
        }
    }

    @Test func streamsChunkedAndServerSentEvents() async throws {
        let closed = Counter()
        var router = Router()
        router.get("/chunks") { _, _ in
            .stream(contentType: "text/plain") { w in
                Thread {
                    for i in 0 ..< 3 { w.write("part\(i);") }
                    w.finish()
                }.start()
            }
        }
        router.get("/events") { _, _ in
            .eventStream { events in
                events.send(data: "one", event: "metric", id: "1")
                events.send(ServerSentEvent(data: "two\nlines"))
                events.onClose { closed.increment() }
            }
        }
        router.get("/feed") { _, _ in
            let (stream, continuation) = AsyncStream<ServerSentEvent>.makeStream()
            continuation.yield(ServerSentEvent(data: "a"))
            continuation.yield(ServerSentEvent(data: "b"))
            continuation.finish()
            return .eventStream(stream)
        }
        try await withServer(router) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                let r = try c.request("GET", "/chunks")
                #expect(r.header("Transfer-Encoding") == "chunked")
                #expect(r.text == "part0;part1;part2;")
                let feed = try c.request("GET", "/feed")
                #expect(feed.header("Content-Type") == "text/event-stream")
                #expect(feed.text == "data: a\n\ndata: b\n\n")

                let sse = try TestClient(port: port)
                try sse.send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try sse.readLine() == "HTTP/1.1 200 OK")
                let want = "event: metric\nid: 1\ndata: one\n\ndata: two\ndata: lines\n\n"
                // Each fill waits for more bytes (bounded by the socket timeout).
                while !String(decoding: sse.buffer, as: UTF8.self).contains("data: lines\n\n") {
                    guard try sse.fill() else { break }
                }
                // The body is chunked; strip the chunk framing to compare the event text.
                let text = String(decoding: sse.buffer, as: UTF8.self)
                #expect(text.contains("event: metric\nid: 1\ndata: one\n\n"))
                #expect(text.contains("data: two\ndata: lines\n\n"))
                #expect(want.hasSuffix("data: lines\n\n"))
            }
            // The client leaving closes the writer and runs its onClose handlers.
            #expect(await waitUntil { closed.value == 1 })
        }
    }

    @Test func shutdownEndsOpenEventStreams() async throws {
        let closed = Counter()
        var router = Router()
        router.get("/events") { _, _ in
            .eventStream { events in
                events.send(data: "hello")
                events.onClose { closed.increment() }
            }
        }
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        let server = HTTPServer(configuration: config, router: router)
        try server.start()
        let c = try TestClient(port: server.port)
        try c.send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try c.readLine() } == "HTTP/1.1 200 OK")
        await server.shutdown(gracePeriod: .seconds(5))
        #expect(closed.value == 1)
        // The stream ended properly: terminating chunk, then the connection closed.
        let rest = try await blocking { () -> String in
            while try c.fill() {}
            return String(decoding: c.buffer, as: UTF8.self)
        }
        #expect(rest.contains("data: hello\n\n"))
        #expect(rest.hasSuffix("0\r\n\r\n"))
    }

    @Test func servesIPv6Loopback() async throws {
        guard FileManager.default.fileExists(atPath: "/proc/net/if_inet6") else { return }
        var config = ServerConfiguration(host: "::1", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        let server = HTTPServer(configuration: config, router: basicRouter())
        do { try server.start() } catch { return }  // no IPv6 loopback in this sandbox
        let port = server.port
        #expect(server.addresses == ["[::1]:\(port)"])
        let r = try await blocking { try TestClient(port: port, host: "::1").request("GET", "/healthz") }
        #expect(r.text == "ok")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func localhostBindsEveryResolvedAddressOnOnePort() async throws {
        var config = ServerConfiguration(host: "localhost", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        let server = HTTPServer(configuration: config, router: basicRouter())
        try server.start()
        let port = server.port
        #expect(port > 0)
        #expect(!server.addresses.isEmpty)
        #expect(server.addresses.allSatisfy { $0.hasSuffix(":\(port)") })
        for address in server.addresses {
            let host = address.hasPrefix("[") ? String(address.dropFirst().prefix { $0 != "]" }) : "127.0.0.1"
            let r = try await blocking { try TestClient(port: port, host: host).request("GET", "/healthz") }
            #expect(r.status == 200)
        }
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func middlewareAuthLoggingAndMetrics() async throws {
        let logs = LogSink()
        let metrics = MetricsMiddleware()
        var router = basicRouter()
        router.use(LoggingMiddleware { logs.append($0) })
        router.use(metrics)
        router.use(BearerAuthMiddleware(tokens: ["s3cret"], publicPrefixes: ["/healthz"]))
        try await withServer(router) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                #expect(try c.request("GET", "/healthz").status == 200)
                let denied = try c.request("GET", "/experiments/1/metrics")
                #expect(denied.status == 401)
                #expect(denied.header("WWW-Authenticate") == "Bearer")
                let ok = try c.request("GET", "/experiments/1/metrics", headers: ["Authorization: Bearer s3cret"])
                #expect(ok.status == 200)
                let asyncOK = try c.request("GET", "/async", headers: ["Authorization: Bearer s3cret"])
                #expect(asyncOK.text == "async ok")
            }
            let snap = metrics.snapshot()
            #expect(snap.requests == 4)
            #expect(snap.byClass[2] == 3)
            #expect(snap.byClass[4] == 1)
            #expect(logs.lines.count == 4)
            #expect(logs.lines.contains { $0.contains("GET /experiments/1/metrics 401") })
        }
    }

    @Test func middlewareSeesTheRoutePatternEvenWhenAnsweringEarly() async throws {
        let seen = LogSink()
        var router = basicRouter()
        router.use(RouteRecorder(sink: seen))
        router.use(BearerAuthMiddleware(tokens: ["s3cret"], publicPrefixes: ["/healthz", "/nope"]))
        try await withServer(router) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                #expect(try c.request("GET", "/healthz").status == 200)
                #expect(try c.request("GET", "/experiments/42/metrics").status == 401)
                #expect(try c.request("GET", "/nope").status == 404)
            }
        }
        #expect(seen.lines == ["/healthz 200", "/experiments/:id/metrics 401", "unmatched 404"])
    }
}

/// Logs the matched route pattern and status of each request.
struct RouteRecorder: Middleware {
    let sink: LogSink
    func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse) {
        sink.append("\(context.route ?? "unmatched") \(response.status.code)")
    }
}
