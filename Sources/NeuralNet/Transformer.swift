import Autograd
import Foundation

// The causal Transformer of spec §3.1. Shape letters: B batch, L length, D d_model, H heads,
// E head width (D = H·E), F feed-forward width, N actors (one-step inference).

/// How positions enter the Transformer.
public enum PositionEmbedding: Codable, Equatable, Sendable {
    /// Sinusoids of the absolute time index (no parameters).
    case fixed
    /// A table of `maxTime` learned vectors, initialised N(0, 1).
    case learnable(maxTime: Int)
    /// Rotary embedding of queries and keys inside attention.
    case rotary
}

/// The Transformer's hyperparameters, with the defaults of spec §3.1.
public struct TransformerConfiguration: Codable, Equatable, Sendable {
    /// Width of each input token.
    public var inputs: Int
    /// Model width D, attention heads H, feed-forward width F, and layer count.
    public var dModel = 256, heads = 8, dFeedForward = 1024, layers = 3
    /// Dropout after the feed-forward block and on the embedded input.
    public var dropoutFeedForward: Float = 0.05, dropoutEmbedding: Float = 0.05
    /// The feed-forward activation.
    public var activation: Activation = .leakyReLU
    /// How positions (absolute time indices) enter the model.
    public var positionEmbedding: PositionEmbedding = .fixed
    /// σ-reparameterised projections, NormFormer's extra norms, learnable per-head scales.
    public var sigmaReparam = true, normformerNorms = true, headScaling = true
    /// Training-time attention reach in tokens (nil: the whole sequence). Set it to the
    /// inference memory's capacity to train on exactly what one-step inference will see.
    public var attentionWindow: Int? = nil

    /// The spec defaults for tokens of `inputs` features.
    public init(inputs: Int) { self.inputs = inputs }
}

/// A linear map that is σ-reparameterised or plain, as configured.
enum ProjectionLayer {
    case plain(Linear), sigma(SigmaReparamLinear)
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch self {
        case .plain(let l): return try l(x)
        case .sigma(let l): return try l(x)
        }
    }
    var module: Module {
        switch self {
        case .plain(let l): return l
        case .sigma(let l): return l
        }
    }
    static func make(_ sigma: Bool, _ inputs: Int, _ outputs: Int, bias: Bool, _ rng: RandomGenerator) -> ProjectionLayer {
        sigma ? .sigma(SigmaReparamLinear(inputs: inputs, outputs: outputs, bias: bias, using: rng))
              : .plain(Linear(inputs: inputs, outputs: outputs, bias: bias, using: rng))
    }
}

/// One pre-norm Transformer layer with NormFormer's extra norms:
/// `x ← x + Norm2(Attention(Norm1 x))`, `x ← x + Dropout(FF2(Norm4(act(FF1(Norm3 x)))))`.
public final class TransformerLayer: Module {
    /// Pre-norms of the attention and feed-forward blocks.
    public let norm1: LayerNorm, norm3: LayerNorm
    /// Identity when NormFormer norms are off.
    public let norm2: LayerNorm?, norm4: LayerNorm?
    /// Projections; `qkv` has no bias and lays its 3·D outputs out as (three, H, E).
    let qkv: Module, output: Module, feedForward1: Module, feedForward2: Module
    private let projections: [ProjectionLayer]
    /// (H, 1): per-head output scale, initialised to 1 (trainable iff head scaling is on).
    public let headScaler: Tensor
    let configuration: TransformerConfiguration
    let rng: RandomGenerator

    /// A layer with fresh weights (spec §4.7 initialisation).
    public init(_ c: TransformerConfiguration, using rng: RandomGenerator) {
        configuration = c
        self.rng = rng
        norm1 = LayerNorm(width: c.dModel)
        norm3 = LayerNorm(width: c.dModel)
        norm2 = c.normformerNorms ? LayerNorm(width: c.dModel) : nil
        norm4 = c.normformerNorms ? LayerNorm(width: c.dFeedForward) : nil
        projections = [
            .make(c.sigmaReparam, c.dModel, 3 * c.dModel, bias: false, rng),
            .make(c.sigmaReparam, c.dModel, c.dModel, bias: true, rng),
            .make(c.sigmaReparam, c.dModel, c.dFeedForward, bias: true, rng),
            .make(c.sigmaReparam, c.dFeedForward, c.dModel, bias: true, rng),
        ]
        (qkv, output, feedForward1, feedForward2) = (projections[0].module, projections[1].module,
                                                     projections[2].module, projections[3].module)
        headScaler = Tensor.ones([c.heads, 1]).requiringGrad(c.headScaling)
    }

