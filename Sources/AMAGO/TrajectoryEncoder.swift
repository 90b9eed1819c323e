import Autograd
import NeuralNet

// Trajectory encoders (spec §3): sequence models over encoded timesteps. Shape letters:
// B batch, L length, I input width, D output width, N actors.

/// Per-actor memory of a trajectory encoder during rollouts.
public final class EncoderMemory {
    /// The Transformer's key/value caches, if the encoder is a Transformer.
    public var transformer: TransformerMemory?
    /// The GRU's state (layers, N, S), if the encoder is a GRU.
    public var recurrentState: Tensor?
    public let actors: Int

    init(actors: Int) { self.actors = actors }

    /// Forgets the past of the actors whose trials ended.
    public func reset(where done: [Bool]) throws {
        guard done.count == actors else {
            throw AMAGOError.invalidBatch("reset needs one flag per actor (\(actors)), got \(done.count)")
        }
        try transformer?.reset(where: done)
        if let state = recurrentState {
            let (layers, width) = (state.shape[0], state.shape[2])
            var data = state.data
            for l in 0..<layers { for n in 0..<actors where done[n] { for i in 0..<width { data[(l * actors + n) * width + i] = 0 } } }
            recurrentState = try Tensor(shape: state.shape, data: data)
        }
    }
}

/// A sequence model that runs over whole sequences in training and one step at a time, with
/// memory, in rollouts; both give the same outputs for the same inputs.
public protocol TrajectoryEncoder: Module {
    /// D
    var outputWidth: Int { get }
    /// Training pass: (B, L, I) with B·L absolute time indices → (B, L, D).
    func callAsFunction(_ x: Tensor, times: [Int]) throws -> Tensor
    /// An empty memory for `actors` actors.
    func makeMemory(actors: Int) throws -> EncoderMemory
    /// One step for the actors of several memories: (N, 1, I) → (N, 1, D), the rows being the
    /// memories' actors in order; each memory then includes its actors' step. Every actor's
    /// output is the one it would get stepped alone (up to floating-point rounding).
    func step(_ x: Tensor, times: [Int], memories: [EncoderMemory]) throws -> Tensor
}

extension TrajectoryEncoder {
    /// One step for every actor: (N, 1, I) → (N, 1, D); the memory then includes the step.
    public func step(_ x: Tensor, times: [Int], memory: EncoderMemory) throws -> Tensor {
        try step(x, times: times, memories: [memory])
    }
}

/// The Transformer encoder (spec §3.1–3.2); rollouts keep at most `contextLength` tokens.
public final class TransformerEncoder: Module, TrajectoryEncoder {
    public let transformer: Transformer
    public let contextLength: Int
    public var outputWidth: Int { transformer.configuration.dModel }

    public init(_ configuration: TransformerConfiguration, contextLength: Int, using rng: RandomGenerator) {
        transformer = Transformer(configuration, using: rng)
        self.contextLength = contextLength
    }

    public func callAsFunction(_ x: Tensor, times: [Int]) throws -> Tensor { try transformer(x, times: times) }

    public func makeMemory(actors: Int) throws -> EncoderMemory {
        let memory = EncoderMemory(actors: actors)
        memory.transformer = try transformer.makeMemory(actors: actors, capacity: contextLength)
        return memory
    }

    public func step(_ x: Tensor, times: [Int], memories: [EncoderMemory]) throws -> Tensor {
        let caches = memories.compactMap(\.transformer)
        guard caches.count == memories.count else { throw AMAGOError.invalidBatch("memory was not made by a Transformer encoder") }
        return try transformer.step(x, times: times, memories: caches)
    }
}

/// The GRU encoder (spec §3.3): GRU → Linear → LayerNorm; time indices are unused.
public final class GRUEncoder: Module, TrajectoryEncoder {
    public let gru: GRU
    public let output: Linear
    public let norm: LayerNorm
    public var outputWidth: Int { norm.gain.count }

    public init(inputs: Int, hidden: Int = 256, layers: Int = 2, outputs: Int = 256, using rng: RandomGenerator) {
        gru = GRU(inputs: inputs, width: hidden, layers: layers, using: rng)
        output = Linear(inputs: hidden, outputs: outputs, using: rng)
        norm = LayerNorm(width: outputs)
    }

    public func callAsFunction(_ x: Tensor, times: [Int]) throws -> Tensor { try norm(output(gru(x).output)) }

    public func makeMemory(actors: Int) throws -> EncoderMemory {
        let memory = EncoderMemory(actors: actors)
        memory.recurrentState = gru.initialState(batch: actors)
        return memory
    }

    public func step(_ x: Tensor, times: [Int], memories: [EncoderMemory]) throws -> Tensor {
        let states = memories.compactMap(\.recurrentState)
        guard states.count == memories.count else { throw AMAGOError.invalidBatch("memory was not made by a GRU encoder") }
        let joined = states.count == 1 ? states[0] : try Tensor.concatenate(states, axis: 1)
        let (out, state) = try gru(x, state: joined)
        let parts = memories.count == 1 ? [state] : try state.split(sizes: memories.map(\.actors), axis: 1)
        for (memory, part) in zip(memories, parts) { memory.recurrentState = part }
        return try norm(output(out))
    }
}

/// The memory-free encoder (spec §3.4): each timestep on its own through residual blocks.
public final class FeedForwardEncoder: Module, TrajectoryEncoder {
    public let input: Linear
    public let blocks1: [Linear], blocks2: [Linear]
    public let output: Linear
    public let norm: LayerNorm
    public let activation: Activation
    public let dropout: Float
    let rng: RandomGenerator
    public var outputWidth: Int { norm.gain.count }

    public init(inputs: Int, dModel: Int = 256, layers: Int = 1, activation: Activation = .leakyReLU, dropout: Float = 0,
                using rng: RandomGenerator) {
        input = Linear(inputs: inputs, outputs: dModel, using: rng)
        blocks1 = (0..<layers).map { _ in Linear(inputs: dModel, outputs: 4 * dModel, using: rng) }
        blocks2 = (0..<layers).map { _ in Linear(inputs: 4 * dModel, outputs: dModel, using: rng) }
        output = Linear(inputs: dModel, outputs: dModel, using: rng)
        norm = LayerNorm(width: dModel)
        self.activation = activation
        self.dropout = dropout
        self.rng = rng
    }

    /// `h = drop(act(W_in x))`; per block `h += drop(act(FF2(drop(act(FF1 h)))))`; `drop(LN(W_out h))`.
    public func callAsFunction(_ x: Tensor, times: [Int]) throws -> Tensor {
        func drop(_ t: Tensor) throws -> Tensor { try t.dropout(probability: dropout, training: isTraining, using: rng) }
        var h = try drop(activation(input(x)))
        for (ff1, ff2) in zip(blocks1, blocks2) {
            h = try h + drop(activation(ff2(drop(activation(ff1(h))))))
        }
        return try drop(norm(output(h)))
    }

    public func makeMemory(actors: Int) throws -> EncoderMemory { EncoderMemory(actors: actors) }

    public func step(_ x: Tensor, times: [Int], memories: [EncoderMemory]) throws -> Tensor { try self(x, times: times) }
}
