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
            FLOP counts are nominal: 2·m·n·k per matrix product; attention counts the full L×L \
            products of every head (4·B·L²·D forward); a Transformer layer counts its four \
            projections (24·D² per token with d_ff = 4·d_model) plus attention, and forward+backward \
            counts three times the forward. LayerNorm counts 8 FLOPs per element forward and 10 backward.
            """)

    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "OpenBLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Seconds spent measuring each row.") var seconds = 1.0
    @Option(help: "Run only the rows whose JSON key contains this text (e.g. layer, attention).") var only: String?

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threadCount >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        BLAS.setThreadCount(threadCount)
        var rows: [BenchRow] = []
        func add(_ row: @autoclosure () throws -> BenchRow, key: String) rethrows {
            if let only, !key.contains(only) { return }
            let row = try row()
            rows.append(row)
            if !json { print(row.formatted) }
        }
        if !json {
            print("engine benchmark: \(threadCount) BLAS thread(s), \(seconds) s per row, median of timed runs")
            print(BenchRow.header)
        }
        for n in [256, 512, 1024] { try add(sgemmRow(n), key: "sgemm_gflops_\(n)") }
        for n in [256, 512, 1024] { try add(matmulRow(n), key: "matmul_gflops_\(n)") }
        try add(layerNormRow(), key: "layernorm_fwd_bwd_gflops")
        try add(attentionRow(backward: false), key: "attention_fwd_gflops")
        try add(attentionRow(backward: true), key: "attention_fwd_bwd_gflops")
        try add(layerRow(dModel: 128, length: 128, batch: 24), key: "layer_fwd_bwd_gflops_d128")
        try add(layerRow(dModel: 256, length: 256, batch: 24), key: "layer_fwd_bwd_gflops_d256")
        let figures = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.gflops) })
        let sgemm512 = figures["sgemm_gflops_512"] ?? 0
        var summary: [String: Double] = [:]
        for row in rows {
            summary[row.key] = row.gflops
            summary[row.key.replacingOccurrences(of: "gflops", with: "ms")] = row.milliseconds
        }
        summary["matmul_vs_sgemm_512"] = (figures["matmul_gflops_512"] ?? 0) / sgemm512
        summary["layer_fwd_bwd_vs_sgemm_512_d256"] = (figures["layer_fwd_bwd_gflops_d256"] ?? 0) / sgemm512
        summary["blas_threads"] = Double(threadCount)
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "matmul / sgemm at 512: %.2f   layer fwd+bwd (d256) / sgemm at 512: %.2f",
                         summary["matmul_vs_sgemm_512"]!, summary["layer_fwd_bwd_vs_sgemm_512_d256"]!))
        }
    }

    /// Median seconds per call of `body`, after a warm-up call, over about `seconds`.
    func measure(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var samples: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        } while (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds || samples.count < 3) && samples.count < 10_000
        samples.sort()
        return samples[samples.count / 2]
    }

    func sgemmRow(_ n: Int) throws -> BenchRow {
        let a = randomValues(n * n, seed: 1), b = randomValues(n * n, seed: 2)
        var c = [Float](repeating: 0, count: n * n)
        let time = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    measure {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                                    pa.baseAddress!, Int32(n), pb.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                    }
                }
            }
        }
        return BenchRow(name: "raw cblas_sgemm \(n)³", key: "sgemm_gflops_\(n)", seconds: time, flops: 2 * pow(Double(n), 3))
    }

    func matmulRow(_ n: Int) throws -> BenchRow {
        let a = try Tensor(shape: [n, n], data: randomValues(n * n, seed: 1))
        let b = try Tensor(shape: [n, n], data: randomValues(n * n, seed: 2))
        let time = try measure { _ = try a.matmul(b) }
        return BenchRow(name: "Tensor.matmul \(n)³", key: "matmul_gflops_\(n)", seconds: time, flops: 2 * pow(Double(n), 3))
    }

    func layerNormRow() throws -> BenchRow {
        let (rows, d) = (24 * 256, 256)
        let x = try Tensor(shape: [rows, d], data: randomValues(rows * d, seed: 1), requiresGrad: true)
        let norm = LayerNorm(width: d)
        let seed = randomValues(rows * d, seed: 2)
        let time = try measure {
            try norm(x).backward(seed: seed)
        }
        return BenchRow(name: "LayerNorm fwd+bwd (6144×256)", key: "layernorm_fwd_bwd_gflops", seconds: time,
                        flops: 18 * Double(rows * d))
    }

    func attentionRow(backward: Bool) throws -> BenchRow {
        let (b, l, d, h) = (8, 256, 256, 8)
        let q = try Tensor(shape: [b, l, d], data: randomValues(b * l * d, seed: 1), requiresGrad: backward)
        let k = try Tensor(shape: [b, l, d], data: randomValues(b * l * d, seed: 2), requiresGrad: backward)
        let v = try Tensor(shape: [b, l, d], data: randomValues(b * l * d, seed: 3), requiresGrad: backward)
        let seed = randomValues(b * l * d, seed: 4)
        let time = try measure {
            let y = try Tensor.causalAttention(query: q, key: k, value: v, heads: h)
            if backward { try y.backward(seed: seed) }
        }
        let forward = 4 * Double(b * l * l * d)
        return BenchRow(name: "attention \(backward ? "fwd+bwd" : "fwd") B8 L256 D256 H8",
                        key: backward ? "attention_fwd_bwd_gflops" : "attention_fwd_gflops",
                        seconds: time, flops: backward ? 3 * forward : forward)
    }

    func layerRow(dModel d: Int, length l: Int, batch b: Int) throws -> BenchRow {
        var c = TransformerConfiguration(inputs: d)
        c.dModel = d; c.heads = 8; c.dFeedForward = 4 * d; c.layers = 1
        let layer = TransformerLayer(c, using: RandomGenerator(seed: 1))
        let x = try Tensor(shape: [b, l, d], data: randomValues(b * l * d, seed: 2), requiresGrad: true)
        let positions = (0..<(b * l)).map { Float($0 % l) }
        let seed = randomValues(b * l * d, seed: 3)
        let time = try measure {
            try layer(x, positions: positions).backward(seed: seed)
            layer.zeroGrad()
        }
        let tokens = Double(b * l)
        let forward = tokens * (24 * Double(d * d) + 4 * Double(l * d))
        return BenchRow(name: "Transformer layer fwd+bwd d\(d) L\(l) B\(b)", key: "layer_fwd_bwd_gflops_d\(d)",
                        seconds: time, flops: 3 * forward)
    }

    func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        let rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in rng.uniform(-1, 1) }
    }
}

/// One measured line of a benchmark table.
struct BenchRow {
    var name: String, key: String
    var seconds: Double, flops: Double
    var milliseconds: Double { seconds * 1000 }
    var gflops: Double { flops / seconds / 1e9 }

    static let header = String(format: "%-42@ %12@ %10@", "operation" as NSString, "ms / call" as NSString, "GFLOP/s" as NSString)
    var formatted: String {
        String(format: "%-42@ %12.3f %10.1f", name as NSString, milliseconds, gflops)
    }
}
