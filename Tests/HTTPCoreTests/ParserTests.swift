import HTTPCore
import Testing

/// What a raw request should parse to.
enum Expect: Sendable {
    /// Parses into this many complete requests.
    case requests(Int)
    /// Fails with this status.
    case status(Int)
}

struct ParserCase: Sendable, CustomTestStringConvertible {
    let name: String
    let raw: String
    let expect: Expect
    var testDescription: String { name }
}

/// Small limits so each can be crossed with a short input.
func smallLimits() -> HTTPLimits {
    var l = HTTPLimits()
    l.maxRequestLineBytes = 64
    l.maxHeaderBytes = 256
    l.maxHeaderCount = 8
    l.maxBodyBytes = 32
    return l
}

/// Parses `bytes` fed in pieces of `step` bytes, calling `next()` after every piece.
func parseIncrementally(_ bytes: [UInt8], step: Int, limits: HTTPLimits) -> Result<[HTTPRequest], HTTPError> {
    var parser = HTTPRequestParser(limits: limits)
    var out: [HTTPRequest] = []
    var i = 0
    do {
        while i < bytes.count {
            parser.append(bytes[i ..< min(bytes.count, i + step)])
            i += step
            while let event = try parser.next() {
                if case .request(let r) = event { out.append(r) }
            }
        }
        if !parser.isIdle { return .failure(HTTPError.badRequest("incomplete")) }
        return .success(out)
    } catch let e as HTTPError {
        return .failure(e)
    } catch {
        return .failure(HTTPError.badRequest("unexpected"))
    }
}

let h = "Host: x\r\n"

