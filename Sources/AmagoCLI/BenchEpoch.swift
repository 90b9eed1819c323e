import AMAGO
import ArgumentParser
import Autograd
import Foundation

/// `amago bench epoch`: the wall time of an epoch whose collection overlaps training, beside the
/// training phase alone (the same spec run with collection after training, nothing beside it).
struct BenchEpoch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "epoch",
        abstract: "An epoch's wall time with collection overlapping training, beside its training phase alone.",
        discussion: """
            Runs the spec (default: tmaze_passive's recommended spec, as examples/tmaze_passive.json) \
            for --epochs epochs twice per round, in turn: overlapped (the next epoch's collection and \
            evaluation run while this epoch trains, as `amago serve` and `amago train` do) and \
            sequential (each epoch collects, then trains with nothing beside it). Each run starts from \
            scratch in a temporary folder with the spec's seed. Epoch 0 is left out of both (it \
            collects before there is anything to overlap, and pays the first allocations). Reported: \
            the median overlapped epoch, the median sequential training phase (batches_per_epoch / \
            perf/updates_per_second) and their ratio, per round, over all rounds, and as the median of \
            the rounds' ratios (each round's two runs are neighbours in time, so that figure is the one \
            least moved by the machine's speed drifting); the goal is an epoch within 1.15× its \
            training phase alone. Many short rounds (--epochs 2 --rounds 16) pair the runs most closely.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "A spec file (default: tmaze_passive's recommended spec).") var spec: String?
    @Option(help: "Epochs per run (at least 2; epoch 0 is not measured).") var epochs = 6
    @Option(help: "Rounds of one overlapped and one sequential run.") var rounds = 1
    @Option(help: "Engine threads (matrix products and parallel kernels; default: all cores).") var threads: Int?

    /// Keeps every point a run records.
    final class Recorder: MetricSink {
        var points: [MetricPoint] = []
        func record(_ points: [MetricPoint]) throws { self.points.append(contentsOf: points) }

        /// Per epoch, the value of `key` (the last one recorded in that epoch).
        func values(_ key: String) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for p in points where p.key == key { out[p.epoch] = p.value }
            return out
        }
    }

    /// One run's per-epoch figures, epoch 0 left out.
    struct RunFigures {
        var epochSeconds: [Double] = []
        var trainSeconds: [Double] = []
        var collectSeconds: [Double] = []
    }

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threadCount >= 1, epochs >= 2, rounds >= 1 else {
            throw ValidationError("--threads must be at least 1, --epochs at least 2 and --rounds at least 1")
        }
        BLAS.setThreadCount(threadCount)
        var base: ExperimentSpec
        if let spec {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: spec)) } catch {
                throw ValidationError("cannot read \(spec): \(error.localizedDescription)")
            }
            do { base = try ExperimentSpec(json: bytes) } catch let error as ExperimentSpecError {
                throw ValidationError("\(spec): \(error.description)\nFix these fields (`amago envs` prints a valid spec for every environment).")
            }
            guard base.environment != "external" else {
                throw ValidationError("\(spec): an external environment is stepped by clients over HTTP; the epoch bench needs a built-in one")
            }
        } else {
            base = try ExperimentSpec.recommended(for: "tmaze_passive")
        }
        base.schedule.epochs = epochs
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-bench-epoch-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }

        var overlapped: [RunFigures] = [], sequential: [RunFigures] = []
        for round in 1...rounds {
            for overlap in [true, false] {
                let label = overlap ? "overlapped" : "sequential"
                let figures = try measure(base, overlap: overlap, folder: folder.appendingPathComponent("\(label)-\(round)")) { epoch in
                    progress("round \(round) of \(rounds), \(label) run: epoch \(epoch + 1) of \(epochs)…")
                }
                if overlap { overlapped.append(figures) } else { sequential.append(figures) }
            }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))

        let allOverlapped = overlapped.flatMap(\.epochSeconds), allTrain = sequential.flatMap(\.trainSeconds)
        let ratio = median(allOverlapped) / max(median(allTrain), 1e-9)
        // Each round's two runs are neighbours in time: the median of their ratios is the figure
        // least moved by the machine's speed drifting between rounds.
        let roundRatios = zip(overlapped, sequential).map { median($0.epochSeconds) / max(median($1.trainSeconds), 1e-9) }
        let pairedRatio = median(roundRatios)
        if json {
            var summary: [String: Double] = [
                "epochs": Double(epochs), "rounds": Double(rounds), "blas_threads": Double(threadCount),
                "overlapped_epoch_seconds": median(allOverlapped), "sequential_train_seconds": median(allTrain),
                "sequential_epoch_seconds": median(sequential.flatMap(\.epochSeconds)),
                "overlapped_train_seconds": median(overlapped.flatMap(\.trainSeconds)),
                "collect_seconds": median(sequential.flatMap(\.collectSeconds)), "epoch_over_train_alone": ratio,
                "epoch_over_train_alone_median_of_rounds": pairedRatio,
            ]
            for (i, pair) in zip(overlapped, sequential).enumerated() {
                summary["epoch_over_train_alone_round_\(i + 1)"] = median(pair.0.epochSeconds) / max(median(pair.1.trainSeconds), 1e-9)
            }
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let s = base.schedule
        print("epoch benchmark: \(base.environment), \(epochs) epochs per run (epoch 0 not measured), \(s.batchesPerEpoch) updates of "
              + "\(s.batchSize) per epoch, \(s.timestepsPerEpoch) timesteps × \(s.parallelActors) actors collected, "
              + "\(threadCount) BLAS thread(s)")
        print("                      overlapped epoch   its training   sequential epoch   training alone   collection   epoch / training alone")
        for (i, pair) in zip(overlapped, sequential).enumerated() {
            let (o, q) = pair
            print(String(format: "round %-3d (medians)   %13.3f s  %11.3f s  %15.3f s  %13.3f s  %9.3f s  %10.3f×", i + 1,
                         median(o.epochSeconds), median(o.trainSeconds), median(q.epochSeconds), median(q.trainSeconds),
                         median(q.collectSeconds), median(o.epochSeconds) / max(median(q.trainSeconds), 1e-9)))
        }
        print(String(format: "all rounds: an overlapped epoch takes %.3f× its training phase alone (medians over all rounds); "
                     + "median of the rounds' ratios %.3f× (goal ≤ 1.15×: %@)", ratio, pairedRatio, pairedRatio <= 1.15 ? "met" : "not met"))
    }

    /// Runs the spec from scratch and reads its per-epoch figures back from what it recorded.
    func measure(_ spec: ExperimentSpec, overlap: Bool, folder: URL, onEpoch: @escaping (Int) -> Void) throws -> RunFigures {
        let recorder = Recorder()
        let experiment = try Experiment(spec: spec, directory: folder, sink: recorder)
        experiment.overlapsCollection = overlap
        experiment.onProgress = { p in onEpoch(p.epoch) }
        _ = try experiment.run()
        let epochSeconds = recorder.values("perf/epoch_seconds"), updates = recorder.values("perf/updates_per_second")
        let collection = recorder.values("perf/steps_per_second")
        let steps = Double(spec.schedule.timestepsPerEpoch * spec.schedule.parallelActors)
        var figures = RunFigures()
        for epoch in 1..<spec.schedule.epochs {
            guard let seconds = epochSeconds[epoch], let rate = updates[epoch], rate > 0 else { continue }
            figures.epochSeconds.append(seconds)
            figures.trainSeconds.append(Double(spec.schedule.batchesPerEpoch) / rate)
            if let collected = collection[epoch], collected > 0 { figures.collectSeconds.append(steps / collected) }
        }
        guard !figures.epochSeconds.isEmpty else {
            throw ValidationError("no epoch after the first trained: raise --epochs above the spec's start_learning_at_epoch")
        }
        return figures
    }

    func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func progress(_ text: String) {
        guard !json else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }
}
