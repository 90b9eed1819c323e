import Foundation
import HTTPCore
import Testing

/// In-process requests take HTTPCore's one pipeline (`Responder`), the server's path without the
/// socket: the middleware's after-hooks run, a 405 lists what is allowed, a failing handler is
/// rendered as the server renders it.
@Suite("In-process requests go through HTTPCore's pipeline", .serialized)
struct PipelineTests {
    @Test func inProcessRequests_areCountedByTheRequestMetrics() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        for _ in 0 ..< 3 { #expect(try await h.send(.get, "/healthz").status == 200) }
        #expect(try await h.send(.get, "/experiments/no-such-id").status == 404)
        #expect(try await h.send(.post, "/experiments", body: "{").status == 400)
        let reply = try await h.send(.get, "/metrics")
        #expect(reply.status == 200)
        let scrape = try PrometheusTests.Scrape("HTTP/1.1 200 OK\r\n\r\n" + String(decoding: reply.bytes, as: UTF8.self))
        #expect(scrape.value(PrometheusTests.requests("GET", route: "/healthz", status: 200)) == 3)
        #expect(scrape.value(PrometheusTests.requests("GET", route: "/experiments/:id", status: 404)) == 1)
        #expect(scrape.value(PrometheusTests.requests("POST", route: "/experiments", status: 400)) == 1)
        #expect(scrape.buckets(route: "/healthz").last?.1 == 3, "the latency histogram saw the three requests")
    }

    @Test func wrongMethod_is405ListingTheAllowedMethods() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let reply = try await h.send(.delete, "/healthz")
        #expect(reply.status == 405)
        #expect(reply.response.headers["Allow"]?.contains("GET") == true, "Allow: \(String(describing: reply.response.headers["Allow"]))")
        #expect(reply.json?["error"]?["code"]?.stringValue != nil)
    }
}
