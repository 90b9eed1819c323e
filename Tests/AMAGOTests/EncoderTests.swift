import AMAGO
import Autograd
import NeuralNet
import Testing
import TestSupport

/// One-step inference with memory reproduces the whole-sequence (training) outputs.
@Suite struct EncoderTests {
    static func encoders() -> [(String, any TrajectoryEncoder)] {
        let rng = RandomGenerator(seed: 1)
        var t = TransformerConfiguration(inputs: 5)
        t.dModel = 16; t.heads = 4; t.dFeedForward = 32; t.layers = 2
        var wide = t  // heads of 16 features: the cache's eight-lane kernels
        wide.heads = 1
        return [("transformer", TransformerEncoder(t, contextLength: 32, using: rng)),
                ("transformer, wide heads", TransformerEncoder(wide, contextLength: 32, using: rng)),
                ("gru", GRUEncoder(inputs: 5, hidden: 12, layers: 2, outputs: 16, using: rng)),
                ("feedForward", FeedForwardEncoder(inputs: 5, dModel: 16, layers: 2, using: rng))]
    }

    /// Two actors step through 9 timesteps; actor 1's trial ends after step 4, so from step 5
    /// its outputs must equal a fresh sequence started there.
    @Test(arguments: 0..<4)
    func stepwiseInference_matchesTrainingPass(index: Int) throws {
        let (name, encoder) = Self.encoders()[index]
        encoder.train(false)
        let steps = 9, resetAt = 5
        let x = randomTensor([2, steps, 5], seed: 2)
        let memory = try encoder.makeMemory(actors: 2)
        // Reference outputs: actor 0 over the whole sequence; actor 1 over its two trials.
        let actor0 = try encoder(x.slice(axis: 0, 0..<1), times: Array(0..<steps))
        let firstTrial = try encoder(x.slice(axis: 0, 1..<2).slice(axis: 1, 0..<resetAt), times: Array(0..<resetAt))
        let secondTrial = try encoder(x.slice(axis: 0, 1..<2).slice(axis: 1, resetAt..<steps), times: Array(0..<(steps - resetAt)))
        for t in 0..<steps {
            if t == resetAt { try memory.reset(where: [false, true]) }
            let times = [t, t < resetAt ? t : t - resetAt]
            let out = try encoder.step(x.slice(axis: 1, t..<(t + 1)), times: times, memory: memory)
            let expected0 = try actor0.slice(axis: 1, t..<(t + 1)).data
            let expected1 = t < resetAt ? try firstTrial.slice(axis: 1, t..<(t + 1)).data
                                        : try secondTrial.slice(axis: 1, (t - resetAt)..<(t - resetAt + 1)).data
            #expect(isClose(Array(out.data[0..<16]), expected0, relative: 1e-5, absolute: 1e-5), "\(name) actor 0 step \(t)")
            #expect(isClose(Array(out.data[16..<32]), expected1, relative: 1e-5, absolute: 1e-5), "\(name) actor 1 step \(t)")
        }
    }
}
