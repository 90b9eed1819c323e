import AMAGO
import ArgumentParser
import Autograd
import Foundation
import Service
import Storage

/// `amago bench act`: `/act` latency and throughput over loopback HTTP, beside in-process inference.
struct BenchAct: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "act",
        abstract: "Time POST /act over keep-alive loopback connections: 1 session, and 32 sessions with and without batching.",
        discussion: """
            Starts the service in-process on a free loopback port over a temporary data folder, records an \
            experiment whose checkpoint (written by the trainer's own code) holds an untrained agent of the \
            agent benchmark's small model (d_model 128, 3 layers, 8 heads, max_seq_len 128) on repeat_first, \
            and fills every session's context with 127 steps before measuring. Runs: one session called \
            sequentially; 32 sessions on 32 connections with batching on and off, interleaved. Beside them, \
            one in-process act for 1 and 32 actors of the same model (medians).
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Engine threads (matrix products and parallel kernels; default: all cores).") var threads: Int?
    @Option(help: "Seconds per measured run (the 32-session runs take this in two halves, interleaved).")
    var duration: Double = 3
    @Option(help: "Concurrent sessions, one connection each.") var sessions = 32

    /// Latencies and counts of one measured run.
    struct Run {
        var latencies: [Double] = []  // µs
        var seconds = 0.0
        var clientCPUSeconds = 0.0
        var errors = 0
        var passes = 0, steps = 0

        mutating func add(_ other: Run) {
            latencies += other.latencies
            seconds += other.seconds
            clientCPUSeconds += other.clientCPUSeconds
            errors += other.errors
            passes += other.passes
            steps += other.steps
        }
        func percentile(_ p: Double) -> Double {
            let sorted = latencies.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        var callsPerSecond: Double { seconds > 0 ? Double(latencies.count) / seconds : 0 }
        var meanBatch: Double { passes > 0 ? Double(steps) / Double(passes) : 0 }
    }

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threadCount >= 1, sessions >= 1, duration > 0 else {
            throw ValidationError("--threads and --sessions must be at least 1 and --duration positive")
        }
        BLAS.setThreadCount(threadCount)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("amago-bench-act-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Only the HTTP server starts: no worker may pick up the bench's experiment and train it.
        let service = try ServiceHost(options: ServiceOptions(host: "127.0.0.1", port: 0, dataDirectory: folder, workers: 1))
        try service.server.start()
        defer { service.shutdown(gracePeriod: .seconds(2), jobDeadline: 5) }

        progress("writing the checkpoint…")
        var size = BenchAgent.all[1]
        let (experimentID, agent) = try makeExperiment(service, folder: folder, size: &size)
        let context = size.length - 1
        progress("timing in-process act…")
        let inProcess1 = try BenchAgent.actMicroseconds(agent, size, actors: 1, context: context)
        let inProcessN = try BenchAgent.actMicroseconds(agent, size, actors: sessions, context: context)

        progress("filling \(sessions) contexts…")
        let clients = try (0..<sessions).map { _ in try BenchActClient(port: service.port) }
        let requests = try warmUp(clients, experimentID: experimentID, observationWidth: size.observation, steps: context)

        progress("measuring…")
        let single = try measure([clients[0]], [requests[0]], seconds: duration, service: service)
        var batched = Run(), unbatched = Run()
        for _ in 0..<2 {
            service.policies.batching = true
            batched.add(try measure(clients, requests, seconds: duration / 2, service: service))
            service.policies.batching = false
            unbatched.add(try measure(clients, requests, seconds: duration / 2, service: service))
        }
        service.policies.batching = true
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        let errors = single.errors + batched.errors + unbatched.errors
        let calls = single.latencies.count + batched.latencies.count + unbatched.latencies.count
        let clientCPU = (single.clientCPUSeconds + batched.clientCPUSeconds + unbatched.clientCPUSeconds) / Double(max(calls, 1)) * 1e6
        let gain = unbatched.callsPerSecond > 0 ? batched.callsPerSecond / unbatched.callsPerSecond : 0
        let n = sessions
        if json {
            let summary: [String: Double] = [
                "act_http_p50_us_1": single.percentile(0.5), "act_http_p99_us_1": single.percentile(0.99),
                "act_http_calls_per_s_1": single.callsPerSecond,
                "act_http_p50_us_\(n)": batched.percentile(0.5), "act_http_p99_us_\(n)": batched.percentile(0.99),
                "act_http_calls_per_s_\(n)": batched.callsPerSecond, "act_mean_batch_\(n)": batched.meanBatch,
                "act_http_p50_us_\(n)_no_batching": unbatched.percentile(0.5),
                "act_http_p99_us_\(n)_no_batching": unbatched.percentile(0.99),
                "act_http_calls_per_s_\(n)_no_batching": unbatched.callsPerSecond,
                "act_batching_throughput_gain": gain,
                "act_inprocess_us_1": inProcess1, "act_inprocess_us_\(n)": inProcessN,
                "client_cpu_us_per_call": clientCPU, "errors": Double(errors), "blas_threads": Double(threadCount),
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("act benchmark: small model (d_model \(size.dModel), \(size.layers) layers, \(size.heads) heads), "
              + "\(context) steps in context, \(threadCount) BLAS thread(s), \(errors) errors")
        print(String(format: "in-process act, %2d actor(s)                     %9.1f µs", 1, inProcess1))
        print(String(format: "in-process act, %2d actor(s)                     %9.1f µs  (%.1f µs per actor)", n, inProcessN, inProcessN / Double(n)))
        print(row("HTTP /act, 1 session, sequential", single))
        print(row("HTTP /act, \(n) sessions, batching", batched) + String(format: "  (mean batch %.1f)", batched.meanBatch))
        print(row("HTTP /act, \(n) sessions, no batching", unbatched))
        print(String(format: "batching throughput gain %.2f×; client CPU %.1f µs per call", gain, clientCPU))
    }

    func row(_ label: String, _ run: Run) -> String {
        String(format: "%@ p50 %8.1f µs  p99 %8.1f µs  %8.0f calls/s",
               label.padding(toLength: 40, withPad: " ", startingAt: 0) as NSString,
               run.percentile(0.5), run.percentile(0.99), run.callsPerSecond)
    }

    func progress(_ text: String) { FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8)) }

    /// Records an experiment of the small model on repeat_first and its epoch-0 checkpoint,
    /// written and registered as a training run does; returns its id and the agent.
    func makeExperiment(_ service: ServiceHost, folder: URL, size: inout BenchAgent.Size) throws -> (String, Agent) {
        var spec = ExperimentSpec()
        spec.name = "bench-act"
        spec.environment = "repeat_first"
        spec.model.timestepHidden = size.hidden
        spec.model.timestepOutput = size.embedding
        spec.model.dModel = size.dModel; spec.model.layers = size.layers; spec.model.heads = size.heads
        spec.model.dFeedForward = 4 * size.dModel
        spec.schedule.maxSequenceLength = size.length
        let text = String(decoding: try spec.encoded(), as: UTF8.self)
        let record = try service.store.createExperiment(NewExperiment(name: spec.name, environment: spec.environment,
                                                                      spec: text, epochs: spec.schedule.epochs)).experiment
        let runner = TrainerRunner(store: service.store, dataDirectory: folder)
        let trainer = try Experiment(spec: spec, directory: runner.folder(of: record.id).url)
        try trainer.checkpoint()
        try runner.registerCheckpoints(experimentID: record.id)
        size.observation = trainer.agent.observationWidth
        size.actions = trainer.agent.actionSpace.width
        return (record.id, trainer.agent)
    }

    /// Opens one session per client and steps each `steps` times; returns each session's
    /// request for the measured calls (a step that keeps the context at `steps` tokens).
    func warmUp(_ clients: [BenchActClient], experimentID: String, observationWidth: Int, steps: Int) throws -> [[UInt8]] {
        let rng = RandomGenerator(seed: 5)
        let observations = clients.map { _ in (0..<observationWidth).map { _ in String(format: "%.3f", rng.uniform(-1, 1)) }.joined(separator: ",") }
        let requests = Locked([[UInt8]](repeating: [], count: clients.count))
        let failures = Self.concurrently(clients.count) { i in
            let client = clients[i], obs = observations[i]
            let first = try client.send(BenchActClient.post("/act", json: #"{"experiment":"\#(experimentID)","observation":[\#(obs)],"reset":true}"#))
            guard first.status == 200, case let reply as [String: Any] = try JSONSerialization.jsonObject(with: Data(first.body)),
                  let session = reply["session"] as? String else {
                throw ValidationError("/act answered \(first.status): \(String(decoding: first.body, as: UTF8.self))")
            }
            let request = BenchActClient.post("/act", json: #"{"experiment":"\#(experimentID)","session":"\#(session)","observation":[\#(obs)],"reward":0.5}"#)
            var last = first
            for _ in 1..<steps { last = try client.send(request) }
            guard case let reply as [String: Any] = try JSONSerialization.jsonObject(with: Data(last.body)),
                  reply["context_length"] as? Int == steps else {
                throw ValidationError("session \(session) did not reach \(steps) steps: \(String(decoding: last.body, as: UTF8.self))")
            }
            requests.update { $0[i] = request }
        }
        if let failure = failures.first { throw failure }
        return requests.value
    }

    /// Each client sends its request back to back for `seconds`; latencies of every call.
    func measure(_ clients: [BenchActClient], _ requests: [[UInt8]], seconds: Double, service: ServiceHost) throws -> Run {
        let before = service.policies.batchStatistics
        let collected = Locked(Run())
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        let failures = Self.concurrently(clients.count) { i in
            var run = Run()
            let cpu = BenchActClient.threadCPUSeconds()
            var now = DispatchTime.now().uptimeNanoseconds
            while now < deadline {
                let reply = try clients[i].send(requests[i])
                let end = DispatchTime.now().uptimeNanoseconds
                if reply.status == 200 { run.latencies.append(Double(end - now) / 1e3) } else { run.errors += 1 }
                now = end
            }
            run.clientCPUSeconds = BenchActClient.threadCPUSeconds() - cpu
            collected.update { $0.add(run) }
        }
        if let failure = failures.first { throw failure }
        var total = collected.value
        total.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = service.policies.batchStatistics
        total.passes = after.passes - before.passes
        total.steps = after.steps - before.steps
        return total
    }

    /// Runs `body(i)` for `0..<count` on `count` threads at once; returns the errors thrown.
    static func concurrently(_ count: Int, _ body: @escaping (Int) throws -> Void) -> [Error] {
        let group = DispatchGroup()
        let errors = Locked([Error]())
        for i in 0..<count {
            group.enter()
            let thread = Thread {
                do { try body(i) } catch { errors.update { $0.append(error) } }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return errors.value
    }
}

/// A value shared by the client threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
