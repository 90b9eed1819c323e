import Foundation
import HTTPCore
import Storage
#if canImport(Glibc)
import Glibc
#endif

extension API {
    /// `GET /metrics`: request counters and latencies, queue and experiment gauges, open `/act`
    /// sessions, training throughput and process figures, in the Prometheus text format.
    func prometheusMetrics() throws -> HTTPResponse {
        var out = PrometheusText()
        let counts = try store.experimentCounts()
        out.gauge("amago_jobs_queued", "Experiments waiting in the queue.", Double(counts[.queued] ?? 0))
        out.gauge("amago_jobs_running", "Experiments on a worker (status running or stopping).",
                  Double((counts[.running] ?? 0) + (counts[.stopping] ?? 0)))
        out.header("amago_experiments", "Experiments by status.", "gauge")
        for status in ExperimentStatus.allCases {
            out.sample("amago_experiments", ["status": status.rawValue], Double(counts[status] ?? 0))
        }
        out.gauge("amago_act_sessions", "Open /act sessions held in memory.", Double(policies.openCount))
        let collecting = collections.statuses
        out.gauge("amago_collection_sessions", "Live collection sessions of the running external experiments.",
                  Double(collecting.reduce(0) { $0 + $1.sessions }))
        out.gauge("amago_collected_steps_per_second",
                  "Env steps per second collected over HTTP, summed over running external experiments (last 10 s).",
                  collecting.reduce(0) { $0 + $1.stepsPerSecond })
        out.gauge("amago_train_steps_per_second",
                  "Gradient steps per second summed over running experiments: each one's latest "
                      + "perf/updates_per_second (measured over its last training phase).",
                  try trainingThroughput())
        out.gauge("amago_process_resident_memory_bytes", "Resident set size of this process.",
                  Self.residentMemoryBytes())
        out.gauge("amago_uptime_seconds", "Seconds since the service started.", Date().timeIntervalSince(startedAt))
        var response = HTTPResponse.text(requestMetrics.snapshot().prometheusText + out.text)
        response.headers.set("Content-Type", PrometheusText.contentType)
        return response
    }

    /// The latest `perf/updates_per_second` of every running experiment, summed.
    func trainingThroughput() throws -> Double {
        let running = try store.listExperiments(status: .running, limit: 1000).experiments
        var total = 0.0
        for experiment in running {
            // An experiment deleted since the listing simply contributes nothing.
            let latest = (try? store.latestMetrics(experimentID: experiment.id)) ?? []
            if let rate = latest.first(where: { $0.key == "perf/updates_per_second" })?.value, rate.isFinite {
                total += rate
            }
        }
        return total
    }

    /// The resident set size from `/proc/self/statm` (its second field, in pages); 0 if unreadable.
    static func residentMemoryBytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}
