import ArgumentParser
import Autograd
import COpenBLAS
import Foundation
import NeuralNet

/// `amago bench engine`: throughput of the engine's hot operations beside raw `cblas_sgemm`.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time matmul, LayerNorm, attention and a Transformer layer against raw sgemm.",
        discussion: """
            Rows take turns over several rounds so that every row sees the same machine load; each \
            reports the median time per call. FLOP counts are nominal: 2·m·n·k per matrix product; \
            attention counts the full L×L products of every head (4·B·L²·D forward); a Transformer \
            layer counts its four projections (24·D² per token with d_ff = 4·d_model) plus attention; \
            forward+backward counts three times the forward; LayerNorm counts 18 FLOPs per element.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Engine threads (matrix products and parallel kernels; default: all cores).") var threads: Int?
    @Option(help: "Seconds spent measuring each row, over all rounds.") var seconds = 1.0
    @Option(help: "Run only the rows whose JSON key contains this text (e.g. layer, attention).") var only: String?

    /// Rounds over which the rows take turns.
    let rounds = 5

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threadCount >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        BLAS.setThreadCount(threadCount)
        var cases = try [256, 512, 1024].map(Self.sgemmCase) + [256, 512, 1024].map(matmulCase)
        cases += [try layerNormCase(), try attentionCase(backward: false), try attentionCase(backward: true),
                  try layerCase(dModel: 128, length: 128, batch: 24), try layerCase(dModel: 256, length: 256, batch: 24)]
        if let only { cases = cases.filter { $0.key.contains(only) } }
        guard !cases.isEmpty else { throw ValidationError("--only \(only ?? "") matches no row") }
        let rows = try measureInterleaved(cases)
        let figures = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.gflops) })
        var summary: [String: Double] = ["blas_threads": Double(threadCount)]
        for row in rows {
            summary[row.key] = row.gflops
            summary[row.key.replacingOccurrences(of: "gflops", with: "ms")] = row.milliseconds
        }
        if let sgemm = figures["sgemm_gflops_512"] {
            if let m = figures["matmul_gflops_512"] { summary["matmul_vs_sgemm_512"] = m / sgemm }
            if let l = figures["layer_fwd_bwd_gflops_d256"] { summary["layer_fwd_bwd_vs_sgemm_512_d256"] = l / sgemm }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("engine benchmark: \(threadCount) BLAS thread(s); rows interleaved over \(rounds) rounds, median per call")
        print(BenchRow.header)
        for row in rows { print(row.formatted) }
        for (key, label) in [("matmul_vs_sgemm_512", "Tensor.matmul / raw sgemm at 512"),
                             ("layer_fwd_bwd_vs_sgemm_512_d256", "Transformer layer fwd+bwd d256 / raw sgemm at 512")] {
            if let ratio = summary[key] { print(label + ": " + String(format: "%.2f", ratio)) }
        }
    }

    /// Runs the cases in turn, `rounds` times over, each for `seconds / rounds` per turn, and
    /// reports the median seconds per call of each; a progress line goes to standard error.
    func measureInterleaved(_ cases: [BenchCase]) throws -> [BenchRow] {
        var samples = [[Double]](repeating: [], count: cases.count)
        for c in cases { try c.body() }  // warm-up: first-touch allocation, BLAS thread start
        for round in 0..<rounds {
            FileHandle.standardError.write(Data("\rmeasuring: round \(round + 1)/\(rounds)".utf8))
            for (i, c) in cases.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                var taken = 0
                repeat {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try c.body()
                    samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    taken += 1
                } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds / Double(rounds) || taken < 2
            }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        return zip(cases, samples).map { c, s in
            let sorted = s.sorted()
            return BenchRow(name: c.name, key: c.key, seconds: sorted[sorted.count / 2], flops: c.flops)
        }
    }

    static func sgemmCase(_ n: Int) throws -> BenchCase {
        let a = Buffer(Self.randomValues(n * n, seed: 1)), b = Buffer(Self.randomValues(n * n, seed: 2))
        let c = Buffer([Float](repeating: 0, count: n * n))
        return BenchCase(name: "raw cblas_sgemm \(n)³", key: "sgemm_gflops_\(n)", flops: 2 * pow(Double(n), 3)) {
            BLAS.withLibraryThreads(BLAS.threadCount) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                            a.pointer, Int32(n), b.pointer, Int32(n), 0, c.pointer, Int32(n))
            }
        }
    }

    func matmulCase(_ n: Int) throws -> BenchCase {
        let a = try Tensor(shape: [n, n], data: Self.randomValues(n * n, seed: 1))
        let b = try Tensor(shape: [n, n], data: Self.randomValues(n * n, seed: 2))
        return BenchCase(name: "Tensor.matmul \(n)³", key: "matmul_gflops_\(n)", flops: 2 * pow(Double(n), 3)) {
            _ = try a.matmul(b)
        }
    }

    func layerNormCase() throws -> BenchCase {
        let (rows, d) = (24 * 256, 256)
        let x = try Tensor(shape: [rows, d], data: Self.randomValues(rows * d, seed: 1), requiresGrad: true)
        let norm = LayerNorm(width: d)
        let seed = Self.randomValues(rows * d, seed: 2)
        return BenchCase(name: "LayerNorm fwd+bwd (6144×256)", key: "layernorm_fwd_bwd_gflops", flops: 18 * Double(rows * d)) {
            try norm(x).backward(seed: seed)
            x.zeroGrad()
            norm.zeroGrad()
        }
    }

    func attentionCase(backward: Bool) throws -> BenchCase {
        let (b, l, d, h) = (8, 256, 256, 8)
        let q = try Tensor(shape: [b, l, d], data: Self.randomValues(b * l * d, seed: 1), requiresGrad: backward)
        let k = try Tensor(shape: [b, l, d], data: Self.randomValues(b * l * d, seed: 2), requiresGrad: backward)
        let v = try Tensor(shape: [b, l, d], data: Self.randomValues(b * l * d, seed: 3), requiresGrad: backward)
        let seed = Self.randomValues(b * l * d, seed: 4)
        let forward = 4 * Double(b * l * l * d)
        return BenchCase(name: "attention \(backward ? "fwd+bwd" : "fwd") B8 L256 D256 H8",
                         key: backward ? "attention_fwd_bwd_gflops" : "attention_fwd_gflops",
                         flops: backward ? 3 * forward : forward) {
            let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: h)
            if backward {
                try y.backward(seed: seed)
                for t in [q, k, v] { t.zeroGrad() }
            }
        }
    }

    func layerCase(dModel d: Int, length l: Int, batch b: Int) throws -> BenchCase {
        var c = TransformerConfiguration(inputs: d)
        c.dModel = d; c.heads = 8; c.dFeedForward = 4 * d; c.layers = 1
        let layer = TransformerLayer(c, using: RandomGenerator(seed: 1))
        let x = try Tensor(shape: [b, l, d], data: Self.randomValues(b * l * d, seed: 2), requiresGrad: true)
        let positions = (0..<(b * l)).map { Float($0 % l) }
        let seed = Self.randomValues(b * l * d, seed: 3)
        let forward = Double(b * l) * (24 * Double(d * d) + 4 * Double(l * d))
        return BenchCase(name: "Transformer layer fwd+bwd d\(d) L\(l) B\(b)", key: "layer_fwd_bwd_gflops_d\(d)",
                         flops: 3 * forward) {
            try layer(x, positions: positions).backward(seed: seed)
            layer.zeroGrad()
            x.zeroGrad()
        }
    }

    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        let rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in rng.uniform(-1, 1) }
    }
}

/// One row to measure: what it runs and how many FLOPs one call does.
struct BenchCase {
    var name: String, key: String, flops: Double
    var body: () throws -> Void
}

/// A heap buffer whose address stays fixed while the benchmark closures use it.
final class Buffer {
    let pointer: UnsafeMutablePointer<Float>
    init(_ values: [Float]) {
        pointer = .allocate(capacity: values.count)
        pointer.initialize(from: values, count: values.count)
    }
    deinit { pointer.deallocate() }
}

/// One measured line of a benchmark table.
struct BenchRow {
    var name: String, key: String
    var seconds: Double, flops: Double
    var milliseconds: Double { seconds * 1000 }
    var gflops: Double { flops / seconds / 1e9 }

    static let header = "operation".padding(toLength: 44, withPad: " ", startingAt: 0) + "   ms / call     GFLOP/s"
    var formatted: String {
        name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%12.3f %11.1f", milliseconds, gflops)
    }
}
