import ArgumentParser
import Foundation
import HTTPCore

/// `amago bench http`: loopback `GET /healthz` throughput and latency with wrk, beside nginx.
struct BenchHTTP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "HTTP server requests/s and mean latency under wrk (1 and 64 keep-alive connections), beside nginx when installed.")

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Seconds per measured wrk run.") var duration: Int = 5
    @Option(help: "Event-loop threads for the server (default: one per core).") var threads: Int?
    @Option(help: "The wrk executable.") var wrk: String = "/usr/bin/wrk"
    @Option(help: "The nginx executable; skipped when absent.") var nginx: String = "/usr/sbin/nginx"
    @Option(help: "Only serve GET /healthz on this loopback port for this many seconds (for manual load tests).")
    var serveFor: Int?
    @Option(help: "The port for --serve-for.") var port: Int = 8088

    struct Load {
        var requestsPerSecond: Double
        var meanLatencyMicros: Double
        var errors: Int
        var p50Micros: Int = 0
        var p99Micros: Int = 0
        var maxMicros: Int = 0
    }

    func run() throws {
        if let seconds = serveFor {
            var router = Router()
            router.get("/healthz") { _, _ in .text("ok") }
            let server = HTTPServer(configuration: ServerConfiguration(host: "127.0.0.1", port: port, eventLoopThreads: threads),
                                    router: router)
            try server.start()
            print("serving http://127.0.0.1:\(server.port)/healthz for \(seconds)s")
            sleep(UInt32(seconds))
            server.shutdownAndWait(gracePeriod: .seconds(1))
            return
        }
        guard FileManager.default.isExecutableFile(atPath: wrk) else {
            throw ValidationError("wrk not found at \(wrk) (apt-get install wrk)")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("amago-bench-http-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let script = scratch.appendingPathComponent("report.lua").path
        // wrk's done() hook reports exact totals, so nothing depends on its table format.
        try """
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("WRKJSON %d %d %.3f %d %d %d %d\\n", summary.requests, summary.duration,
            latency.mean, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99), latency.max))
        end
        """.write(toFile: script, atomically: true, encoding: .utf8)

        var router = Router()
        router.get("/healthz") { _, _ in .text("ok") }
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoopThreads: threads)
        config.limits.idleTimeout = .seconds(120)
        let server = HTTPServer(configuration: config, router: router)
        try server.start()
        let url = "http://127.0.0.1:\(server.port)/healthz"
        _ = try load(url, connections: 64, seconds: 1, script: script)
        let ours1 = try load(url, connections: 1, seconds: duration, script: script)
        let ours64 = try load(url, connections: 64, seconds: duration, script: script)
        server.shutdownAndWait(gracePeriod: .seconds(2))

        var theirs: (Load, Load)?
        if FileManager.default.isExecutableFile(atPath: nginx) {
            let proc = try startNginx(in: scratch)
            defer { stopProcess(proc.process) }
            let nurl = "http://127.0.0.1:\(proc.port)/healthz"
            _ = try load(nurl, connections: 64, seconds: 1, script: script)
            theirs = (try load(nurl, connections: 1, seconds: duration, script: script),
                      try load(nurl, connections: 64, seconds: duration, script: script))
        }
        report(ours1, ours64, theirs, loops: config.eventLoopThreads)
    }

    func report(_ o1: Load, _ o64: Load, _ theirs: (Load, Load)?, loops: Int) {
        if json {
            var fields: [(String, String)] = [
                ("duration_s", "\(duration)"), ("event_loop_threads", "\(loops)"),
                ("rps_1", fmt(o1.requestsPerSecond)), ("latency_us_1", fmt(o1.meanLatencyMicros)),
                ("latency_p99_us_1", "\(o1.p99Micros)"),
                ("rps_64", fmt(o64.requestsPerSecond)), ("latency_us_64", fmt(o64.meanLatencyMicros)),
                ("latency_p99_us_64", "\(o64.p99Micros)"),
                ("errors", "\(o1.errors + o64.errors)"),
            ]
            if let (n1, n64) = theirs {
                fields += [
                    ("nginx_rps_1", fmt(n1.requestsPerSecond)), ("nginx_latency_us_1", fmt(n1.meanLatencyMicros)),
                    ("nginx_rps_64", fmt(n64.requestsPerSecond)), ("nginx_latency_us_64", fmt(n64.meanLatencyMicros)),
                    ("rps_64_ratio", fmt(o64.requestsPerSecond / n64.requestsPerSecond)),
                    ("latency_1_ratio", fmt(o1.meanLatencyMicros / n1.meanLatencyMicros)),
                ]
            }
            print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
            return
        }
        print("GET /healthz on loopback, wrk \(duration)s per run, \(loops) event-loop thread(s)")
        print(pad("server", 8) + pad("conns", 7) + pad("req/s", 10) + pad("mean", 12) + pad("p50", 10)
              + pad("p99", 10) + pad("max", 12) + "errors")
        func row(_ name: String, _ c: Int, _ l: Load) {
            print(pad(name, 8) + pad("\(c)", 7) + pad(fmt(l.requestsPerSecond, 0), 10)
                  + pad(fmt(l.meanLatencyMicros, 1) + " us", 12) + pad("\(l.p50Micros) us", 10)
                  + pad("\(l.p99Micros) us", 10) + pad("\(l.maxMicros) us", 12) + "\(l.errors)")
        }
        row("amago", 1, o1)
        row("amago", 64, o64)
        if let (n1, n64) = theirs {
            row("nginx", 1, n1)
            row("nginx", 64, n64)
            print("amago/nginx: req/s at 64 conns \(fmt(o64.requestsPerSecond / n64.requestsPerSecond, 2))x, "
                  + "mean latency at 1 conn \(fmt(o1.meanLatencyMicros / n1.meanLatencyMicros, 2))x")
        } else {
            print("nginx not found at \(nginx); no comparison")
        }
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    func fmt(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

    /// Runs wrk against `url` and reads the totals its done() hook prints.
    func load(_ url: String, connections: Int, seconds: Int, script: String) throws -> Load {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrk)
        p.arguments = ["-t", connections == 1 ? "1" : "2", "-c", "\(connections)", "-d", "\(seconds)s", "-s", script, url]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("WRKJSON ") }) else {
            throw ValidationError("wrk produced no report: \(text)")
        }
        let f = line.split(separator: " ")
        let requests = Double(f[1]) ?? 0, micros = Double(f[2]) ?? 1
        return Load(requestsPerSecond: requests / (micros / 1e6), meanLatencyMicros: Double(f[3]) ?? 0,
                    errors: Int(f[4]) ?? 0, p50Micros: f.count > 5 ? Int(f[5]) ?? 0 : 0,
                    p99Micros: f.count > 6 ? Int(f[6]) ?? 0 : 0, maxMicros: f.count > 7 ? Int(f[7]) ?? 0 : 0)
    }

    /// Starts nginx in the foreground on a free loopback port with a throwaway prefix directory.
    func startNginx(in scratch: URL) throws -> (process: Process, port: Int) {
        let prefix = scratch.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let port = try freePort()
        let conf = prefix.appendingPathComponent("nginx.conf").path
        try """
        worker_processes auto;
        daemon off;
        pid \(prefix.path)/nginx.pid;
        error_log \(prefix.path)/logs/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            keepalive_requests 10000000;
            server {
                listen 127.0.0.1:\(port);
                location /healthz { return 200 "ok"; }
            }
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nginx)
        p.arguments = ["-p", prefix.path, "-c", conf, "-e", prefix.path + "/logs/error.log"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if canConnect(port) { return (p, port) }
            if !p.isRunning { break }
            usleep(20_000)
        }
        stopProcess(p)
        throw ValidationError("nginx did not start; see \(prefix.path)/logs/error.log")
    }

    func stopProcess(_ p: Process) {
        guard p.isRunning else { return }
        p.terminate()
        let deadline = Date().addingTimeInterval(3)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw ValidationError("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