let parserCases: [ParserCase] = [
    // Valid requests.
    ParserCase(name: "simple GET", raw: "GET / HTTP/1.1\r\n\(h)\r\n", expect: .requests(1)),
    ParserCase(name: "POST with Content-Length", raw: "POST /a HTTP/1.1\r\n\(h)Content-Length: 5\r\n\r\nhello", expect: .requests(1)),
    ParserCase(name: "chunked with extension and trailer",
               raw: "POST /a HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n5;name=v\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
               expect: .requests(1)),
    ParserCase(name: "pipelined three", raw: "GET /1 HTTP/1.1\r\n\(h)\r\nGET /2 HTTP/1.1\r\n\(h)\r\nPOST /3 HTTP/1.1\r\n\(h)Content-Length: 2\r\n\r\nok",
               expect: .requests(3)),
    ParserCase(name: "leading empty line ignored", raw: "\r\nGET / HTTP/1.1\r\n\(h)\r\n", expect: .requests(1)),
    ParserCase(name: "HTTP/1.0 without Host", raw: "GET / HTTP/1.0\r\n\r\n", expect: .requests(1)),
    ParserCase(name: "identical Content-Length list", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 2, 2\r\n\r\nok", expect: .requests(1)),
    ParserCase(name: "absolute-form target", raw: "GET http://x/a?b=1 HTTP/1.1\r\n\(h)\r\n", expect: .requests(1)),
    ParserCase(name: "OPTIONS asterisk", raw: "OPTIONS * HTTP/1.1\r\n\(h)\r\n", expect: .requests(1)),
    ParserCase(name: "Content-Length zero", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 0\r\n\r\n", expect: .requests(1)),
    ParserCase(name: "transfer-coding case-insensitive", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", expect: .requests(1)),
    // Smuggling vectors.
    ParserCase(name: "Content-Length and Transfer-Encoding", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "conflicting Content-Length headers", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", expect: .status(400)),
    ParserCase(name: "conflicting Content-Length list", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 5, 6\r\n\r\nhello!", expect: .status(400)),
    ParserCase(name: "non-numeric Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: abc\r\n\r\n", expect: .status(400)),
    ParserCase(name: "signed Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: +5\r\n\r\nhello", expect: .status(400)),
    ParserCase(name: "negative Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: -1\r\n\r\n", expect: .status(400)),
    ParserCase(name: "hex Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 0x5\r\n\r\nhello", expect: .status(400)),
    ParserCase(name: "Content-Length with inner space", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 1 2\r\n\r\n", expect: .status(400)),
    ParserCase(name: "empty Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length:\r\n\r\n", expect: .status(400)),
    ParserCase(name: "overflowing Content-Length", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 99999999999999999999999\r\n\r\n", expect: .status(400)),
    ParserCase(name: "chunked not final", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked, gzip\r\n\r\n", expect: .status(400)),
    ParserCase(name: "chunked twice", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "unknown coding only", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: gzip\r\n\r\n", expect: .status(400)),
    ParserCase(name: "unsupported coding before chunked", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", expect: .status(501)),
    ParserCase(name: "Transfer-Encoding in HTTP/1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "non-hex chunk size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", expect: .status(400)),
    ParserCase(name: "0x chunk size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "negative chunk size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n", expect: .status(400)),
    ParserCase(name: "chunk size with leading space", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "overflowing chunk size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\n", expect: .status(400)),
    ParserCase(name: "empty chunk size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n\r\n", expect: .status(400)),
    ParserCase(name: "chunk data longer than size", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "chunk size bare LF", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", expect: .status(400)),
    ParserCase(name: "obs-fold", raw: "GET / HTTP/1.1\r\n\(h)X-A: 1\r\n 2\r\n\r\n", expect: .status(400)),
    ParserCase(name: "obs-fold with tab", raw: "GET / HTTP/1.1\r\n\(h)X-A: 1\r\n\t2\r\n\r\n", expect: .status(400)),
    ParserCase(name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", expect: .status(400)),
    ParserCase(name: "tab before colon", raw: "POST / HTTP/1.1\r\n\(h)Content-Length\t: 5\r\n\r\nhello", expect: .status(400)),
    ParserCase(name: "header without colon", raw: "GET / HTTP/1.1\r\n\(h)NoColon\r\n\r\n", expect: .status(400)),
    ParserCase(name: "empty header name", raw: "GET / HTTP/1.1\r\n\(h): v\r\n\r\n", expect: .status(400)),
    ParserCase(name: "bare LF line ending", raw: "GET / HTTP/1.1\nHost: x\n\n", expect: .status(400)),
    ParserCase(name: "bare CR in header value", raw: "GET / HTTP/1.1\r\n\(h)X-A: a\rb\r\n\r\n", expect: .status(400)),
    ParserCase(name: "NUL in header value", raw: "GET / HTTP/1.1\r\n\(h)X-A: a\u{0}b\r\n\r\n", expect: .status(400)),
    ParserCase(name: "missing Host in HTTP/1.1", raw: "GET / HTTP/1.1\r\n\r\n", expect: .status(400)),
    ParserCase(name: "duplicate Host", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", expect: .status(400)),
    ParserCase(name: "double space in request line", raw: "GET  / HTTP/1.1\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "lowercase version", raw: "GET / http/1.1\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "HTTP/2.0", raw: "GET / HTTP/2.0\r\n\(h)\r\n", expect: .status(505)),
    ParserCase(name: "missing version", raw: "GET /\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "bad method character", raw: "G(T / HTTP/1.1\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "relative target", raw: "GET a/b HTTP/1.1\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "fragment in target", raw: "GET /a#b HTTP/1.1\r\n\(h)\r\n", expect: .status(400)),
    ParserCase(name: "unknown expectation", raw: "POST / HTTP/1.1\r\n\(h)Expect: magic\r\nContent-Length: 1\r\n\r\nx", expect: .status(417)),
    // Limits (smallLimits: line 64, headers 256 bytes / 8 fields, body 32).
    ParserCase(name: "request line too long", raw: "GET /\(String(repeating: "a", count: 80)) HTTP/1.1\r\n\(h)\r\n", expect: .status(414)),
    ParserCase(name: "header block too large", raw: "GET / HTTP/1.1\r\n\(h)X-Big: \(String(repeating: "b", count: 300))\r\n\r\n", expect: .status(431)),
    ParserCase(name: "too many headers", raw: "GET / HTTP/1.1\r\n\(h)" + (0 ..< 9).map { "X-\($0): v\r\n" }.joined() + "\r\n", expect: .status(431)),
    ParserCase(name: "Content-Length over limit", raw: "POST / HTTP/1.1\r\n\(h)Content-Length: 33\r\n\r\n", expect: .status(413)),
    ParserCase(name: "chunked body over limit", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n14\r\n\(String(repeating: "c", count: 20))\r\n14\r\n", expect: .status(413)),
    ParserCase(name: "long trailer ending in bare LF (size checked first)", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: \(String(repeating: "t", count: 300))\n\r\n", expect: .status(431)),
    ParserCase(name: "trailers over limit", raw: "POST / HTTP/1.1\r\n\(h)Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: \(String(repeating: "t", count: 300))\r\n\r\n", expect: .status(431)),
]

@Suite("Request parser")
struct ParserTests {
    @Test("table: whole buffer, one byte at a time, and 7-byte pieces agree", arguments: parserCases)
    func table(_ c: ParserCase) throws {
        let bytes = Array(c.raw.utf8)
        for step in [bytes.count, 1, 7] {
            let result = parseIncrementally(bytes, step: max(1, step), limits: smallLimits())
            switch (c.expect, result) {
            case (.requests(let n), .success(let requests)):
                #expect(requests.count == n, "step \(step)")
            case (.status(let code), .failure(let error)):
                #expect(error.status.code == code, "step \(step): \(error)")
            default:
                Issue.record("step \(step): expected \(c.expect), got \(result)")
            }
        }
    }

    @Test func decodesFieldsOfAValidRequest() throws {
        let raw = "POST /experiments/7/metrics?limit=10&name=a%20b HTTP/1.1\r\nHost: example\r\n"
            + "X-Pad:   spaced value  \r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        let requests = try HTTPRequestParser.parseAll(Array(raw.utf8))
        let r = try #require(requests.first)
        #expect(r.method == .post)
        #expect(r.path == "/experiments/7/metrics")
        #expect(r.query["limit"] == "10")
        #expect(r.query["name"] == "a b")
        #expect(r.headers["x-pad"] == "spaced value")
        #expect(r.bodyString == "hello")
        #expect(r.head.keepAlive == false)
        #expect(r.head.version == .http1_1)
    }

    @Test func dechunksBodyAndKeepsPipelinedOrder() throws {
        let raw = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n"
            + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
        let requests = try HTTPRequestParser.parseAll(Array(raw.utf8))
        #expect(requests.map(\.path) == ["/a", "/b"])
        #expect(requests[0].bodyString == "abc0123456789")
        #expect(requests[1].body.isEmpty)
    }

    @Test func keepAliveDefaultsFollowTheVersion() throws {
        let r10 = try HTTPRequestParser.parseAll(Array("GET / HTTP/1.0\r\n\r\n".utf8))[0]
        let r10ka = try HTTPRequestParser.parseAll(Array("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8))[0]
        let r11 = try HTTPRequestParser.parseAll(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))[0]
        #expect(!r10.head.keepAlive)
        #expect(r10ka.head.keepAlive)
        #expect(r11.head.keepAlive)
    }

    @Test func reportsHeadBeforeBodyForExpectContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .head(let head)? = try parser.next() else { Issue.record("expected head"); return }
        #expect(head.expectsContinue)
        #expect(head.framing == .length(3))
        #expect(try parser.next() == nil)
        #expect(parser.isReadingBody)
        parser.append(Array("abc".utf8))
        guard case .request(let r)? = try parser.next() else { Issue.record("expected request"); return }
        #expect(r.bodyString == "abc")
        #expect(parser.isIdle)
    }

    @Test func expectContinueIsIgnoredForHTTP10() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n".utf8))
        guard case .head(let head)? = try parser.next() else { Issue.record("expected head"); return }
        #expect(!head.expectsContinue)
    }

    @Test func limitsFireBeforeTheLineIsComplete() {
        // A client that never sends CRLF must not make the parser buffer without bound.
        var parser = HTTPRequestParser(limits: smallLimits())
        parser.append(Array(("GET /" + String(repeating: "a", count: 70)).utf8))
        #expect(throws: HTTPError.self) { try parser.next() }
        var p2 = HTTPRequestParser(limits: smallLimits())
        p2.append(Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 300)).utf8))
        do {
            _ = try p2.next()
            Issue.record("expected 431")
        } catch let error as HTTPError {
            #expect(error.status.code == 431)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func staysFailedAfterAnError() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\r\nHost : x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(throws: HTTPError.self) { try parser.next() }
        #expect(throws: HTTPError.self) { try parser.next() }
    }

    @Test func oneByteAtATimeLargeHeaderIsLinear() throws {
        // 8 KiB of headers fed byte by byte: quadratic rescanning would take seconds here.
        var raw = "GET / HTTP/1.1\r\nHost: x\r\n"
        for i in 0 ..< 90 { raw += "X-\(i): " + String(repeating: "v", count: 80) + "\r\n" }
        raw += "\r\n"
        var limits = HTTPLimits()
        limits.maxHeaderBytes = 64 * 1024
        let start = ContinuousClock.now
        let result = parseIncrementally(Array(raw.utf8), step: 1, limits: limits)
        #expect((try? result.get())?.first?.headers.count == 91)
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
