import Foundation
import HTTPCore

extension MetricsMiddleware.Snapshot {
    /// The request counter and the duration histograms in the Prometheus text format.
    var prometheusText: String {
        var out = PrometheusText()
        out.header("amago_http_requests_total", "HTTP requests answered, by method, route pattern and status.", "counter")
        for key in byKey.keys.sorted() {
            out.sample("amago_http_requests_total",
                       ["method": key.method, "route": key.route, "status": String(key.status)], Double(byKey[key] ?? 0))
        }
        out.header("amago_http_request_duration_seconds",
                   "Time from a complete request to its response (for streams: to the stream's start), by route pattern.",
                   "histogram")
        for route in durations.keys.sorted() {
            guard let h = durations[route] else { continue }
            var cumulative = 0
            for (i, bound) in MetricsMiddleware.bucketBounds.enumerated() {
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
