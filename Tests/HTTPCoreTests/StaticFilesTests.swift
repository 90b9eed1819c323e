import Foundation
import HTTPCore
import Testing

@Suite("Static files")
struct StaticFilesTests {
    /// root/{index.html, app.js, style.css, data.bin, .secret, sub/page.html, escape -> ../outside}
    func makeTree() throws -> (root: String, base: String) {
        let base = NSTemporaryDirectory() + "httpcore-static-\(UUID().uuidString)"
        let root = base + "/root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try "<h1>home</h1>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try "console.log(1)".write(toFile: root + "/app.js", atomically: true, encoding: .utf8)
        try "body{}".write(toFile: root + "/style.css", atomically: true, encoding: .utf8)
        try Data([0, 1, 2]).write(to: URL(fileURLWithPath: root + "/data.bin"))
        try "hidden".write(toFile: root + "/.secret", atomically: true, encoding: .utf8)
        try "page".write(toFile: root + "/sub/page.html", atomically: true, encoding: .utf8)
        try "outside".write(toFile: base + "/outside.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/escape", withDestinationPath: base)
        try fm.createSymbolicLink(atPath: root + "/inner.js", withDestinationPath: root + "/app.js")
        return (root, base)
    }

    @Test func servesWithTypesETagsAnd304() async throws {
        let (root, base) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        var router = Router()
        router.serveFiles("/ui", try StaticFiles(directory: root))
        try await withServer(router) { server in
            let port = server.port
            try await blocking {
                let c = try TestClient(port: port)
                let index = try c.request("GET", "/ui/")
                #expect(index.status == 200)
                #expect(index.text == "<h1>home</h1>")
                #expect(index.header("Content-Type") == "text/html; charset=utf-8")
                let js = try c.request("GET", "/ui/app.js")
                #expect(js.header("Content-Type") == "text/javascript; charset=utf-8")
                #expect(try c.request("GET", "/ui/style.css").header("Content-Type") == "text/css; charset=utf-8")
                #expect(try c.request("GET", "/ui/data.bin").body == [0, 1, 2])
                #expect(try c.request("GET", "/ui/sub/page.html").text == "page")
                #expect(try c.request("GET", "/ui/inner.js").text == "console.log(1)")
                let etag = try #require(js.header("ETag"))
                let cached = try c.request("GET", "/ui/app.js", headers: ["If-None-Match: \"nope\", W/\(etag)"])
                #expect(cached.status == 304)
                #expect(cached.header("ETag") == etag)
                #expect(try c.request("GET", "/ui/app.js", headers: ["If-None-Match: \"other\""]).status == 200)
            }
        }
    }

    @Test("path traversal is refused", arguments: [
        "/ui/../outside.txt", "/ui/%2e%2e/outside.txt", "/ui/%2E%2E%2Foutside.txt", "/ui/sub/..%2f..%2foutside.txt",
        "/ui/escape/outside.txt", "/ui/.secret", "/ui/missing.txt", "/ui/sub/%00", "/ui/..%5coutside.txt",
    ])
    func refusesTraversal(_ target: String) async throws {
        let (root, base) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        var router = Router()
        router.serveFiles("/ui", try StaticFiles(directory: root))
        try await withServer(router) { server in
            let port = server.port
            let r = try await blocking { try TestClient(port: port).request("GET", target) }
            #expect(r.status == 404 || r.status == 400)
            #expect(!r.text.contains("outside"))
        }
    }

    @Test func contentTypes() {
        #expect(StaticFiles.contentType(for: "a/b.JSON") == "application/json")
        #expect(StaticFiles.contentType(for: "x.svg") == "image/svg+xml")
        #expect(StaticFiles.contentType(for: "dir.d/noext") == "application/octet-stream")
        #expect(throws: HTTPError.self) { try StaticFiles(directory: "/definitely/not/here") }
    }
}
