import Environments
import Foundation
import Testing

@Suite struct RegistryAndMixTests {
    func lake() throws -> MetaFrozenLake { try MetaFrozenLake(.init(size: 4, kEpisodes: 2)) }

    @Test func mix_drawsTasksByWeightAndPads() throws {
        let mix = try MultiTaskMix([
            .init(name: "tmaze", weight: 3, environment: try TMaze(.init(corridorLength: 3))),
            .init(name: "recall", weight: 1, environment: try CountRecall(.preset(.easy))),
        ], seed: 2)
        #expect(mix.observationSize == 4 && mix.actionSpace == .discrete(count: 27))
        var tmazeTrials = 0
        for _ in 0..<2000 {
            let obs = mix.reset()
            #expect(obs.count == 4)
            if mix.name == "tmaze" {
                tmazeTrials += 1
                #expect(obs[2] == 0 && obs[3] == 0)
            }
        }
        #expect(abs(Double(tmazeTrials) / 2000 - 0.75) < 0.04)
        // An index the T-Maze lacks falls back to its action 0 ("right").
        _ = mix.reset(taskIndex: 0)
        let r = try mix.step(.discrete(20))
        #expect(r.observation == [0, 0, 0, 0] && (mix.members[0].environment as? TMaze)?.x == 1)
        #expect(throws: EnvironmentError.self) { try mix.step(.discrete(27)) }
    }

    @Test func mix_reportsMetricsPerTaskNameAndMapsToNoOp() throws {
        let mix = try MultiTaskMix([.init(name: "lake", environment: try lake()),
                                    .init(name: "recall", environment: try CountRecall(.preset(.easy)))])
        _ = mix.reset(taskIndex: 0)
        let lakeEnv = try #require(mix.members[0].environment as? MetaFrozenLake)
        _ = lakeEnv.reset(map: try LakeMap(rows: ["SFFF", "FHFF", "HFFF", "FFFG"]))
        // Index 20 exists only for Count Recall; the lake receives its no-op.
        let first = try mix.step(.discrete(20))
        #expect(lakeEnv.x == 0 && lakeEnv.y == 0 && lakeEnv.episodeSteps == 1 && first.observation.count == 4)
        var last = StepResult(observation: [], reward: 0, isTerminated: false, isTruncated: false)
        for _ in 0..<31 { last = try mix.step(.discrete(0)) }   // two timed-out attempts of 16 steps
        #expect(last.isTerminated)
        #expect(last.info.metrics["lake/Episode 1 Success"] == 0 && last.info.metrics["Episode 1 Success"] == 0)
        #expect(last.info.metrics["lake/return"] == 0)
        let mixed = [MultiTaskMix.Member(name: "lake", environment: try lake()),
                     MultiTaskMix.Member(name: "robot", environment: try PointRobot())]
        #expect(throws: EnvironmentError.self) { try MultiTaskMix(mixed) }
    }

    @Test func registry_everyEnvironmentBuildsWithDefaultsAndSteps() throws {
        #expect(EnvironmentRegistry.names == ["tmaze_passive", "tmaze_active", "meta_frozen_lake", "room_key_door", "mazerunner",
                                              "repeat_first", "repeat_previous", "count_recall", "stateless_cartpole",
                                              "point_robot", "multi_task_mix", "external"])
        for d in EnvironmentRegistry.descriptors where d.name != "external" {
            #expect(!d.summary.isEmpty && d.parameters.allSatisfy { !$0.summary.isEmpty && $0.kind.accepts($0.defaultValue) })
            let env = try EnvironmentRegistry.make(name: d.name, parameters: Data("{}".utf8), seed: 1)
            let obs = env.reset(seed: 4)
            #expect(obs.count == env.observationSize, "\(d.name)")
            let action = env.noOpAction ?? (env.actionSpace.width > 0 && env.actionSpace == .discrete(count: env.actionSpace.width)
                                            ? .discrete(0) : .continuous([Float](repeating: 0, count: env.actionSpace.width)))
            let r = try env.step(action)
            #expect(r.observation.count == env.observationSize, "\(d.name)")
            // The same seed replays the same trial.
            let again = try EnvironmentRegistry.make(name: d.name, parameters: Data(), seed: 1)
            #expect(again.reset(seed: 4) == obs, "\(d.name)")
        }
        let tmaze = try EnvironmentRegistry.make(name: "tmaze_active", parameters: Data(#"{"corridor_length": 4, "penalty": -0.25}"#.utf8))
        #expect(tmaze.name == "TMazeAltActive-4")
    }

    @Test func registry_reportsEveryInvalidFieldAtOnce() throws {
        let json = Data(#"{"size": 1, "k_episodes": "ten", "hard_mode": 3, "bogus": true, "slip_chance": 0.5}"#.utf8)
        do {
            _ = try EnvironmentRegistry.make(name: "meta_frozen_lake", parameters: json)
            Issue.record("expected invalidParameters")
        } catch EnvironmentError.invalidParameters(let env, let fields) {
            #expect(env == "meta_frozen_lake")
            #expect(fields.map(\.field).sorted() == ["bogus", "hard_mode", "k_episodes", "size"])
            #expect(fields.first { $0.field == "size" }?.expected.contains("an integer in 2...64") == true)
        }
        let mix = Data(#"{"tasks": [{"name": "tmaze_passive"}, {"name": "tmaze_active", "parameters": {"corridor_length": 0}}, {"name": "nope"}, {"name": "point_robot", "weight": -1}]}"#.utf8)
        do {
            _ = try EnvironmentRegistry.make(name: "multi_task_mix", parameters: mix)
            Issue.record("expected invalidParameters")
        } catch EnvironmentError.invalidParameters(_, let fields) {
            #expect(fields.map(\.field) == ["tasks[1].parameters.corridor_length", "tasks[2].name", "tasks[3].weight"])
        }
        #expect(throws: EnvironmentError.unknownEnvironment(name: "lava", known: EnvironmentRegistry.names)) {
            try EnvironmentRegistry.make(name: "lava", parameters: Data())
        }
        #expect(throws: EnvironmentError.malformedParameters(reason: "not valid JSON")) {
            try EnvironmentRegistry.make(name: "tmaze_passive", parameters: Data("{".utf8))
        }
        #expect(throws: EnvironmentError.self) { try EnvironmentRegistry.make(name: "tmaze_passive", parameters: Data("[1]".utf8)) }
        // Cross-field rules come from the task itself.
        #expect(throws: EnvironmentError.self) {
            try EnvironmentRegistry.make(name: "room_key_door", parameters: Data(#"{"size": 3, "key_location": [5, 0]}"#.utf8))
        }
    }
}