    /// The whole-sequence (training) pass: (B, L, D) → (B, L, D).
    /// - Parameter positions: absolute time index of each of the B·L tokens (used by rotary).
    public func callAsFunction(_ x: Tensor, positions: [Float]) throws -> Tensor {
        try forward(x, positions: positions, caches: nil)
    }

    /// One-token inference with this layer's key/value memory: (N, 1, D) → (N, 1, D).
    public func step(_ x: Tensor, positions: [Float], cache: KeyValueCache) throws -> Tensor {
        try forward(x, positions: positions, caches: [cache])
    }

    /// One-token inference for actors held in several caches: the rows of x are the caches'
    /// actors in order.
    public func step(_ x: Tensor, positions: [Float], caches: [KeyValueCache]) throws -> Tensor {
        try forward(x, positions: positions, caches: caches)
    }

    func forward(_ x: Tensor, positions: [Float], caches: [KeyValueCache]?) throws -> Tensor {
        let c = configuration
        guard x.rank == 3, x.shape[2] == c.dModel, positions.count == x.shape[0] * x.shape[1] else {
            throw AutogradError.shapeMismatch(op: "TransformerLayer", lhs: x.shape, rhs: [positions.count, c.dModel])
        }
        let (b, l) = (x.shape[0], x.shape[1])  // x: (B, L, D)
        // Attention block.
        let qkv = try projections[0](norm1(x))
        var attended: Tensor
        if caches == nil, c.positionEmbedding != .rotary {
            // The whole sequence at once: attention reads the packed projection in place.
            attended = try Tensor.causalAttention(packed: qkv, heads: c.heads, window: c.attentionWindow)
        } else {
            var qkvOut = try qkv.split(sizes: [c.dModel, c.dModel, c.dModel], axis: -1)
            if c.positionEmbedding == .rotary {
                qkvOut[0] = try qkvOut[0].rotaryEmbedding(positions: positions, heads: c.heads)
                qkvOut[1] = try qkvOut[1].rotaryEmbedding(positions: positions, heads: c.heads)
            }
            attended = try caches.map { try KeyValueCache.attend(caches: $0, query: qkvOut[0], key: qkvOut[1], value: qkvOut[2]) }
                ?? Tensor.causalAttention(query: qkvOut[0], key: qkvOut[1], value: qkvOut[2], heads: c.heads,
                                          window: c.attentionWindow)
        }
        if c.headScaling {
            attended = try (attended.reshaped([b, l, c.heads, c.dModel / c.heads]) * headScaler).reshaped([b, l, c.dModel])
        }
        var a = try projections[1](attended)
        if let norm2 { a = try norm2(a) }
        let h = try x + a
        // Feed-forward block.
        var f = try c.activation(projections[2](norm3(h)))
        if let norm4 { f = try norm4(f) }
        f = try projections[3](f).dropout(probability: c.dropoutFeedForward, training: isTraining, using: rng)
        return try h + f
    }
}

/// Per-layer key/value memories of a Transformer for N actors stepping one token at a time.
public final class TransformerMemory {
    /// One cache per layer, first layer first.
    public let caches: [KeyValueCache]

    /// Empty memories of `capacity` tokens for `actors` actors in each of `layers` layers.
    public init(layers: Int, actors: Int, capacity: Int, heads: Int, width: Int) throws {
        caches = try (0..<layers).map { _ in try KeyValueCache(actors: actors, capacity: capacity, heads: heads, width: width) }
    }

    /// Tokens each actor currently remembers.
    public var lengths: [Int] { caches.first?.lengths ?? [] }

    /// Forgets everything for the actors whose trials ended.
    public func reset(where done: [Bool]) throws { for c in caches { try c.reset(where: done) } }
}

/// The full encoder: `Linear_in(x) + PE(t)` → dropout → layers → final LayerNorm.
public final class Transformer: Module {
    /// `Linear_in`: input features → D.
    public let inputProjection: Linear
    /// The layers, applied in order.
    public let layers: [TransformerLayer]
    /// The LayerNorm after the last layer.
    public let finalNorm: LayerNorm
    /// (maxTime, D) when position embeddings are learnable.
    public let positionTable: Tensor?
    /// The hyperparameters the model was built with.
    public let configuration: TransformerConfiguration
    let rng: RandomGenerator

