import AMAGO
import Autograd
import Environments
import Testing
import TestSupport

/// Stepping the memories of several sessions in one pass gives each actor what it gets alone.
@Suite struct BatchedInferenceTests {
    static func agent(_ encoder: String) throws -> Agent {
        var c = AgentFixtures.tinyConfiguration(.agent)
        if encoder == "gru" { c.encoder = .gru(hidden: 8, layers: 2, outputs: 8) }
        return try Agent(observationWidth: 3, actionSpace: .continuous(dimension: 2), configuration: c, seed: 4)
    }

    /// Five one-actor memories of different context lengths (one past the window, one reset
    /// mid-way) step together, twice; each must match a twin memory stepped on its own.
    @Test(arguments: ["transformer", "gru"])
    func severalMemoriesInOnePass_matchEachMemoryAlone(encoder: String) throws {
        let agent = try Self.agent(encoder)
        let rng = RandomGenerator(seed: 9)
        func input() -> (obs: [Float], rl2: [Float]) { ((0..<3).map { _ in rng.uniform(-1, 1) }, (0..<3).map { _ in rng.uniform(-1, 1) }) }
        let prior = [0, 1, 3, 6, 11]  // steps already taken; the window holds 8
        let batched = try prior.map { _ in try agent.makeMemory(actors: 1) }
        let alone = try prior.map { _ in try agent.makeMemory(actors: 1) }
        var times = [Int](repeating: 0, count: prior.count)
        for (i, steps) in prior.enumerated() {
            for t in 0..<steps {
                let x = input()
                if i == 3 && t == 4 {  // a new trial
                    for m in [batched[i], alone[i]] { try m.reset(where: [true]) }
                    times[i] = 0
                }
                for m in [batched[i], alone[i]] {
                    _ = try agent.policyParameters(observations: [x.obs], rl2: [x.rl2], times: [times[i]], memories: [m])
                }
                times[i] += 1
            }
        }
        for round in 0..<2 {
            let inputs = prior.map { _ in input() }
            let together = try agent.policyParameters(observations: inputs.map(\.obs), rl2: inputs.map(\.rl2),
                                                      times: times, memories: batched)
            let width = together.shape[1]
            for i in prior.indices {
                let single = try agent.policyParameters(observations: [inputs[i].obs], rl2: [inputs[i].rl2],
                                                        times: [times[i]], memories: [alone[i]])
                let row = Array(together.data[(i * width)..<((i + 1) * width)])
                #expect(isClose(row, single.data, relative: 1e-5, absolute: 1e-5), "\(encoder) memory \(i) round \(round)")
            }
            if encoder == "transformer" {
                #expect(batched.map { $0.transformer?.lengths } == alone.map { $0.transformer?.lengths })
            }
            times = times.map { $0 + 1 }
        }
        // Greedy actions agree too, and a memory count that does not match the rows is refused.
        let inputs = prior.map { _ in input() }
        let actions = try agent.act(observations: inputs.map(\.obs), rl2: inputs.map(\.rl2), times: times, memories: batched, sample: false)
        for i in prior.indices {
            let single = try agent.act(observations: [inputs[i].obs], rl2: [inputs[i].rl2], times: [times[i]], memory: alone[i], sample: false)
            guard case .continuous(let a)? = single.first, case .continuous(let b) = actions[i] else {
                Issue.record("continuous actions expected"); continue
            }
            #expect(isClose(b, a, relative: 1e-5, absolute: 1e-5), "\(encoder) action \(i)")
        }
        #expect(throws: AMAGOError.self) {
            try agent.act(observations: [inputs[0].obs], rl2: [inputs[0].rl2], times: [0], memories: batched, sample: false)
        }
    }
}
