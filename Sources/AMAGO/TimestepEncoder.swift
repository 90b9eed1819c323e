import Autograd
import NeuralNet

// Per-timestep encoders (spec §2). Shape letters: B batch, L length, F features.

/// Running per-feature normalisation of the encoder's inputs (spec §2.2). Statistics update on
/// every training-mode forward, before that batch is normalised; rows that are all padding
/// are left out.
public final class InputNorm: Module {
    /// Buffers (F): running mean and second moment; (1): the update counter.
    public let mean: Tensor, secondMoment: Tensor, counter: Tensor
    public let beta: Float
    /// Whether the statistics are applied (they are tracked either way).
    public let isApplied: Bool

    public init(features: Int, beta: Float = 1e-4, initialSecondMoment: Float = 1, applied: Bool = true) {
        mean = Tensor.zeros([features])
        secondMoment = Tensor.full([features], value: initialSecondMoment)
        counter = Tensor.ones([1])
        self.beta = beta
        isApplied = applied
    }

    /// σ = clamp(nan→0(√(ν − μ² + 1e-5)), 1e-3, 1e6) per feature.
    public var sigma: [Float] {
        zip(mean.data, secondMoment.data).map { m, v in
            let s = (v - m * m + 1e-5).squareRoot()
            return Swift.min(Swift.max(s.isNaN ? 0 : s, 1e-3), 1e6)
        }
    }

    /// (B, L, F) → (B, L, F): `clamp((x − μ)/σ, ±1e4)` where σ > 0.01, else `x − μ`.
    /// - Parameter validRows: (B·L) 1 for rows that count towards the statistics; when nil, a
    ///   row counts unless every feature equals the padding value (the reference's rule, which
    ///   agrees with the batch's mask whenever padding is exactly 4.0).
    public func callAsFunction(_ x: Tensor, validRows: [Float]? = nil) throws -> Tensor {
        if isTraining { update(x, validRows: validRows) }
        guard isApplied else { return x }
        let s = sigma
        let scale = try Tensor(shape: [s.count], data: s.map { $0 > 0.01 ? 1 / $0 : 1 })
        return try ((x - mean.detached()) * scale).clamp(min: -1e4, max: 1e4)
    }

    func update(_ x: Tensor, validRows: [Float]?) {
        let f = mean.count, rows = x.count / f
        var sum = [Double](repeating: 0, count: f), squares = sum
        var used = 0
        for r in 0..<rows {
            let row = x.data[(r * f)..<(r * f + f)]
            if let validRows, validRows[r] == 0 { continue }
            if validRows == nil && row.allSatisfy({ $0 == Batch.padding }) { continue }
            used += 1
            for (i, v) in row.enumerated() { sum[i] += Double(v); squares[i] += Double(v) * Double(v) }
        }
        let t = counter.data[0] + 1
        let betaT = beta / (1 - powf(1 - beta, t))
        let total = Float(used) + 1e-5
        let newMean = (0..<f).map { (1 - betaT) * mean.data[$0] + betaT * Float(sum[$0]) / total }
        let newSecond = (0..<f).map { (1 - betaT) * secondMoment.data[$0] + betaT * Float(squares[$0]) / total }
        try? mean.assign(newMean)
        try? secondMoment.assign(newSecond)
        try? counter.assign([t])
    }
}

/// The default timestep encoder (spec §2.3): `concat(observation, rl2)` → InputNorm →
/// MLP(in, d_hidden, n_layers, d_output) → LayerNorm.
public final class TimestepEncoder: Module {
    public let inputNorm: InputNorm
    public let mlp: MLP
    public let outputNorm: LayerNorm
    /// Width of each encoded timestep.
    public let outputWidth: Int

    public init(observationWidth: Int, rl2Width: Int, hidden: Int = 512, layers: Int = 2, output: Int = 256,
                activation: Activation = .leakyReLU, normalizeInputs: Bool = true, using rng: RandomGenerator) {
        let inputs = observationWidth + rl2Width
        inputNorm = InputNorm(features: inputs, applied: normalizeInputs)
        mlp = MLP(inputs: inputs, hidden: hidden, layers: layers, outputs: output, activation: activation, using: rng)
        outputNorm = LayerNorm(width: output)
        outputWidth = output
    }

    /// (B, L, O) and (B, L, 1 + A) → (B, L, d_output).
    /// - Parameter validRows: (B·L) which rows are real, for the input statistics.
    public func callAsFunction(observations: Tensor, rl2: Tensor, validRows: [Float]? = nil) throws -> Tensor {
        let x = try Tensor.concatenate([observations, rl2], axis: -1)
        return try outputNorm(mlp(inputNorm(x, validRows: validRows)))
    }
}

import Foundation
