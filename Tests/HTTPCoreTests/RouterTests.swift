import Foundation
import HTTPCore
import Testing

@Suite("Router, queries and errors")
struct RouterTests {
    func router() -> Router {
        var r = Router()
        r.get("/healthz") { _, _ in .text("ok") }
        r.get("/experiments/:id/metrics") { _, _ in .text("metrics") }
        r.post("/experiments/:id/metrics") { _, _ in .text("posted") }
        r.delete("/experiments/:id") { _, _ in .text("deleted") }
        r.get("/files/*rest") { _, _ in .text("file") }
        return r
    }

    @Test func matchesLiteralsParametersAndWildcards() throws {
        let r = router()
        guard case .found(_, let p0) = try r.match(.get, path: "/healthz") else { Issue.record("healthz"); return }
        #expect(p0.isEmpty)
        guard case .found(_, let p1) = try r.match(.get, path: "/experiments/exp%2042/metrics") else {
            Issue.record("param route"); return
        }
        #expect(p1["id"] == "exp 42")
        guard case .found(_, let p2) = try r.match(.get, path: "/files/a/b%2Fc.txt") else { Issue.record("wildcard"); return }
        #expect(p2["rest"] == "a/b/c.txt")
        guard case .found = try r.match(.head, path: "/experiments/1/metrics") else { Issue.record("HEAD→GET"); return }
    }

    @Test func distinguishes404From405() throws {
        let r = router()
        guard case .notFound = try r.match(.get, path: "/experiments") else { Issue.record("404"); return }
        guard case .notFound = try r.match(.get, path: "/healthz/") else { Issue.record("trailing slash"); return }
        guard case .notFound = try r.match(.get, path: "/experiments//metrics") else { Issue.record("empty param"); return }
        guard case .methodNotAllowed(let allowed) = try r.match(.put, path: "/experiments/3/metrics") else {
            Issue.record("405"); return
        }
        #expect(Set(allowed.map(\.rawValue)) == ["GET", "POST", "HEAD"])
        #expect(throws: HTTPError.self) { try r.match(.get, path: "/experiments/%zz/metrics") }
    }

    @Test func lookupNamesTheMatchedPattern() throws {
        let r = router()
        #expect(try r.lookup(.get, path: "/healthz").pattern == "/healthz")
        #expect(try r.lookup(.get, path: "/experiments/a%20b/metrics").pattern == "/experiments/:id/metrics")
        #expect(try r.lookup(.post, path: "/experiments/7/metrics").pattern == "/experiments/:id/metrics")
        #expect(try r.lookup(.head, path: "/files/x/y").pattern == "/files/*rest")
        #expect(try r.lookup(.delete, path: "/experiments/9").pattern == "/experiments/:id")
        let wrongMethod = try r.lookup(.put, path: "/experiments/3/metrics")
        guard case .methodNotAllowed = wrongMethod.match else { Issue.record("405"); return }
        #expect(wrongMethod.pattern == "/experiments/:id/metrics")
        let missing = try r.lookup(.get, path: "/experiments")
        guard case .notFound = missing.match else { Issue.record("404"); return }
        #expect(missing.pattern == nil)
    }

    @Test func laterRegistrationReplacesEarlier() throws {
        var r = Router()
        r.get("/x") { _, _ in .text("first") }
        r.get("/x") { _, _ in .text("second") }
        guard case .found(.sync(let h), _) = try r.match(.get, path: "/x") else { Issue.record("route"); return }
        let response = try h(HTTPRequest(method: .get, target: "/x"), RequestContext(requestID: 1))
        guard case .bytes(let b) = response.body else { Issue.record("body"); return }
        #expect(String(decoding: b, as: UTF8.self) == "second")
    }

    @Test func parsesAndDecodesQueries() {
        let q = QueryParameters("a=1&b=hello+world&c=%E2%9C%93&a=2&flag&bad=%zz&=empty")
        #expect(q["a"] == "1")
        #expect(q.values("a") == ["1", "2"])
        #expect(q["b"] == "hello world")
        #expect(q["c"] == "✓")
        #expect(q["flag"] == "")
        #expect(q["bad"] == "%zz")
        #expect(q["missing"] == nil)
        #expect(PercentDecoding.decode("%2e%2E") == "..")
        #expect(PercentDecoding.decode("%4") == nil)
        #expect(PercentDecoding.decode("a+b") == "a+b")
        #expect(PercentDecoding.decode("%FF") == nil)
    }

    @Test func errorJSONEscapesAndOmitsAbsentField() {
        let e = HTTPError.badRequest("say \"hi\"\n", field: "na\\me")
        #expect(String(decoding: e.jsonBody, as: UTF8.self)
            == "{\"error\":{\"code\":\"bad_request\",\"message\":\"say \\\"hi\\\"\\n\",\"field\":\"na\\\\me\"}}")
        let f = HTTPError(.requestHeaderFieldsTooLarge)
        #expect(f.code == "request_header_fields_too_large")
        #expect(!String(decoding: f.jsonBody, as: UTF8.self).contains("\"field\""))
    }

    @Test func serverSentEventEncoding() {
        #expect(ServerSentEvent(data: "x").encoded == "data: x\n\n")
        #expect(ServerSentEvent(data: "a\r\nb\rc", event: "e\nvil", id: "7", retry: 100).encoded
            == "event: evil\nid: 7\nretry: 100\ndata: a\ndata: b\ndata: c\n\n")
    }

    @Test func headersAreCaseInsensitive() {
        var h: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1"]
        h.add("x-a", "2")
        #expect(h["content-type"] == "text/plain")
        #expect(h.values("X-A") == ["1", "2"])
        h.set("X-a", "3")
        #expect(h.values("x-A") == ["3"])
        #expect(HTTPHeaders([("Connection", "Keep-Alive, Upgrade")]).tokens("connection") == ["keep-alive", "upgrade"])
    }
}
