import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven over the DevTools protocol on a pipe pair (`--remote-debugging-pipe`):
/// commands go to the browser's fd 3, replies and events come from its fd 4, each message a JSON
/// text terminated by a NUL byte.
final class Chromium: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`; the reader thread only appends under it.
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// An error the page reported: an uncaught exception, `console.error`, or a browser log entry.
    struct PageError: CustomStringConvertible {
        let kind: String
        let source: String
        let text: String
        let url: String
        var description: String { "\(kind)/\(source): \(text) \(url)" }
    }

    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private let profile: URL
    private let lock = NSLock()
    private var nextID = 1
    private var replies: [Int: [String: Any]] = [:]
    private var errors: [PageError] = []
    private var readerDone = false
    private(set) var session = ""

    /// The browser's path: `chromium` (Debian) or `chromium-browser` on the PATH.
    static func executable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser"] {
            for dir in path.split(separator: ":") {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    static let missingMessage = "headless Chromium is needed for the dashboard tests: install it with "
        + "`sudo apt-get install -y chromium` (`./dev test` installs it when missing)"

    /// Starts the browser and opens one page of `width`×`height` CSS pixels, attached in flat mode.
    init(width: Int = 1280, height: Int = 800) throws {
        guard let binary = Self.executable() else { throw Failure(description: Self.missingMessage) }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("amago-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        var commands: [Int32] = [0, 0]
        var messages: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&messages) == 0 else { throw Failure(description: "pipe failed: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, messages[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [binary, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                         "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--allow-file-access-from-files", "--hide-scrollbars", "--mute-audio",
                         "--window-size=\(width),\(height)", "--user-data-dir=\(profile.path)", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, binary, &actions, nil, &argv, environ)
        Glibc.close(commands[0])
        Glibc.close(messages[1])
        guard spawned == 0 else {
            Glibc.close(commands[1]); Glibc.close(messages[0])
            throw Failure(description: "could not start \(binary): error \(spawned)")
        }
        pid = child
        toBrowser = commands[1]
        fromBrowser = messages[0]
        let reader = Thread { [unowned self] in self.readLoop() }
        reader.start()
        let created = try command("Target.createTarget", ["url": "about:blank"], session: nil)
        guard let target = created["targetId"] as? String else { throw Failure(description: "no target: \(created)") }
        let attached = try command("Target.attachToTarget", ["targetId": target, "flatten": true], session: nil)
        guard let id = attached["sessionId"] as? String else { throw Failure(description: "no session: \(attached)") }
        session = id
        for method in ["Runtime.enable", "Log.enable", "Page.enable"] { _ = try command(method) }
        _ = try command("Emulation.setDeviceMetricsOverride",
                        ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    /// Ends the browser and removes its profile folder.
    func close() {
        Glibc.close(toBrowser)
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            usleep(20_000)
        }
        Glibc.close(fromBrowser)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends a command (to the page unless `session` is nil) and waits for its reply.
    @discardableResult
    func command(_ method: String, _ params: [String: Any] = [:], session: String? = "",
                 timeout: TimeInterval = 30) throws -> [String: Any] {
        lock.lock()
        let id = nextID
        nextID += 1
        lock.unlock()
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session.isEmpty ? self.session : session }
        var bytes = Array(try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "write to the browser failed: errno \(errno)") }
            sent += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            lock.lock()
            let reply = replies.removeValue(forKey: id)
            let done = readerDone
            lock.unlock()
            if let reply {
                if let error = reply["error"] as? [String: Any] { throw Failure(description: "\(method): \(error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
            if done { throw Failure(description: "the browser exited during \(method)") }
            if Date() > deadline { throw Failure(description: "\(method) timed out") }
            usleep(2_000)
        }
    }

    /// Evaluates a JavaScript expression in the page (promises awaited) and returns its value.
    @discardableResult
    func evaluate(_ expression: String) throws -> Any? {
        let result = try command("Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true])
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let text = ((exception["exception"] as? [String: Any])?["description"] as? String) ?? "\(exception)"
            throw Failure(description: "evaluating `\(expression.prefix(80))`: \(text)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` until it is truthy; returns its value or throws after `timeout`.
    @discardableResult
    func waitFor(_ expression: String, timeout: TimeInterval = 20, what: String) throws -> Any {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = try evaluate(expression), Self.truthy(value) { return value }
            usleep(50_000)
        }
        throw Failure(description: "timed out after \(Int(timeout)) s waiting for \(what)")
    }

    static func truthy(_ value: Any) -> Bool {
        switch value {
        case let b as Bool: return b
        case let n as NSNumber: return n.doubleValue != 0
        case let s as String: return !s.isEmpty
        case is NSNull: return false
        default: return true
        }
    }

    /// Loads `url` and waits for the document to finish loading.
    func navigate(_ url: String) throws {
        _ = try command("Page.navigate", ["url": url])
        try waitFor("document.readyState === 'complete' && location.href !== 'about:blank'", what: "\(url) to load")
    }

    /// Writes a PNG of the viewport to `file`.
    func screenshot(to file: URL) throws {
        let shot = try command("Page.captureScreenshot", ["format": "png"])
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot data")
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    /// Every error the page reported so far.
    var pageErrors: [PageError] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }

    private func readLoop() {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fromBrowser, &chunk, chunk.count)
            if n <= 0 { break }
            buffer += chunk[..<n]
            while let end = buffer.firstIndex(of: 0) {
                let message = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                if let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any] { dispatch(object) }
            }
        }
        lock.lock()
        readerDone = true
        lock.unlock()
    }

    private func dispatch(_ message: [String: Any]) {
        if let id = message["id"] as? Int {
            lock.lock()
            replies[id] = message
            lock.unlock()
            return
        }
        guard let method = message["method"] as? String, let params = message["params"] as? [String: Any] else { return }
        var error: PageError?
        switch method {
        case "Runtime.exceptionThrown":
            let details = params["exceptionDetails"] as? [String: Any] ?? [:]
            let description = ((details["exception"] as? [String: Any])?["description"] as? String) ?? (details["text"] as? String ?? "")
            error = PageError(kind: "exception", source: "javascript", text: description, url: details["url"] as? String ?? "")
        case "Runtime.consoleAPICalled" where params["type"] as? String == "error":
            let args = (params["args"] as? [[String: Any]] ?? []).map { ($0["value"] as? String) ?? ($0["description"] as? String) ?? "" }
            error = PageError(kind: "console.error", source: "console", text: args.joined(separator: " "), url: "")
        case "Log.entryAdded":
            let entry = params["entry"] as? [String: Any] ?? [:]
            if entry["level"] as? String == "error" {
                error = PageError(kind: "log", source: entry["source"] as? String ?? "", text: entry["text"] as? String ?? "",
                                  url: entry["url"] as? String ?? "")
            }
        default: break
        }
        if let error {
            lock.lock()
            errors.append(error)
            lock.unlock()
        }
    }
}
