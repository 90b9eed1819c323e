import Foundation
import HTTPCore

/// Counts requests by method, route pattern and status, and times them per route; renders
/// both in the Prometheus text format.
///
/// Labels come from the matched route pattern (`/experiments/:id`, or `unmatched`) and a fixed
/// set of methods, never from the raw path, so the number of series stays bounded.
public final class RequestMetrics: Middleware, @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.
    /// Upper bounds of the duration histogram's buckets, in seconds (`+Inf` is implied).
    public static let bucketBounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    struct Key: Hashable, Comparable {
        let method: String, route: String, status: Int
        static func < (a: Key, b: Key) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    struct Histogram {
        var buckets = [Int](repeating: 0, count: RequestMetrics.bucketBounds.count)
        var sum = 0.0
        var count = 0
    }

    private let lock = NSLock()
    private var requests: [Key: Int] = [:]
    private var durations: [String: Histogram] = [:]

    /// Creates empty counters.
    public init() {}

    /// Records the request once its response is produced (for a stream: when it starts).
    public func didHandle(_ request: HTTPRequest, context: RequestContext, response: inout HTTPResponse) {
        let seconds = Double(monotonicNow() &- context.startNanos) / 1e9
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let route = context.route ?? "unmatched"
        lock.withLock {
            requests[Key(method: method, route: route, status: response.status.code), default: 0] += 1
            var h = durations[route] ?? Histogram()
            // Each observation lands in its smallest bucket; rendering accumulates.
            if let i = Self.bucketBounds.firstIndex(where: { seconds <= $0 }) { h.buckets[i] += 1 }
            h.sum += seconds
            h.count += 1
            durations[route] = h
        }
    }

    /// The counter and histogram in the Prometheus text exposition format.
    public func render() -> String {
        let (counts, histograms) = lock.withLock { (requests, durations) }
        var out = PrometheusText()
        out.header("amago_http_requests_total", "HTTP requests answered, by method, route pattern and status.", "counter")
        for key in counts.keys.sorted() {
            out.sample("amago_http_requests_total",
                       ["method": key.method, "route": key.route, "status": String(key.status)], Double(counts[key] ?? 0))
        }
        out.header("amago_http_request_duration_seconds",
                   "Time from a complete request to its response (for streams: to the stream's start), by route pattern.",
                   "histogram")
        for route in histograms.keys.sorted() {
            guard let h = histograms[route] else { continue }
            var cumulative = 0
            for (i, bound) in Self.bucketBounds.enumerated() {
                cumulative += h.buckets[i]
                out.sample("amago_http_request_duration_seconds_bucket", ["route": route, "le": PrometheusText.format(bound)],
                           Double(cumulative))
            }
            out.sample("amago_http_request_duration_seconds_bucket", ["route": route, "le": "+Inf"], Double(h.count))
            out.sample("amago_http_request_duration_seconds_sum", ["route": route], h.sum)
            out.sample("amago_http_request_duration_seconds_count", ["route": route], Double(h.count))
        }
        return out.text
    }
}

/// Builds Prometheus text exposition (format 0.0.4): `# HELP`, `# TYPE` and sample lines.
struct PrometheusText {
    /// The `Content-Type` of the format.
    static let contentType = "text/plain; version=0.0.4"

    private(set) var text = ""

    /// The HELP and TYPE lines of a metric family.
    mutating func header(_ name: String, _ help: String, _ type: String) {
        text += "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
        text += "# TYPE \(name) \(type)\n"
    }

    /// One sample line; labels are sorted by name and their values escaped.
    mutating func sample(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.keys.sorted().map { "\($0)=\"\(Self.escape(labels[$0] ?? ""))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// A family with one unlabelled sample.
    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        header(name, help, "gauge")
        sample(name, [:], value)
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Integers without a fraction, `NaN` and `±Inf` as Prometheus spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
