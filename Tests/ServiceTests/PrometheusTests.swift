import Foundation
import Service
import Storage
import Testing

@Suite("GET /metrics", .serialized)
struct PrometheusTests {
    /// One scrape: sample values by series (`name{label="v",…}` with labels sorted), families' HELP and TYPE.
    struct Scrape {
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        var helped: Set<String> = []
        var text = ""

        init(_ reply: String) throws {
            let body = try #require(reply.range(of: "\r\n\r\n")).upperBound
            text = String(reply[body...])
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# HELP ") { helped.insert(String(line.split(separator: " ")[2])); continue }
                if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    types[String(parts[2])] = String(parts[3])
                    continue
                }
                let space = try #require(line.lastIndex(of: " "))
                samples[String(line[..<space])] = Double(line[line.index(after: space)...]) ?? (line.hasSuffix("+Inf") ? .infinity : .nan)
            }
        }

        func value(_ series: String) -> Double { samples[series] ?? 0 }

        /// The bucket counts of a route's duration histogram, by `le`, in bound order.
        func buckets(route: String) -> [(Double, Double)] {
            samples.compactMap { key, value -> (Double, Double)? in
                let prefix = "amago_http_request_duration_seconds_bucket{le=\""
                guard key.hasPrefix(prefix), key.hasSuffix("\",route=\"\(route)\"}") else { return nil }
                let le = key.dropFirst(prefix.count).prefix { $0 != "\"" }
                return (le == "+Inf" ? .infinity : Double(le) ?? .nan, value)
            }.sorted { $0.0 < $1.0 }
        }

        /// requests_total summed over a route's methods and statuses.
        func requests(route: String) -> Double {
            samples.filter { $0.key.hasPrefix("amago_http_requests_total{") && $0.key.contains("route=\"\(route)\"") }
                .values.reduce(0, +)
        }
    }

    static func requests(_ method: String, route: String, status: Int) -> String {
        "amago_http_requests_total{method=\"\(method)\",route=\"\(route)\",status=\"\(status)\"}"
    }

    @Test func countsByRoutePattern_histogramsAreCumulative_andGaugesReadTheState() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let port = live.port
        for _ in 0 ..< 3 { _ = try LoopbackClient.request(port: port, "GET", "/healthz") }
        #expect(try LoopbackClient.request(port: port, "GET", "/experiments/secret-id-1").hasPrefix("HTTP/1.1 404"))
        #expect(try LoopbackClient.request(port: port, "GET", "/no/such/path").hasPrefix("HTTP/1.1 404"))
        #expect(try LoopbackClient.request(port: port, "POST", "/experiments", body: "{").hasPrefix("HTTP/1.1 400"))
        // Two running experiments with a training rate, one queued one whose rate must not count.
        for (rate, running) in [(12.5, true), (7.5, true), (100, false)] {
            let id = try live.makeExperiment()
            if running { try live.store.transition(id: id, to: .running, reason: "test") }
            try live.record([("perf/updates_per_second", rate)], experimentID: id)
        }

        let reply = try LoopbackClient.request(port: port, "GET", "/metrics")
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.contains("\r\nContent-Type: text/plain; version=0.0.4\r\n"))
        let first = try Scrape(reply)
        #expect(first.value(Self.requests("GET", route: "/healthz", status: 200)) == 3)
        #expect(first.value(Self.requests("GET", route: "/experiments/:id", status: 404)) == 1)
        #expect(first.value(Self.requests("GET", route: "unmatched", status: 404)) == 1)
        #expect(first.value(Self.requests("POST", route: "/experiments", status: 400)) == 1)
        #expect(!first.text.contains("secret-id-1") && !first.text.contains("/no/such"))
        for route in ["/healthz", "/experiments/:id", "unmatched", "/experiments"] {
            let buckets = first.buckets(route: route)
            #expect(buckets.count == 13)
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.1 <= $1.1 }, "cumulative buckets for \(route)")
            #expect(buckets.last?.0 == .infinity)
            let count = first.value("amago_http_request_duration_seconds_count{route=\"\(route)\"}")
            #expect(buckets.last?.1 == count)
            #expect(count == first.requests(route: route))
            #expect(first.value("amago_http_request_duration_seconds_sum{route=\"\(route)\"}") >= 0)
        }
        #expect(first.value("amago_jobs_queued") == 1)
        #expect(first.value("amago_jobs_running") == 2)
        #expect(first.value("amago_experiments{status=\"queued\"}") == 1)
        #expect(first.value("amago_experiments{status=\"running\"}") == 2)
        #expect(first.samples["amago_experiments{status=\"cancelled\"}"] == 0)
        #expect(first.value("amago_train_steps_per_second") == 20)
        #expect(first.samples["amago_act_sessions"] == 0)
        #expect(first.value("amago_process_resident_memory_bytes") > 1_000_000)
        #expect(first.samples["amago_uptime_seconds"].map { $0 >= 0 } == true)
        let families = ["amago_http_requests_total": "counter", "amago_http_request_duration_seconds": "histogram",
                        "amago_jobs_queued": "gauge", "amago_jobs_running": "gauge", "amago_experiments": "gauge",
                        "amago_act_sessions": "gauge", "amago_train_steps_per_second": "gauge",
                        "amago_process_resident_memory_bytes": "gauge", "amago_uptime_seconds": "gauge"]
        for (name, type) in families {
            #expect(first.types[name] == type, "TYPE of \(name)")
            #expect(first.helped.contains(name), "HELP of \(name)")
        }

        for _ in 0 ..< 2 { _ = try LoopbackClient.request(port: port, "GET", "/healthz") }
        let second = try Scrape(try LoopbackClient.request(port: port, "GET", "/metrics"))
        #expect(second.value(Self.requests("GET", route: "/healthz", status: 200)) == 5)
        #expect(second.value(Self.requests("GET", route: "/metrics", status: 200)) == 1)
        #expect(second.value("amago_http_request_duration_seconds_count{route=\"/healthz\"}") == 5)
        #expect(second.buckets(route: "/healthz").last?.1 == 5)
    }
}
