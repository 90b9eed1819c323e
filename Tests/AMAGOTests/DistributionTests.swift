import AMAGO
import Autograd
import Testing
import TestSupport

@Suite struct DistributionTests {
    @Test func discrete_matchesFixture() throws {
        let f = try Fixture("dists")
        let raw = try f.array(["discrete", "raw_logits"])
        let policy = try DiscretePolicy(logits: try Tensor(shape: raw.shape, data: raw.data))
        #expect(isClose(policy.probabilities.data, try f.floats(["discrete", "probs"]), relative: 2e-6))
        #expect(isClose(policy.logProbabilities().data, try f.floats(["discrete", "logits_normalized"]), relative: 1e-5))
        let actions = try f.floats(["discrete", "actions"]).map { Int($0) }
        #expect(isClose(try policy.logProbability(of: actions).data, try f.floats(["discrete", "log_prob"]), relative: 1e-5))
        #expect(isClose(try policy.entropy().data, try f.floats(["discrete", "entropy"]), relative: 1e-5))
        #expect(try policy.mode() == (try f.floats(["discrete", "mode_action"]).map { Int($0) }))
        let buffer = try f.array(["discrete", "buffer_onehot"])
        let softened = try DiscretePolicy.softened(try Tensor(shape: buffer.shape, data: buffer.data))
        #expect(isClose(softened.data, try f.floats(["discrete", "action_from_buffer"]), relative: 2e-6))
        #expect(isClose(policy.probabilities.data, try f.floats(["discrete", "discrete_like_continuous_probs"]), relative: 2e-6))
    }

    @Test func discrete_clipsAndSoftensAsSpec() throws {
        let softened = try DiscretePolicy.softened(try DiscretePolicy.oneHot([2], count: 5, shape: [1, 5]))
        #expect(isClose(softened.data, [0.00100604, 0.00100604, 0.99597586, 0.00100604, 0.00100604], relative: 1e-5))
        let policy = try DiscretePolicy(logits: try Tensor(shape: [1, 3], data: [20, 0, 0]))
        #expect(policy.probabilities.data.allSatisfy { $0 >= 0.00099 && $0 <= 0.998 })
        let rng = RandomGenerator(seed: 3)
        let draws = (0..<4000).map { _ in policy.sample(using: rng)[0] }
        #expect(Double(draws.filter { $0 == 0 }.count) / 4000 > 0.98)
    }

    @Test func tanhGaussian_matchesFixture() throws {
        let f = try Fixture("dists")
        let raw = try f.array(["tanh_gaussian", "raw_vec"])
        let policy = try TanhGaussianPolicy(raw: try Tensor(shape: raw.shape, data: raw.data))
        #expect(isClose(policy.std.data, try f.floats(["tanh_gaussian", "std"]), relative: 2e-6))
        #expect(isClose(policy.meanAction().data, try f.floats(["tanh_gaussian", "mean_action"]), relative: 2e-6))
        let actions = try f.array(["tanh_gaussian", "actions"])
        let logp = try policy.logProbability(of: try Tensor(shape: actions.shape, data: actions.data))
        #expect(isClose(logp.data, try f.floats(["tanh_gaussian", "log_prob"]), relative: 1e-5, absolute: 1e-5))
        #expect(isClose(try logp.sum(axis: -1).data, try f.floats(["tanh_gaussian", "log_prob_sum"]), relative: 1e-5, absolute: 1e-5))
        let noise = try f.array(["tanh_gaussian", "rsample_noise"])
        let sample = try policy.sample(noise: try Tensor(shape: noise.shape, data: noise.data))
        #expect(isClose(sample.data, try f.floats(["tanh_gaussian", "rsample"]), relative: 2e-6))
        #expect(isClose(try policy.logProbability(of: sample).data, try f.floats(["tanh_gaussian", "log_prob_of_rsample_fresh_tensor"]),
                         relative: 1e-5, absolute: 1e-4))
    }

    @Test func tanhGaussian_stdIsBoundedAndLogProbIntegratesToOne() throws {
        let raw = try Tensor(shape: [3, 2], data: [0.3, -40, -0.2, 40, 0.1, 0])
        let policy = try TanhGaussianPolicy(raw: raw)
        #expect(policy.std.data.allSatisfy { $0 >= 0.0067 && $0 <= 7.39 })
        // Numerical integration of the squashed density over (−0.99, 0.99) for a broad policy.
        let broad = try TanhGaussianPolicy(raw: try Tensor(shape: [1, 2], data: [0.2, -0.6]))
        let grid = stride(from: Float(-0.985), through: 0.985, by: 0.001).map { $0 }
        let logp = try broad.logProbability(of: try Tensor(shape: [grid.count, 1], data: grid))
        let mass = logp.data.reduce(Float(0)) { $0 + Foundation.exp($1) * 0.001 }
        let tails: Float = 0.02  // the density outside ±0.985 is tiny for this policy but not zero
        #expect(mass > 1 - tails && mass <= 1.0001)
    }

    @Test func gumbelStraightThrough_isOneHotWithSoftGradient() throws {
        let logits = randomTensor([4, 3], seed: 1).requiringGrad()
        let policy = try DiscretePolicy(logits: logits)
        let sample = try policy.relaxedSample(using: RandomGenerator(seed: 2))
        for row in 0..<4 {
            let values = Array(sample.data[(row * 3)..<(row * 3 + 3)])
            #expect(values.sorted() == [0, 0, 1])
        }
        try (sample * randomTensor([4, 3], seed: 3)).sum().backward()
        #expect(logits.grad!.contains { $0 != 0 })
    }
}
import Foundation