    /// A model with fresh weights (spec §4.7 initialisation).
    public init(_ c: TransformerConfiguration, using rng: RandomGenerator) {
        configuration = c
        self.rng = rng
        inputProjection = Linear(inputs: c.inputs, outputs: c.dModel, using: rng)
        if case .learnable(let maxTime) = c.positionEmbedding {
            positionTable = Tensor.normal([maxTime, c.dModel], using: rng).requiringGrad()
        } else {
            positionTable = nil
        }
        layers = (0..<c.layers).map { _ in TransformerLayer(c, using: rng) }
        finalNorm = LayerNorm(width: c.dModel)
    }

    /// Training pass over whole sequences: (B, L, in) with B·L absolute time indices → (B, L, D).
    public func callAsFunction(_ x: Tensor, times: [Int]) throws -> Tensor {
        var h = try embed(x, times: times)
        let positions = times.map(Float.init)
        for layer in layers { h = try layer(h, positions: positions) }
        return try finalNorm(h)
    }

    /// One-token inference for N actors: (N, 1, in) → (N, 1, D); the memory then holds this token.
    public func step(_ x: Tensor, times: [Int], memory: TransformerMemory) throws -> Tensor {
        try step(x, times: times, memories: [memory])
    }

    /// One-token inference for the actors of several memories at once: the rows of x (and of
    /// the result) are the memories' actors in order; each memory then holds its actors' token.
    public func step(_ x: Tensor, times: [Int], memories: [TransformerMemory]) throws -> Tensor {
        for memory in memories where memory.caches.count != layers.count {
            throw AutogradError.invalidArgument(op: "Transformer.step", message: "memory has \(memory.caches.count) layers, model \(layers.count)")
        }
        var h = try embed(x, times: times)
        let positions = times.map(Float.init)
        for (i, layer) in layers.enumerated() {
            h = try layer.step(h, positions: positions, caches: memories.map { $0.caches[i] })
        }
        for memory in memories { for cache in memory.caches { cache.advance() } }
        return try finalNorm(h)
    }

    /// A memory for `actors` actors holding at most `capacity` tokens each.
    public func makeMemory(actors: Int, capacity: Int) throws -> TransformerMemory {
        try TransformerMemory(layers: layers.count, actors: actors, capacity: capacity,
                              heads: configuration.heads, width: configuration.dModel)
    }

    func embed(_ x: Tensor, times: [Int]) throws -> Tensor {
        let c = configuration
        guard x.rank == 3, times.count == x.shape[0] * x.shape[1] else {
            throw AutogradError.shapeMismatch(op: "Transformer input", lhs: x.shape, rhs: [times.count])
        }
        var h = try inputProjection(x)
        switch c.positionEmbedding {
        case .fixed:
            h = try h + Transformer.sinusoidalEmbedding(times: times, width: c.dModel, shape: h.shape)
        case .learnable:
            h = try h + positionTable!.embedding(indices: times, shape: [x.shape[0], x.shape[1]])
        case .rotary:
            break
        }
        return try h.dropout(probability: c.dropoutEmbedding, training: isTraining, using: rng)
    }

    /// PE[2i] = sin(t·ωᵢ), PE[2i+1] = cos(t·ωᵢ), ωᵢ = exp(−2i·ln(10000)/d).
    public static func sinusoidalEmbedding(times: [Int], width: Int, shape: [Int]) throws -> Tensor {
        var data = [Float](repeating: 0, count: times.count * width)
        let frequencies = (0..<(width / 2)).map { i in Foundation.exp(-2 * Double(i) * Foundation.log(10000.0) / Double(width)) }
        var firstRow: [Int: Int] = [:]  // a time index seen before: its row is copied
        data.withUnsafeMutableBufferPointer { p in
            for (r, t) in times.enumerated() {
                let row = p.baseAddress! + r * width
                if let earlier = firstRow[t] {
                    row.update(from: p.baseAddress! + earlier * width, count: width)
                    continue
                }
                firstRow[t] = r
                for i in 0..<(width / 2) {
                    let angle = Double(t) * frequencies[i]
                    row[2 * i] = Float(Foundation.sin(angle))
                    row[2 * i + 1] = Float(Foundation.cos(angle))
                }
            }
        }
        return try Tensor(shape: shape, data: data)
    }
}
