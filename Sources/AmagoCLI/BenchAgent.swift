import AMAGO
import ArgumentParser
import Autograd
import Foundation
import NeuralNet

/// `amago bench agent`: one full training step and one-step inference at three model sizes.
struct BenchAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Time one training step (forward, backward, optimizer, targets) and one-step inference.",
        discussion: """
            Sizes: tiny (obs 8, 4 actions, timestep encoder 64→32, d_model 64, 2 layers, 4 heads, B 16, L 32), \
            small (obs 16, 4 actions, 128→64, d_model 128, 3 layers, 8 heads, B 24, L 128), medium (obs 32, \
            6 actions, 512→256, d_model 256, 4 layers, 8 heads, B 24, L 256); d_ff = 4·d_model and the default \
            heads (256 hidden, 4 critics, 7 gammas). Inference is timed for 1 and 32 actors with 1, 64 and 127 \
            timesteps already in context. Figures are medians. Each training step is also given as effective \
            GFLOP/s (the reference's FLOP count: 3.26, 33.45 and 206 GFLOP) and as a fraction of raw 1024³ sgemm \
            timed in three batches, one after each third of the size's steps (the median of all its calls), so that \
            both see the same machine load; peak RSS is the process's resident high-water mark over the size's \
            warm-up step and first third of its steps, before the sgemm buffers are allocated.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Engine threads (matrix products and parallel kernels; default: all cores).") var threads: Int?
    @Option(help: "Timed training steps per size.") var steps = 10
    @Option(help: "Comma-separated sizes to run (tiny, small, medium).") var sizes = "tiny,small,medium"
    @Flag(help: "Time only the training step (no inference rows).") var trainOnly = false

    struct Size {
        var name: String, observation: Int, actions: Int, hidden: Int, embedding: Int
        var dModel: Int, layers: Int, heads: Int, batch: Int, length: Int
        /// FLOPs of one training step: the PyTorch reference's matmul count of forward + backward (issue 13).
        var flops: Double
    }
    static let all = [
        Size(name: "tiny", observation: 8, actions: 4, hidden: 64, embedding: 32, dModel: 64, layers: 2, heads: 4, batch: 16, length: 32,
             flops: 3.26e9),
        Size(name: "small", observation: 16, actions: 4, hidden: 128, embedding: 64, dModel: 128, layers: 3, heads: 8, batch: 24, length: 128,
             flops: 33.45e9),
        Size(name: "medium", observation: 32, actions: 6, hidden: 512, embedding: 256, dModel: 256, layers: 4, heads: 8, batch: 24, length: 256,
             flops: 206e9),
    ]

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threadCount >= 1, steps >= 1 else { throw ValidationError("--threads and --steps must be at least 1") }
        BLAS.setThreadCount(threadCount)
        let wanted = sizes.split(separator: ",").map(String.init)
        let chosen = Self.all.filter { wanted.contains($0.name) }
        guard chosen.count == wanted.count else { throw ValidationError("--sizes takes tiny, small and medium, comma-separated") }
        var summary: [String: Double] = ["blas_threads": Double(threadCount)]
        var lines: [String] = []
        for size in chosen {
            FileHandle.standardError.write(Data("\rmeasuring \(size.name)…\u{1B}[K".utf8))
            let peakKnown = BenchMemory.resetPeak()
            let agent = try makeAgent(size)
            let (trainMs, sgemm, peakBytes) = try trainStepMilliseconds(agent, size)
            let gflops = size.flops / (trainMs / 1000) / 1e9
            let peak = peakKnown ? peakBytes : nil
            summary["train_step_ms_\(size.name)"] = trainMs
            summary["train_gflops_\(size.name)"] = gflops
            summary["sgemm_gflops_\(size.name)"] = sgemm
            summary["train_vs_sgemm_\(size.name)"] = gflops / sgemm
            if let peak { summary["peak_rss_mb_\(size.name)"] = peak / 1e6 }
            lines.append(String(format: "%-8@ train step %10.2f ms  %6.1f GFLOP/s  %.2f of sgemm (%.1f GFLOP/s)  peak RSS %@",
                                size.name as NSString, trainMs, gflops, gflops / sgemm, sgemm,
                                (peak.map { String(format: "%.0f MB", $0 / 1e6) } ?? "unknown") as NSString))
            for actors in trainOnly ? [] : [1, 32] {
                for context in [1, 64, 127] {
                    let us = try Self.actMicroseconds(agent, size, actors: actors, context: context)
                    summary["act_us_\(size.name)_ctx\(context)_b\(actors)"] = us
                    lines.append(String(format: "%-8@ act %2d actor(s), %3d in context %10.1f µs", size.name as NSString, actors, context, us))
                }
            }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("agent benchmark: \(threadCount) BLAS thread(s), medians")
            lines.forEach { print($0) }
        }
    }

    func makeAgent(_ size: Size) throws -> Agent {
        var c = AgentConfiguration()
        c.timestepHidden = size.hidden
        c.timestepOutput = size.embedding
        var t = TransformerConfiguration(inputs: size.embedding)
        t.dModel = size.dModel; t.layers = size.layers; t.heads = size.heads; t.dFeedForward = 4 * size.dModel
        c.encoder = .transformer(t)
        c.maxSequenceLength = size.length
        return try Agent(observationWidth: size.observation, actionSpace: .discrete(count: size.actions), configuration: c, seed: 1)
    }

    /// A batch of B full-length random slices (L + 1 observations, L transitions).
    func makeBatch(_ size: Size, rng: RandomGenerator) throws -> Batch {
        let n = size.length + 1, a = size.actions
        let slices = (0..<size.batch).map { _ -> TrajectorySlice in
            let actions = (0..<(n - 1)).map { _ -> [Float] in var v = [Float](repeating: 0, count: a); v[rng.integer(below: a)] = 1; return v }
            let rewards = (0..<(n - 1)).map { _ in rng.uniform(-1, 1) }
            var rl2: [[Float]] = [[Float](repeating: 0, count: 1 + a)]
            for i in 1..<n { rl2.append([rewards[i - 1]] + actions[i - 1]) }
            return TrajectorySlice(observations: (0..<n).map { _ in (0..<size.observation).map { _ in rng.normal() } },
                                   rl2: rl2, timeIndices: Array(0..<n), rewards: rewards,
                                   dones: [Bool](repeating: false, count: n - 1), actions: actions)
        }
        return try Batch(slices, discreteActions: true)
    }

    /// The median training step in milliseconds; raw sgemm GFLOP/s from three batches of calls
    /// timed after each third of the steps (the median of all of them); and the peak RSS over the
    /// warm-up step and the first third, read before the sgemm buffers exist.
    func trainStepMilliseconds(_ agent: Agent, _ size: Size) throws -> (ms: Double, sgemm: Double, peakBytes: Double?) {
        let learner = Learner(agent: agent)
        let batch = try makeBatch(size, rng: RandomGenerator(seed: 2))
        try learner.step(batch)  // warm-up
        // Third `round` of the steps, timed.
        func third(_ round: Int) throws -> [Double] {
            try (0..<(steps * (round + 1) / 3 - steps * round / 3)).map { _ in try Self.time { try learner.step(batch) } }
        }
        var stepSamples = try third(0), sgemmSamples: [Double] = []
        let peak = BenchMemory.peakBytes()
        let sgemm = try BenchEngine.sgemmCase(1024)
        try sgemm.body()
        for round in 0..<3 {
            if round > 0 { stepSamples += try third(round) }
            sgemmSamples += try (0..<3).map { _ in try Self.time { try sgemm.body() } }
        }
        return (Self.median(stepSamples) * 1000, sgemm.flops / Self.median(sgemmSamples) / 1e9, peak)
    }

    /// Median time of one `act` for `actors` actors with `context` timesteps already in memory.
    static func actMicroseconds(_ agent: Agent, _ size: Size, actors: Int, context: Int) throws -> Double {
        let rng = RandomGenerator(seed: 3)
        let obs = (0..<actors).map { _ in (0..<size.observation).map { _ in rng.normal() } }
        let rl2 = [[Float]](repeating: [Float](repeating: 0, count: 1 + size.actions), count: actors)
        let memory = try agent.makeMemory(actors: actors)
        var samples: [Double] = []
        let rounds = actors == 1 ? 30 : 10
        for _ in 0..<rounds {
            try memory.reset(where: [Bool](repeating: true, count: actors))
            for t in 0..<context {
                _ = try agent.act(observations: obs, rl2: rl2, times: [Int](repeating: t, count: actors), memory: memory, sample: true)
            }
            samples.append(try time {
                _ = try agent.act(observations: obs, rl2: rl2, times: [Int](repeating: context, count: actors), memory: memory, sample: true)
            })
        }
        return median(samples) * 1e6
    }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
