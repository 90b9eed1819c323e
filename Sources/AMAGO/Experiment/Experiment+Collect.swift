import Foundation

extension Experiment {
    /// Collects `steps` lock-step steps with `actors` fresh actors as an epoch's collection phase
    /// does (the training policy sampling, the spec's exploration, every finished trial written
    /// to the replay buffer), outside the epoch loop: no metrics are recorded and the run's step
    /// counts stay as they are. For throughput measurements (`amago bench collect`).
    /// - Returns: the env steps taken, `actors × steps`.
    /// - Throws: `invalidConfiguration` for an external environment (its clients collect).
    public func collect(actors: Int, steps: Int) throws -> Int {
        guard collection == nil else {
            throw AMAGOError.invalidConfiguration(field: "environment.name", message: "an external environment is collected by its clients")
        }
        try actingAgent.copyWeights(from: agent)
        let group = try ActorGroup(environments: makeEnvironments(count: actors, seedOffset: 2_000_003), agent: actingAgent,
                                   seed: spec.seed &* 17 &+ 2_000_003)
        let exploration = Exploration(schedule: spec.explorationSchedule(), actors: actors, using: explorationRNG)
        let stats = try group.run(steps: steps, agent: actingAgent, sample: true, exploration: exploration, shouldStop: { false }) { trajectory, name in
            try buffer.add(trajectory, environmentName: name)
        }
        return stats.steps
    }
}
