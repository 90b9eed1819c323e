import AMAGO
import ArgumentParser
import Autograd
import Foundation

/// `amago train SPEC.json`: runs a whole experiment without the server.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment from a JSON spec, with a live progress line and checkpoints.",
        discussion: """
            The data folder (default: data/<spec name>) holds spec.json, the replay buffer and the \
            checkpoints; --resume continues from its latest checkpoint. `amago envs` lists the \
            environments and prints a recommended spec for each; examples/ holds one per task.
            """)

    @Argument(help: "The experiment spec (JSON).") var spec: String
    @Option(help: "Data folder for the buffer and checkpoints.") var data: String?
    @Flag(help: "Continue from the latest checkpoint in the data folder.") var resume = false
    @Option(help: "OpenBLAS threads (default: all cores).") var threads: Int?
    @Flag(help: "No progress line; print only the summary.") var quiet = false

    func run() throws {
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: spec)) } catch {
            throw ValidationError("cannot read \(spec): \(error.localizedDescription)")
        }
        let experimentSpec: ExperimentSpec
        do { experimentSpec = try ExperimentSpec(json: bytes) } catch let error as ExperimentSpecError {
            throw ValidationError("\(spec): \(error.description)\nFix these fields (`amago envs` prints a valid spec for every environment).")
        }
        if experimentSpec.environment == "external" {
            throw ValidationError("\(spec): an external environment is stepped by clients over HTTP: submit it to `amago serve` "
                                  + "(POST /experiments) and run your environment with the Python client (clients/python)")
        }
        BLAS.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let folder = URL(fileURLWithPath: data ?? "data/\(experimentSpec.name)")
        let sink = TerminalSummarySink()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let metricsFile = RunFolder(folder).metricsFile
        if !resume { try? FileManager.default.removeItem(at: metricsFile) }
        let experiment = try Experiment(spec: experimentSpec, directory: folder,
                                        sink: CompositeMetricSink([sink, try FileMetricSink(url: metricsFile)]))
        if !resume && experiment.hasCheckpoint {
            throw ValidationError("\(folder.path) already holds a run: add --resume to continue it, or choose another --data folder")
        }
        if !quiet { experiment.onProgress = { ProgressLine.show($0) } }
        let stopRequested = SignalFlag.install()
        let outcome = try experiment.run(resume: resume, shouldStop: { stopRequested.isSet })
        if !quiet { ProgressLine.finish() }
        print(outcome.stopped ? "stopped early; resume with --resume" : "finished")
        print("epochs \(outcome.epochsCompleted), env steps \(outcome.environmentSteps), gradient steps \(outcome.gradientSteps)")
        for key in ["val/return", "val/success_rate"] { if let v = sink.last[key] { print("\(key) \(String(format: "%.4f", v))") } }
        if let checkpoint = outcome.lastCheckpoint { print("checkpoint \(checkpoint.path)") }
        print("data folder \(folder.path) (metrics in metrics.jsonl)")
    }
}

/// Remembers the latest value of every metric for the end-of-run summary.
final class TerminalSummarySink: MetricSink {
    private(set) var last: [String: Double] = [:]
    func record(_ points: [MetricPoint]) throws { for p in points { last[p.key] = p.value } }
}

/// The one-line, redrawn progress display of `amago train`.
enum ProgressLine {
    static func show(_ p: ExperimentProgress) {
        var parts = ["epoch \(min(p.epoch + 1, p.epochs))/\(p.epochs)", p.phase, "\(p.environmentSteps) env steps",
                     "\(p.gradientSteps) updates"]
        if let r = p.lastReturn { parts.append(String(format: "return %.3f", r)) }
        if let s = p.lastSuccessRate { parts.append(String(format: "success %.0f%%", 100 * s)) }
        parts.append(String(format: "%.0f steps/s", p.stepsPerSecond))
        if let eta = p.etaSeconds { parts.append("ETA " + duration(eta)) }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + parts.joined(separator: " · ")).utf8))
    }

    static func finish() { FileHandle.standardError.write(Data("\n".utf8)) }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}

/// Turns SIGINT/SIGTERM into a flag the training loop polls, so Ctrl-C writes a checkpoint.
final class SignalFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []
    private let raised = DispatchSemaphore(value: 0)
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }

    /// Blocks until SIGINT or SIGTERM arrives.
    func wait() {
        raised.wait()
        raised.signal()  // later waiters return at once too
    }

    static func install() -> SignalFlag {
        let flag = SignalFlag()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                flag.lock.lock()
                let first = !flag.set
                flag.set = true
                flag.lock.unlock()
                if first { flag.raised.signal() }
            }
            source.resume()
            flag.sources.append(source)
        }
        return flag
    }
}
