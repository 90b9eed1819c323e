import AMAGO
import ArgumentParser
import Autograd
import Environments
import Foundation
import JSON
import Service

/// `amago bench collect`: collected env steps per second of an external environment over
/// loopback HTTP, batched and one call per step, beside in-process collection of the same task.
struct BenchCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Collected env steps per second over HTTP (/act/batch and /act per step) beside in-process collection.",
        discussion: """
            Task: built-in tmaze_passive with corridor_length 5 (6-step episodes, observation 2, 4 actions), \
            with T-Maze's recommended model (d_model 64, 2 layers, 4 heads, d_ff 256, timestep encoder \
            128→64, max_seq_len 8) and ε-greedy exploration. Starts the service in-process (port 0, 1 worker, \
            a temporary data folder, in /dev/shm by default: every finished trial is a file written and synced \
            to the replay buffer, and on a disk that latency alone bounds both collections alike) and submits an external experiment of the same observation size and \
            action count whose epoch never fills (timesteps_per_epoch 100000000, batches_per_epoch 0): the \
            learner never trains, so the figures are collection alone. The client steps its own T-Mazes. \
            For each actor count: in-process collection (Experiment.collect: act, exploration, env step, \
            finished trials to the replay buffer, as an epoch's collection phase); one POST /act/batch \
            with collect: true per vector step on one keep-alive connection; one POST /act per actor per \
            step, one keep-alive connection and thread per actor. Each run takes --duration seconds in two \
            halves, interleaved with the others. A refused call stops the bench.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Engine threads (matrix products and parallel kernels; default: all cores).") var threads: Int?
    @Option(help: "Seconds per measured run (taken in two halves, interleaved).") var duration: Double = 2
    @Option(help: "Comma-separated actor counts.") var actors = "1,8,32"
    @Option(help: "Where the temporary data folder goes (default: /dev/shm when it exists, else the temporary folder).")
    var data: String?

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let task = "tmaze_passive"
    static let taskParameters: [String: JSONValue] = ["corridor_length": .number(5), "penalty": .number(-1.0 / 6)]
    static let epochSteps = 100_000_000

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let counts = actors.split(separator: ",").map { Int($0) ?? 0 }
        guard threadCount >= 1, duration > 0, !counts.isEmpty, counts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--threads must be at least 1, --duration positive, --actors comma-separated counts in 1...256")
        }
        BLAS.setThreadCount(threadCount)
        let folder = parentFolder.appendingPathComponent("amago-bench-collect-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let spec = try Self.spec()
        let inProcess = try Experiment(spec: spec, directory: folder.appendingPathComponent("in-process"))
        // The BLAS thread count stays the bench's: the worker's job applies no budget of its own.
        let service = try ServiceHost(options: ServiceOptions(host: "127.0.0.1", port: 0, dataDirectory: folder.appendingPathComponent("service"),
                                                              workers: 1, pollInterval: 0.05))
        try service.start()
        defer { service.shutdown(gracePeriod: .seconds(2), jobDeadline: 10) }
        progress("starting the external experiment…")
        let experimentID = try startExternal(spec, port: service.port)

        var results: [(actors: Int, inProcess: BenchCollectRun, batched: BenchCollectRun, perStep: BenchCollectRun)] = []
        for n in counts {
            let batchedActors = try makeActors(n, seed: 10_000)
            let stepActors = try makeActors(n, seed: 20_000)
            let batchClient = try BenchActClient(port: service.port)
            let stepClients = try (0..<n).map { _ in try BenchActClient(port: service.port) }
            progress("warming up \(n) actor(s)…")
            _ = try measureInProcess(inProcess, actors: n, seconds: 0.2)
            _ = try measureBatched(batchedActors, client: batchClient, experimentID: experimentID, seconds: 0.2)
            _ = try measurePerStep(stepActors, clients: stepClients, experimentID: experimentID, seconds: 0.2)
            var local = BenchCollectRun(), batched = BenchCollectRun(), perStep = BenchCollectRun()
            for half in 1...2 {
                progress("measuring \(n) actor(s), half \(half) of 2…")
                local.add(try measureInProcess(inProcess, actors: n, seconds: duration / 2))
                batched.add(try measureBatched(batchedActors, client: batchClient, experimentID: experimentID, seconds: duration / 2))
                perStep.add(try measurePerStep(stepActors, clients: stepClients, experimentID: experimentID, seconds: duration / 2))
            }
            results.append((n, local, batched, perStep))
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        let batchCalls = results.reduce(BenchCollectRun()) { var r = $0; r.add($1.batched); return r }
        let stepCalls = results.reduce(BenchCollectRun()) { var r = $0; r.add($1.perStep); return r }
        let cpuPerBatchCall = batchCalls.clientCPUSeconds / Double(max(batchCalls.calls, 1)) * 1e6
        let cpuPerStepCall = stepCalls.clientCPUSeconds / Double(max(stepCalls.calls, 1)) * 1e6
        func ratio(_ a: BenchCollectRun, _ b: BenchCollectRun) -> Double { b.stepsPerSecond > 0 ? a.stepsPerSecond / b.stepsPerSecond : 0 }

        if json {
            var summary: [String: Double] = ["blas_threads": Double(threadCount),
                                             "client_cpu_us_per_batch_call": cpuPerBatchCall, "client_cpu_us_per_step_call": cpuPerStepCall]
            for r in results {
                summary["collect_inprocess_steps_per_s_\(r.actors)"] = r.inProcess.stepsPerSecond
                summary["collect_http_batch_steps_per_s_\(r.actors)"] = r.batched.stepsPerSecond
                summary["collect_http_step_steps_per_s_\(r.actors)"] = r.perStep.stepsPerSecond
                summary["collect_http_batch_calls_per_s_\(r.actors)"] = r.batched.callsPerSecond
                summary["collect_http_step_calls_per_s_\(r.actors)"] = r.perStep.callsPerSecond
                summary["collect_batch_ratio_\(r.actors)"] = ratio(r.batched, r.inProcess)
                summary["collect_step_ratio_\(r.actors)"] = ratio(r.perStep, r.inProcess)
            }
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let m = spec.model
        print("collect benchmark: \(Self.task) (corridor_length 5), model d_model \(m.dModel), \(m.layers) layers, \(m.heads) heads, "
              + "\(threadCount) BLAS thread(s)")
        print("training off (timesteps_per_epoch \(Self.epochSteps), batches_per_epoch 0): collection throughput only; "
              + "data folder in \(parentFolder.path)")
        for r in results {
            print(row(r.actors, "in-process", r.inProcess, nil))
            print(row(r.actors, "HTTP /act/batch, 1 connection", r.batched, ratio(r.batched, r.inProcess)))
            print(row(r.actors, "HTTP /act per step, \(r.actors) connection(s)", r.perStep, ratio(r.perStep, r.inProcess)))
        }
        let ratios = results.map { String(format: "%d actor(s) %.2f×", $0.actors, ratio($0.batched, $0.inProcess)) }
        print("batched HTTP / in-process: " + ratios.joined(separator: ", "))
        if let eight = results.first(where: { $0.actors == 8 }) {
            let r = ratio(eight.batched, eight.inProcess)
            print(String(format: "goal: batched HTTP with 8 actors ≥ 0.5× in-process: %.2f×, %@", r, r >= 0.5 ? "met" : "not met"))
        }
        print(String(format: "client CPU %.1f µs per /act/batch call, %.1f µs per /act call", cpuPerBatchCall, cpuPerStepCall))
    }

    /// RAM by default: every finished trial is written (and synced) to the replay buffer as a
    /// file, and on a disk that latency alone would bound both collections alike.
    var parentFolder: URL {
        if let data { return URL(fileURLWithPath: data) }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: "/dev/shm")
        }
        return FileManager.default.temporaryDirectory
    }

    func row(_ actors: Int, _ label: String, _ run: BenchCollectRun, _ ratio: Double?) -> String {
        var line = String(format: "%2d actor(s)  %@ %9.0f steps/s", actors,
                          label.padding(toLength: 36, withPad: " ", startingAt: 0) as NSString, run.stepsPerSecond)
        if let ratio { line += String(format: "  %5.2f× in-process  %8.0f calls/s", ratio, run.callsPerSecond) }
        return line
    }

    func progress(_ text: String) { FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8)) }

    /// T-Maze's recommended spec on a corridor of 5 with ε-greedy exploration, and an epoch
    /// that never fills: no training competes with collection for the cores.
    static func spec() throws -> ExperimentSpec {
        var spec = try ExperimentSpec.recommended(for: task)
        spec.name = "bench-collect"
        spec.environmentParameters = taskParameters
        spec.schedule.maxSequenceLength = 8
        spec.schedule.epochs = 1_000
        spec.schedule.timestepsPerEpoch = epochSteps
        spec.schedule.batchesPerEpoch = 0
        spec.exploration = ExplorationSpec()
        spec.exploration.kind = "egreedy"
        spec.exploration.annealSteps = 3_000
        spec.evaluation.interval = 0
        return spec
    }

    /// Submits `spec` as an external experiment of the task's observation size and action
    /// count over HTTP, and waits until a worker runs it; returns its id.
    func startExternal(_ spec: ExperimentSpec, port: Int) throws -> String {
        let probe = try EnvironmentRegistry.make(name: Self.task, parameters: Self.taskParameters, seed: 0)
        var external = spec
        external.environment = "external"
        external.environmentParameters = [
            "observation_size": .number(Double(probe.observationSize)),
            "action_space": .object(["kind": .string("discrete"), "n": .number(Double(probe.actionSpace.width))]),
        ]
        let client = try BenchActClient(port: port)
        let created = try BenchCollectActor.answer(try client.send(BenchActClient.post("/experiments", json: String(decoding: try external.encoded(), as: UTF8.self))),
                                                   of: "POST /experiments", status: 201)
        guard let id = created["id"] as? String else { throw Failure("POST /experiments answered without an id: \(created)") }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let reply = try client.send(Array("GET /experiments/\(id) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            if case let object as [String: Any] = try JSONSerialization.jsonObject(with: Data(reply.body)),
               object["status"] as? String == "running" { return id }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw Failure("the external experiment did not start within 30 s")
    }

    func makeActors(_ count: Int, seed: UInt64) throws -> [BenchCollectActor] {
        try (0..<count).map { i in
            let seed = seed &+ UInt64(i)
            return BenchCollectActor(environment: try EnvironmentRegistry.make(name: Self.task, parameters: Self.taskParameters, seed: seed),
                                     seed: seed)
        }
    }

    /// In-process collection in calls of 32 vector steps until `seconds` have passed.
    func measureInProcess(_ experiment: Experiment, actors: Int, seconds: Double) throws -> BenchCollectRun {
        var run = BenchCollectRun()
        let start = DispatchTime.now().uptimeNanoseconds, deadline = start + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            run.steps += try experiment.collect(actors: actors, steps: 32)
            run.calls += 1
        }
        run.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return run
    }

    /// One `/act/batch` per vector step on one connection until `seconds` have passed.
    func measureBatched(_ actors: [BenchCollectActor], client: BenchActClient, experimentID: String, seconds: Double) throws -> BenchCollectRun {
        var run = BenchCollectRun()
        let cpu = BenchActClient.threadCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds, deadline = start + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            run.steps += try BenchCollectActor.batchedStep(actors, client: client, experimentID: experimentID)
            run.calls += 1
        }
        run.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        run.clientCPUSeconds = BenchActClient.threadCPUSeconds() - cpu
        return run
    }

    /// One `/act` per actor per step, each actor on its own connection and thread, until
    /// `seconds` have passed.
    func measurePerStep(_ actors: [BenchCollectActor], clients: [BenchActClient], experimentID: String, seconds: Double) throws -> BenchCollectRun {
        let collected = Locked(BenchCollectRun())
        let start = DispatchTime.now().uptimeNanoseconds, deadline = start + UInt64(seconds * 1e9)
        let failures = BenchAct.concurrently(actors.count) { i in
            var run = BenchCollectRun()
            let cpu = BenchActClient.threadCPUSeconds()
            while DispatchTime.now().uptimeNanoseconds < deadline {
                run.steps += try actors[i].singleStep(client: clients[i], experimentID: experimentID)
                run.calls += 1
            }
            run.clientCPUSeconds = BenchActClient.threadCPUSeconds() - cpu
            collected.update { $0.add(run) }
        }
        if let failure = failures.first { throw failure }
        var total = collected.value
        total.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return total
    }
}
