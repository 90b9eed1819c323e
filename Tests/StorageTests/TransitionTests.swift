import Foundation
import Testing
import Storage

@Suite struct TransitionTests {
    static let allPairs = ExperimentStatus.allCases.flatMap { from in ExperimentStatus.allCases.map { (from, $0) } }

    @Test func graph_matchesTheDocumentedEdges() {
        let legal = Set(Self.allPairs.filter { $0.0.canTransition(to: $0.1) }.map { "\($0.0.rawValue)→\($0.1.rawValue)" })
        #expect(legal == ["queued→running", "queued→cancelled", "running→succeeded", "running→failed",
                          "running→stopping", "running→stopped", "running→queued", "stopping→stopped",
                          "stopping→failed", "stopping→succeeded", "stopped→queued", "failed→queued"])
    }

    @Test(arguments: StoreKind.allCases)
    func everyLegalTransition_succeedsAndIsRecorded(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            for (from, to) in Self.allPairs where from.canTransition(to: to) {
                let experiment = try store.makeExperiment(in: from)
                let moved = try store.transition(id: experiment.id, to: to, reason: "test \(to.rawValue)",
                                                 errorMessage: to == .failed ? "NaN loss" : nil)
                #expect(moved.status == to)
                #expect(moved.version > experiment.version)
                let last = try #require(try store.statusHistory(id: experiment.id).last)
                #expect(last.from == from && last.to == to && last.reason == "test \(to.rawValue)")
                if to == .failed { #expect(moved.errorMessage == "NaN loss") }
                if to.isFinished { #expect(moved.finishedAt != nil && moved.workerID == nil) }
                if to == .queued { #expect(moved.errorMessage == nil && moved.heartbeatAt == nil) }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func everyIllegalTransition_throwsAndChangesNothing(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            var checked = 0
            for from in ExperimentStatus.allCases {
                let experiment = try store.makeExperiment(in: from)
                let historyCount = try store.statusHistory(id: experiment.id).count
                for to in ExperimentStatus.allCases where !from.canTransition(to: to) {
                    #expect(throws: StorageError.illegalTransition(from: from, to: to)) {
                        try store.transition(id: experiment.id, to: to, reason: "nope")
                    }
                    checked += 1
                }
                #expect(try store.experiment(id: experiment.id) == experiment)
                #expect(try store.statusHistory(id: experiment.id).count == historyCount)
            }
            #expect(checked == 49 - 12)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func history_recordsTheWholeLifeWithTimes(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let id = try store.makeExperiment(now: t0).id
            _ = try store.claimNext(workerID: "w1", now: t0.addingTimeInterval(1))
            try store.transition(id: id, to: .failed, reason: "exception", errorMessage: "boom", now: t0.addingTimeInterval(2))
            try store.resume(id: id, now: t0.addingTimeInterval(3))
            try store.transition(id: id, to: .running, reason: "claimed", now: t0.addingTimeInterval(4))
            try store.requestStop(id: id, now: t0.addingTimeInterval(5))
            try store.transition(id: id, to: .stopped, reason: "stopped", now: t0.addingTimeInterval(6))

            let history = try store.statusHistory(id: id)
            #expect(history.map(\.to) == [.queued, .running, .failed, .queued, .running, .stopping, .stopped])
            #expect(history.map(\.from) == [nil, .queued, .running, .failed, .queued, .running, .stopping])
            #expect(history.map(\.at) == (0...6).map { t0.addingTimeInterval(Double($0)) })
            #expect(history[1].reason == "claimed by w1")
            #expect(history[2].reason == "exception")
            #expect(try store.experiment(id: id).version == 7)
        }
    }
}
