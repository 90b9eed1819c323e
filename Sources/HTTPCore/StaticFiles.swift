#if canImport(Glibc)
import Glibc
#endif

/// Serves files under one directory with content types, `ETag` and `If-None-Match` → 304.
///
/// Paths are confined to the root: `..` segments (also when percent-encoded), dot-files and
/// symlinks resolving outside the root all answer 404, as do missing files, so nothing
/// reveals what exists outside. Files are read on the event loop, so keep them small.
public struct StaticFiles: Sendable {
    /// The root directory, with symlinks resolved.
    public let root: String
    /// Largest file served; bigger ones answer 404 rather than stall the event loop.
    public var maxFileBytes: Int = 16 * 1024 * 1024

    /// Serves `directory`; throws when it does not exist or is not a directory.
    public init(directory: String) throws {
        guard let resolved = Self.realPath(directory), Self.isDirectory(resolved) else {
            throw HTTPError(.internalServerError, code: "bad_static_root", message: "not a directory: \(directory)")
        }
        root = resolved
    }

    /// The response for a path relative to the root (already percent-decoded, `/`-separated).
    public func response(for relativePath: String, request: HTTPRequest) throws -> HTTPResponse {
        var parts: [Substring] = []
        for part in relativePath.split(separator: "/", omittingEmptySubsequences: true) {
            // ".." would climb out; dot-files (".env", ".git") are never meant to be served.
            guard !part.hasPrefix("."), !part.utf8.contains(0), !part.contains("\\") else { throw HTTPError.notFound() }
            parts.append(part)
        }
        var candidate = root + (parts.isEmpty ? "" : "/" + parts.joined(separator: "/"))
        guard var resolved = Self.realPath(candidate), isInsideRoot(resolved) else { throw HTTPError.notFound() }
        if Self.isDirectory(resolved) {
            candidate = resolved + "/index.html"
            guard let index = Self.realPath(candidate), isInsideRoot(index) else { throw HTTPError.notFound() }
            resolved = index
        }
        let fd = open(resolved, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HTTPError.notFound() }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= maxFileBytes else {
            throw HTTPError.notFound()
        }
        let etag = "\"\(String(UInt64(st.st_size), radix: 16))-\(String(UInt64(st.st_mtim.tv_sec), radix: 16))"
            + "\(String(UInt64(st.st_mtim.tv_nsec), radix: 16))\""
        var headers: HTTPHeaders = ["ETag": etag, "Content-Type": Self.contentType(for: resolved)]
        if let inm = request.headers["If-None-Match"], Self.matches(inm, etag: etag) {
            // RFC 9110 §13.1.2: If-None-Match uses weak comparison; a match on GET/HEAD is 304.
            headers.remove("Content-Type")
            return HTTPResponse(status: .notModified, headers: headers)
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        return HTTPResponse(status: .ok, headers: headers, body: .bytes(bytes))
    }

    /// A handler for a route ending in `*path`, e.g. `router.get("/ui/*path", files.handler)`.
    public var handler: SyncHandler {
        { request, context in try self.response(for: context.parameters["path"] ?? "", request: request) }
    }

    func isInsideRoot(_ path: String) -> Bool {
        path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    static func matches(_ header: String, etag: String) -> Bool {
        let ours = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for item in header.split(separator: ",") {
            let t = item.trimmingSpacesAndTabs()
            if t == "*" { return true }
            let theirs = t.hasPrefix("W/") ? String(t.dropFirst(2)) : t
            if theirs == ours { return true }
        }
        return false
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static let types: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "json": "application/json",
        "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "csv": "text/csv; charset=utf-8", "xml": "application/xml", "svg": "image/svg+xml",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
        "webp": "image/webp", "ico": "image/x-icon", "wasm": "application/wasm",
        "map": "application/json", "pdf": "application/pdf", "woff": "font/woff", "woff2": "font/woff2",
        "safetensors": "application/octet-stream",
    ]

    /// The media type for a file name's extension; `application/octet-stream` when unknown.
    public static func contentType(for path: String) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "application/octet-stream" }
        return types[path[path.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}

extension Router {
    /// Serves `files` under `prefix`, e.g. `serveFiles("/ui", files)` maps `/ui/app.js`.
    public mutating func serveFiles(_ prefix: String, _ files: StaticFiles) {
        let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        get(base + "/*path", files.handler)
    }
}
