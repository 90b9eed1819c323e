import Foundation
import Glibc
import HTTPCore
import Testing

func basicRouter() -> Router {
    var r = Router()
    r.get("/healthz") { _, _ in .text("ok") }
    r.post("/echo") { req, _ in HTTPResponse(status: .ok, headers: ["Content-Type": "application/octet-stream"], body: .bytes(req.body)) }
    r.get("/experiments/:id/metrics") { req, ctx in
        .json("{\"id\":\"\(try ctx.parameter("id"))\",\"limit\":\"\(req.query["limit"] ?? "")\"}")
    }
    r.get("/async", async: { _, _ in
        await Task.yield()
        return .text("async ok")
    })
    r.get("/fail") { _, _ in throw HTTPError.unprocessable("bad value", field: "limit") }
    r.get("/crash") { _, _ in throw CocoaError(.fileNoSuchFile, userInfo: ["secret": "internal detail"]) }
    return r
}

@Suite("Live server on loopback", .serialized)
struct ServerTests {
    @Test func keepAliveReusesOneConnectionAndPipelines() async throws {
        try await withServer(basicRouter()) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                for i in 0 ..< 5 {
                    let r = try c.request("GET", "/experiments/\(i)/metrics?limit=\(i)")
                    #expect(r.status == 200)
                    #expect(r.text == "{\"id\":\"\(i)\",\"limit\":\"\(i)\"}")
                    #expect(r.header("Connection") == nil)
                }
                #expect(server.connectionCount == 1)
                // Three requests in one write come back in order.
                try c.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /async HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try c.readResponse().text == "ok")
                #expect(try c.readResponse().text == "abc")
                #expect(try c.readResponse().text == "async ok")
                #expect(server.connectionCount == 1)
            }
        }
    }

    @Test func slowHeaderClientGets408WhileOthersAreServed() async throws {
        try await withServer(basicRouter(), configure: { $0.limits.headerTimeout = .milliseconds(300) }) { server in
            let port = server.port
            try await blocking {
                let slow = try TestClient(port: port)
                try slow.send("GET /healthz HTTP/1.1\r\nHo")
                let start = ContinuousClock.now
                let other = try TestClient(port: port)
                var served = 0
                while ContinuousClock.now - start < .milliseconds(200) {
                    #expect(try other.request("GET", "/healthz").status == 200)
                    served += 1
                }
                let r = try slow.readResponse()
                #expect(r.status == 408)
                #expect(r.header("Connection") == "close")
                #expect(try slow.isClosedByPeer())
                #expect(ContinuousClock.now - start >= .milliseconds(250))
                #expect(served > 10)
                #expect(try other.request("GET", "/healthz").status == 200)
            }
        }
    }

    @Test func bodyDeadlineAnswers408() async throws {
        try await withServer(basicRouter(), configure: { $0.limits.bodyTimeout = .milliseconds(200) }) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                try c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
                #expect(try c.readResponse().status == 408)
                #expect(try c.isClosedByPeer())
            }
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withServer(basicRouter(), configure: { $0.limits.idleTimeout = .milliseconds(150) }) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                #expect(try c.request("GET", "/healthz").status == 200)
                #expect(try c.isClosedByPeer())
                #expect(pollUntil { server.connectionCount == 0 })
            }
        }
    }

    @Test func holdsAThousandIdleConnectionsAndServesOthers() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 {
            limit.rlim_cur = min(limit.rlim_max, 4096)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        try await withServer(basicRouter(), configure: { $0.limits.maxConnections = 1100 }) { server in
            let port = server.port
            try await blocking {
                var idle: [TestClient] = []
                for _ in 0 ..< 1000 { idle.append(try TestClient(port: port)) }
                #expect(pollUntil { server.connectionCount == 1000 })
                let c = try TestClient(port: port)
                for _ in 0 ..< 20 { #expect(try c.request("GET", "/healthz").text == "ok") }
                // The idle ones are still usable too.
                #expect(try idle[0].request("GET", "/healthz").status == 200)
                #expect(try idle[999].request("GET", "/healthz").status == 200)
                idle.removeAll()
                #expect(pollUntil { server.connectionCount == 1 })
            }
        }
    }

    @Test func connectionsPastTheCapAreRefusedWith503() async throws {
        try await withServer(basicRouter(), configure: { $0.limits.maxConnections = 4 }) { server in
            let port = server.port
            try await blocking {
                let held = try (0 ..< 4).map { _ in try TestClient(port: port) }
                #expect(pollUntil { server.connectionCount == 4 })
                let extra = try TestClient(port: port)
                let r = try extra.readResponse()
                #expect(r.status == 503)
                #expect(try extra.isClosedByPeer())
                #expect(try held[3].request("GET", "/healthz").status == 200)
                held[0].send(closing: ())
                #expect(pollUntil { server.connectionCount == 3 }, "count \(server.connectionCount)")
                #expect(try TestClient(port: port).request("GET", "/healthz").status == 200)
                withExtendedLifetime(held) {}
            }
        }
    }

    @Test func shutdownFinishesInFlightRequests() async throws {
        let gate = Gate()
        var router = basicRouter()
        router.get("/slow", async: { _, _ in
            await gate.wait()
            return .text("finished")
        })
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 2)
        config.log = { _ in }
        let server = HTTPServer(configuration: config, router: router)
        try server.start()
        let port = server.port
        let idle = try TestClient(port: port)
        #expect(try await blocking { try idle.request("GET", "/healthz").status } == 200)
        let busy = try TestClient(port: port)
        try busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await waitUntil { gate.entered == 1 })
        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(5)) }
        // Stops accepting: new connections are refused once the listener is closed.
        #expect(await waitUntil { (try? TestClient(port: port)) == nil })
        // The idle keep-alive connection is closed right away.
        #expect(try await blocking { try idle.isClosedByPeer() })
        gate.open()
        let r = try await blocking { try busy.readResponse() }
        #expect(r.status == 200)
        #expect(r.text == "finished")
        #expect(r.header("Connection") == "close")
        await shutdown.value
        #expect(server.connectionCount == 0)
    }

    @Test func shutdownClosesWhatIsLeftAtTheDeadline() async throws {
        let gate = Gate()
        var router = Router()
        router.get("/never", async: { _, _ in
            await gate.wait()
            return .text("late")
        })
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        let server = HTTPServer(configuration: config, router: router)
        try server.start()
        let c = try TestClient(port: server.port)
        try c.send("GET /never HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await waitUntil { gate.entered == 1 })
        let start = ContinuousClock.now
        await server.shutdown(gracePeriod: .milliseconds(200))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(try await blocking { try c.isClosedByPeer() })
        gate.open()
    }

    /// A handler still running when the grace period ends (its connection is closed then) keeps
    /// `shutdown` waiting until it returns, for up to another grace period: nothing of the
    /// server runs once shutdown has returned.
    @Test func shutdownWaitsForHandlersStillRunningAtTheDeadline() async throws {
        let gate = Gate(), finished = Counter(), returned = Counter()
        var router = Router()
        router.get("/work", async: { _, _ in
            await gate.wait()
            finished.increment()
            return .text("done")
        })
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: 1)
        config.log = { _ in }
        config.timerResolution = .milliseconds(10)
        let server = HTTPServer(configuration: config, router: router)
        try server.start()
        let client = try TestClient(port: server.port)
        try client.send("GET /work HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await waitUntil { gate.entered == 1 })
        let shutdown = Task {
            await server.shutdown(gracePeriod: .seconds(2))
            returned.increment()
        }
        #expect(try await blocking { try client.isClosedByPeer() }, "the connection is closed at the deadline")
        // The loops have stopped, but the handler has not returned: shutdown waits for it.
        #expect(await !waitUntil(.milliseconds(300)) { returned.value > 0 })
        gate.open()
        await shutdown.value
        #expect(finished.value == 1)
    }

    @Test func expectContinueHeadAndConnectionClose() async throws {
        try await withServer(basicRouter()) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                try c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                #expect(try c.readResponse().status == 100)
                try c.send("data")
                #expect(try c.readResponse().text == "data")
                // HEAD: the GET route's length, no body; the next response proves nothing extra was sent.
                try c.send("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = try c.readResponse(head: true)
                #expect(head.status == 200)
                #expect(head.header("Content-Length") == "2")
                let r = try c.request("GET", "/healthz", headers: ["Connection: close"])
                #expect(r.text == "ok")
                #expect(r.header("Connection") == "close")
                #expect(try c.isClosedByPeer())

                let big = try TestClient(port: port)
                try big.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
                #expect(try big.readResponse().status == 413)
            }
        }
    }

    @Test func framingErrorsAnswer400AsJSONAndClose() async throws {
        try await withServer(basicRouter()) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                try c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                let r = try c.readResponse()
                #expect(r.status == 400)
                #expect(r.header("Content-Type") == "application/json")
                #expect(r.text.hasPrefix("{\"error\":{\"code\":\"bad_request\""))
                #expect(try c.isClosedByPeer())

                let chunked = try TestClient(port: port)
                try chunked.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n")
                #expect(try chunked.readResponse().text == "wikipedia")
            }
        }
    }
}

extension TestClient {
    /// Closes the client's socket (the peer sees EOF).
    func send(closing: Void) { shutdown(fd, Int32(SHUT_RDWR)) }
}
