import Foundation
import Testing
import Storage

@Suite struct FeedTests {
    @Test(arguments: StoreKind.allCases)
    func metricPoints_afterID_inIDOrder_limited_andOnlyThisExperiment(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            #expect(try store.newestMetricPointID(experimentID: id) == 0)
            let other = try store.makeExperiment().id
            // Interleave keys and experiments so ids of one series are not contiguous.
            for step in 1...5 {
                try store.insertMetrics([point("b", Double(step), step: step), point("a", Double(-step), step: step)],
                                        experimentID: id)
                try store.insertMetrics([point("a", 100, step: step)], experimentID: other)
            }
            let all = try store.metricPoints(experimentID: id, after: 0, limit: 100)
            #expect(all.count == 10)
            #expect(all.map(\.id) == all.map(\.id).sorted())
            #expect(all.map(\.value.value) == [1, -1, 2, -2, 3, -3, 4, -4, 5, -5])
            #expect(try store.newestMetricPointID(experimentID: id) == all.last?.id)
            let page = try store.metricPoints(experimentID: id, after: all[2].id, limit: 3)
            #expect(page.map(\.id) == Array(all[3...5].map(\.id)))
            #expect(try store.metricPoints(experimentID: id, after: all[9].id).isEmpty)
            #expect(try store.newestMetricPointID(experimentID: other) > all[9].id)
            #expect(throws: StorageError.self) { try store.metricPoints(experimentID: "nope", after: 0) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func nanValuesComeBackAsNaN(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            try store.insertMetrics([point("a", .nan, step: 1)], experimentID: id)
            #expect(try store.metricPoints(experimentID: id, after: 0).first?.value.value.isNaN == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statusChanges_afterID(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let start = try store.newestStatusChangeID(experimentID: id)
            #expect(start > 0)  // the creation entry
            #expect(try store.statusChanges(experimentID: id, after: start).isEmpty)
            try store.transition(id: id, to: .cancelled, reason: "test")
            let changes = try store.statusChanges(experimentID: id, after: start)
            #expect(changes.map(\.value.to) == [.cancelled])
            #expect(changes.first?.value.from == .queued && changes.first?.value.reason == "test")
            #expect(try store.newestStatusChangeID(experimentID: id) == changes.first?.id)
        }
    }

    @Test func feedQueries_searchIndexes_neverScanPoints() throws {
        try withStore(.file) { store throws in
            let plans = try store.feedQueryPlans()
            #expect(plans.contains { $0.contains("metric_points_by_series (series_id=? AND rowid>?)") })
            #expect(plans.contains { $0.contains("status_history_by_experiment") })
            #expect(!plans.contains { $0.hasPrefix("SCAN") })
        }
    }
}
