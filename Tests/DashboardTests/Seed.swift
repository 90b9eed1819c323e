import AMAGO
import Foundation
import Service
import Storage

/// Finished experiments with plausible curves, written straight into the database.
enum Seed {
    /// The repository's `Public/` folder (the dashboard).
    static let publicDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Public")

    /// Where the screenshots go: `$AMAGO_SCREENSHOTS` or `.build/dashboard-screenshots` in the repository.
    static var screenshotDirectory: URL {
        if let custom = ProcessInfo.processInfo.environment["AMAGO_SCREENSHOTS"], !custom.isEmpty {
            return URL(fileURLWithPath: custom)
        }
        return publicDirectory.deletingLastPathComponent().appendingPathComponent(".build/dashboard-screenshots")
    }

    /// A service on a free loopback port over a fresh data folder, serving the dashboard.
    static func host(workers: Int = 1) throws -> (ServiceHost, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-dashboard-\(UUID().uuidString)")
        let options = ServiceOptions(port: 0, dataDirectory: folder, workers: workers, pollInterval: 0.1,
                                     publicDirectory: publicDirectory)
        return (try ServiceHost(options: options), folder)
    }

    /// A deterministic generator for the synthetic curves.
    struct Noise {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
    }

    /// One finished experiment: created `hoursAgo`, moved through running to `status`, with
    /// `epochs` epochs of metrics under `keys` (curves shaped by the key's name), in `group` with `tags`.
    @discardableResult
    static func experiment(_ store: Store, name: String, environment: String, status: ExperimentStatus,
                           epochs: Int, hoursAgo: Double, keys: [String], pointsPerEpoch: Int = 1,
                           seed: UInt64 = 1, group: String? = nil, tags: [String] = []) throws -> String {
        var spec = try ExperimentSpec.recommended(for: environment)
        spec.name = name
        spec.group = group
        spec.tags = tags
        let text = String(decoding: try spec.encoded(), as: UTF8.self)
        let created = Date().addingTimeInterval(-hoursAgo * 3600)
        let id = try store.createExperiment(NewExperiment(name: name, environment: environment, spec: text, epochs: epochs,
                                                          group: group, tags: tags),
                                            now: created).experiment.id
        let started = created.addingTimeInterval(20)
        try store.transition(id: id, to: .running, reason: "claimed by worker-1", now: started)
        let stepsPerEpoch = 1000
        let finishedEpochs = status == .succeeded ? epochs : epochs * 2 / 3
        var noise = Noise(state: seed)
        var batch: [MetricPointRecord] = []
        for epoch in 1...max(finishedEpochs, 1) {
            for j in 0..<pointsPerEpoch {
                let progress = (Double(epoch - 1) + Double(j) / Double(pointsPerEpoch)) / Double(max(epochs, 1))
                let environmentSteps = Int(progress * Double(epochs * stepsPerEpoch)) + stepsPerEpoch / pointsPerEpoch
                for key in keys where j == 0 || key.hasPrefix("train/") {
                    batch.append(MetricPointRecord(key: key, value: curve(key, progress, &noise), environmentSteps: environmentSteps,
                                                     gradientSteps: environmentSteps / 20, epoch: epoch,
                                                     wallTime: progress * 1800))
                }
            }
            if batch.count > 5000 { try store.insertMetrics(batch, experimentID: id); batch.removeAll() }
        }
        try store.insertMetrics(batch, experimentID: id)
        let last = curve("val/return", Double(finishedEpochs) / Double(max(epochs, 1)), &noise)
        try store.updateProgress(id: id, ProgressRecord(
            epoch: finishedEpochs, epochs: epochs, environmentSteps: finishedEpochs * stepsPerEpoch,
            gradientSteps: finishedEpochs * stepsPerEpoch / 20, phase: nil, etaSeconds: nil,
            lastReturn: last, lastSuccessRate: min(1, max(0, last))))
        let finished = started.addingTimeInterval(1800)
        switch status {
        case .succeeded: try store.transition(id: id, to: .succeeded, reason: "all epochs done", now: finished)
        case .failed:
            try store.transition(id: id, to: .failed, reason: "training diverged", errorMessage: "NaN in train/loss at epoch \(finishedEpochs)",
                                 now: finished)
        case .stopped:
            try store.transition(id: id, to: .stopping, reason: "stop requested", now: finished)
            try store.transition(id: id, to: .stopped, reason: "stopped after a final checkpoint", now: finished.addingTimeInterval(2))
        default: break
        }
        return id
    }

    /// A curve per kind of key: returns rise, losses fall, rates hover.
    static func curve(_ key: String, _ t: Double, _ noise: inout Noise) -> Double {
        let n = noise.next()
        if key.hasSuffix("loss") { return 2.5 * exp(-3 * t) + 0.1 + 0.25 * n * exp(-t) }
        if key.hasPrefix("val/") || key.hasSuffix("return") { return 1 / (1 + exp(-10 * (t - 0.4))) + 0.12 * n }
        if key.hasPrefix("perf/") { return 900 + 120 * n }
        if key.hasPrefix("charts/") { return t * 1000 + 20 * n }
        return sin(6 * t) * 0.5 + 0.1 * n
    }
}
