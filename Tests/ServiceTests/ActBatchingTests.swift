import AMAGO
import Foundation
import HTTPCore
import Service
import Storage
import Testing

@Suite("Batched /act", .serialized)
struct ActBatchingTests {
    /// A point-robot experiment (continuous actions: the reply carries the policy's mean) with
    /// the checkpoint of an untrained agent, written and registered as a training run does.
    static func untrainedExperiment(_ h: Harness) async throws -> String {
        var spec = Specs.tinyTMaze(name: "batching")
        spec.environment = "point_robot"
        spec.environmentParameters = [:]
        let created = try await h.send(.post, "/experiments", body: try Specs.text(spec))
        let id = try #require(created.json?["id"]?.stringValue, "\(String(decoding: created.bytes, as: UTF8.self))")
        let runner = TrainerRunner(store: h.store, dataDirectory: h.folder)
        try Experiment(spec: spec, directory: runner.folder(of: id).url).checkpoint()
        try runner.registerCheckpoints(experimentID: id)
        return id
    }

    static func act(_ h: Harness, _ id: String, session: String, step k: Int, of i: Int, reset: Bool) async throws -> ([Float], Int) {
        let obs = [0.1 * Float(i) + 0.01 * Float(k), -0.2 * Float(k), 0.3 - 0.05 * Float(i)]
        let body = ActTests.actBody(experiment: id, session: session, .init(observation: obs, reward: 0.1 * Double(k), reset: reset))
        let reply = try await h.send(.post, "/act", body: body)
        try #require(reply.status == 200, "\(String(decoding: reply.bytes, as: UTF8.self))")
        let action = try #require(reply.json?["action"]?.arrayValue).compactMap { v -> Float? in
            if case .number(let x) = v { return Float(x) } else { return nil }
        }
        return (action, try #require(ActTests.number(reply.json?["context_length"])))
    }

    static func openSessions(_ h: Harness, _ id: String, count: Int) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count {
            let opened = try await h.send(.post, "/sessions", body: #"{"experiment":"\#(id)"}"#)
            ids.append(try #require(opened.json?["session"]?.stringValue))
        }
        return ids
    }

    /// Polls until `count` steps wait for a pass (the passes being held), or fails at the deadline.
    static func waitForQueued(_ h: Harness, _ count: Int) async throws {
        let deadline = Date().addingTimeInterval(20)
        while h.api.policies.batchStatistics.waiting < count {
            try #require(Date() < deadline, "only \(h.api.policies.batchStatistics.waiting) of \(count) steps queued")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sessions of different context lengths (fresh, mid-trial, reset) stepped in one pass get
    /// the actions and context lengths that the same inputs get one session at a time.
    @Test func concurrentSessions_shareOnePass_andMatchSteppingAlone() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let id = try await Self.untrainedExperiment(h)
        let n = 5
        let alone = try await Self.openSessions(h, id, count: n)
        let together = try await Self.openSessions(h, id, count: n)
        let before = h.api.policies.batchStatistics
        for k in 0..<6 {
            let resets = (0..<n).map { i in k == 0 || k == i + 1 }
            var expected: [([Float], Int)] = []
            for i in 0..<n { expected.append(try await Self.act(h, id, session: alone[i], step: k, of: i, reset: resets[i])) }

            h.api.policies.holdPasses(true)
            let results = try await withThrowingTaskGroup(of: (Int, [Float], Int).self) { group in
                for i in 0..<n {
                    group.addTask {
                        let (a, l) = try await Self.act(h, id, session: together[i], step: k, of: i, reset: resets[i])
                        return (i, a, l)
                    }
                }
                try await Self.waitForQueued(h, n)
                h.api.policies.holdPasses(false)
                var byIndex = [Int: ([Float], Int)]()
                for try await (i, a, l) in group { byIndex[i] = (a, l) }
                return byIndex
            }
            for i in 0..<n {
                let got = try #require(results[i])
                #expect(got.1 == expected[i].1, "step \(k) session \(i): context length")
                #expect(got.0.count == 2 && zip(got.0, expected[i].0).allSatisfy { abs($0 - $1) <= 1e-5 },
                        "step \(k) session \(i): \(got.0) vs \(expected[i].0)")
            }
        }
        let after = h.api.policies.batchStatistics
        #expect(after.largestBatch == n)
        #expect(after.steps - before.steps == 2 * 6 * n)
        #expect(after.passes - before.passes == 6 * n + 6)  // one pass per lone step, one per round
    }

    /// Two steps of one session never share a pass: the second sees the first's token.
    @Test func twoStepsOfOneSession_runInTurn() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let id = try await Self.untrainedExperiment(h)
        let session = try #require(try await Self.openSessions(h, id, count: 1).first)
        _ = try await Self.act(h, id, session: session, step: 0, of: 0, reset: true)
        h.api.policies.holdPasses(true)
        let lengths = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 1...2 { group.addTask { try await Self.act(h, id, session: session, step: k, of: 0, reset: false).1 } }
            try await Self.waitForQueued(h, 2)
            h.api.policies.holdPasses(false)
            var all: [Int] = []
            for try await l in group { all.append(l) }
            return all
        }
        #expect(lengths.sorted() == [2, 3])
        #expect(h.api.policies.batchStatistics.largestBatch == 1)

        // With batching off, steps of different sessions run one pass each.
        h.api.policies.batching = false
        let others = try await Self.openSessions(h, id, count: 3)
        let before = h.api.policies.batchStatistics
        h.api.policies.holdPasses(true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, s) in others.enumerated() { group.addTask { _ = try await Self.act(h, id, session: s, step: 0, of: i, reset: true) } }
            try await Self.waitForQueued(h, others.count)
            h.api.policies.holdPasses(false)
            try await group.waitForAll()
        }
        let after = h.api.policies.batchStatistics
        #expect(after.passes - before.passes == others.count)
        #expect(after.largestBatch == 1)
    }
}

@Suite("Concurrent /act session opening", .serialized)
struct ConcurrentOpeningTests {
    /// Many first calls without a session at once: each opens its own session and gets an
    /// action. (A sweep that ran between another call's record and its context once dropped
    /// the new context and answered 410.)
    @Test func manyFirstCallsAtOnce_eachOpenTheirOwnSession() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let id = try await ActBatchingTests.untrainedExperiment(h)
        for round in 0..<4 {
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<24 {
                    group.addTask {
                        let input = ActTests.Input(observation: [0.1 * Float(i), 0.2, -0.3], reward: 0, reset: true)
                        let reply = try await h.send(.post, "/act", body: ActTests.actBody(experiment: id, input))
                        return (reply.status, reply.json?["session"]?.stringValue)
                    }
                }
                var all: [(Int, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.allSatisfy { $0.0 == 200 }, "round \(round): \(statuses.map(\.0))")
            #expect(Set(statuses.compactMap(\.1)).count == 24)
        }
    }
}
