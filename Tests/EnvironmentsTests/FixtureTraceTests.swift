import Environments
import Foundation
import Testing
import TestSupport

/// Replays the reference traces of `envs.json` step by step.
@Suite struct FixtureTraceTests {
    /// Steps `env` through a trace whose reset observation `first` has already been produced.
    func replay(_ env: any Environment, first: [Float], trace: [String: Any], label: String) throws {
        let actions = trace.ints("actions")
        let observations = trace.rows("observations")
        let rewards = trace.doubles("rewards")
        let terminated = trace.bools("terminated"), truncated = trace.bools("truncated")
        let infos = trace.objects("infos")
        #expect(observations.count == actions.count + 1, "\(label)")
        #expect(isClose(first, observations[0]), "\(label) reset: \(first) vs \(observations[0])")
        for (t, a) in actions.enumerated() {
            let r = try env.step(.discrete(a))
            #expect(isClose(r.observation, observations[t + 1]), "\(label) step \(t): \(r.observation) vs \(observations[t + 1])")
            #expect(abs(r.reward - rewards[t]) <= 1e-6, "\(label) step \(t) reward \(r.reward) vs \(rewards[t])")
            #expect(r.isTerminated == terminated[t], "\(label) step \(t) terminated")
            #expect(r.isTruncated == truncated[t], "\(label) step \(t) truncated")
            #expect(r.info.metrics == fixtureMetrics(infos[t]), "\(label) step \(t) info \(r.info.metrics)")
        }
    }

    func tmazeTraces(_ key: String, variant: TMaze.Variant) throws {
        let section = try loadFixture("envs.json").object(key)
        let kwargs = section.object("kwargs")
        let params = TMaze.Parameters(variant: variant, corridorLength: kwargs.int("corridor_length"),
                                      goalReward: kwargs["goal_reward"] as? Double ?? .nan,
                                      penalty: kwargs["penalty"] as? Double ?? .nan)
        let env = try TMaze(params)
        let derived = section.object("derived")
        #expect(env.episodeLength == derived.int("episode_length"))
        #expect(env.junctionX == derived.int("junction_x"))
        let episodes = section.objects("episodes")
        #expect(episodes.count >= 3)
        for episode in episodes {
            let first = env.reset(goalY: episode.object("hidden_task").int("goal_y"))
            try replay(env, first: first, trace: episode, label: episode["label"] as? String ?? key)
            let last = episode.objects("hidden_state_per_step").last ?? [:]
            #expect(env.x == last.int("x") && env.y == last.int("y") && env.timeStep == last.int("time_step"))
            #expect(env.oracleVisited == (last["oracle_visited"] as? Bool))
        }
    }

    @Test func tmaze_passiveTraceMatchesFixture() throws { try tmazeTraces("tmaze_passive", variant: .passive) }

    @Test func tmaze_activeTraceMatchesFixture() throws { try tmazeTraces("tmaze_active", variant: .active) }

    func lakeTrace(_ key: String) throws {
        let section = try loadFixture("envs.json").object(key)
        let kwargs = section.object("kwargs")
        let params = MetaFrozenLake.Parameters(size: kwargs.int("size"), kEpisodes: kwargs.int("k_episodes"),
                                               recoverMode: kwargs["recover_mode"] as? Bool ?? false)
        let env = try MetaFrozenLake(params)
        #expect(env.maxEpisodeSteps == section.object("derived").int("max_episode_steps"))
        let rows = section.object("hidden_task")["layout_rows_indexed_by_x"] as? [String] ?? []
        let first = env.reset(map: try LakeMap(rows: rows))
        try replay(env, first: first, trace: section, label: key)
        let last = section.objects("hidden_state_per_step").last ?? [:]
        #expect(env.currentK == last.int("current_k") && env.episodeSteps == last.int("episode_steps"))
    }

    @Test func metaFrozenLake_traceMatchesFixture() throws { try lakeTrace("meta_frozen_lake") }

    @Test func metaFrozenLake_recoverModeTraceMatchesFixture() throws { try lakeTrace("meta_frozen_lake_recover") }

    func roomTrace(_ key: String) throws {
        let section = try loadFixture("envs.json").object(key)
        let kwargs = section.object("kwargs")
        func cell(_ name: String) -> GridCell? {
            (kwargs[name] as? [Int]).map { GridCell($0[0], $0[1]) }
        }
        let params = RoomKeyDoor.Parameters(
            dark: kwargs["dark"] as? Bool ?? true, size: kwargs.int("size"),
            maxEpisodeSteps: kwargs.int("max_episode_steps"), metaRolloutHorizon: kwargs.int("meta_rollout_horizon"),
            startLocation: cell("start_location"), keyLocation: cell("key_location"), goalLocation: cell("goal_location"))
        let env = try RoomKeyDoor(params)
        let first = env.reset(seed: 3)
        #expect(env.observationSize == section.object("observation_space")["shape"].flatMap { ($0 as? [Int])?.first })
        try replay(env, first: first, trace: section, label: key)
        let last = section.objects("hidden_state_per_step").last ?? [:]
        #expect([env.position.x, env.position.y] == last["pos"] as? [Int])
        #expect(env.globalTime == last.int("global_time") && env.episodeTime == last.int("episode_time"))
        #expect(env.resetNextStep == (last["reset_next_step"] as? Bool))
    }

    @Test func roomKeyDoor_darkTraceMatchesFixture() throws { try roomTrace("room_key_door_dark") }

    @Test func roomKeyDoor_lightTraceMatchesFixture() throws { try roomTrace("room_key_door_light") }
}
