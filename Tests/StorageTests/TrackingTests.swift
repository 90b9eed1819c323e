import Foundation
import Testing
import Storage

/// Groups, tags, filtered listings, sweeps, metric summaries and curves aggregated across runs.
@Suite struct TrackingTests {
    static func new(_ name: String, environment: String = "t_maze", group: String? = nil, tags: [String] = []) -> NewExperiment {
        NewExperiment(name: name, environment: environment, spec: "{}", epochs: 5, group: group, tags: tags)
    }

    @Test(arguments: StoreKind.allCases)
    func listing_filtersByTagsGroupEnvironmentAndName(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let a = try store.createExperiment(Self.new("Gamma sweep A", group: "g1", tags: ["gamma", "tmaze", "gamma"]), now: t0).experiment
            let b = try store.createExperiment(Self.new("gamma sweep B", environment: "lake", group: "g1", tags: ["gamma"]),
                                               now: t0.addingTimeInterval(1)).experiment
            let c = try store.createExperiment(Self.new("baseline 100%_x", group: "g2", tags: ["tmaze"]), now: t0.addingTimeInterval(2)).experiment
            let d = try store.createExperiment(Self.new("untracked"), now: t0.addingTimeInterval(3)).experiment
            #expect(a.tags == ["gamma", "tmaze"] && a.group == "g1", "repeated tags are stored once")
            #expect(d.tags.isEmpty && d.group == nil)
            func ids(_ filter: ExperimentFilter) throws -> [String] { try store.listExperiments(filter).experiments.map(\.id) }
            #expect(try ids(ExperimentFilter(tags: ["gamma"])) == [b.id, a.id])
            #expect(try ids(ExperimentFilter(tags: ["gamma", "tmaze"])) == [a.id], "several tags: all must match")
            #expect(try ids(ExperimentFilter(group: "g1")) == [b.id, a.id])
            #expect(try ids(ExperimentFilter(group: "g1", environment: "lake")) == [b.id])
            #expect(try ids(ExperimentFilter(search: "SWEEP")) == [b.id, a.id], "case-insensitive")
            #expect(try ids(ExperimentFilter(search: "100%_")) == [c.id], "% and _ are literal")
            #expect(try ids(ExperimentFilter(search: "0%")) == [c.id])
            #expect(try ids(ExperimentFilter(search: String(d.id.prefix(5)))).contains(d.id), "an id prefix")
            #expect(try ids(ExperimentFilter(tags: ["none"])).isEmpty)
            try store.transition(id: a.id, to: .running, reason: "test")
            #expect(try ids(ExperimentFilter(status: .running, tags: ["gamma"])) == [a.id])
            // Pages of a filtered listing.
            let first = try store.listExperiments(ExperimentFilter(tags: ["gamma"]), limit: 1)
            #expect(first.experiments.map(\.id) == [b.id])
            let second = try store.listExperiments(ExperimentFilter(tags: ["gamma"]), limit: 1, cursor: first.nextCursor)
            #expect(second.experiments.map(\.id) == [a.id] && second.nextCursor == nil)

            let groups = try store.groups()
            #expect(groups.map(\.group) == ["g2", "g1"], "newest first")
            #expect(groups.last?.experiments == 2 && groups.last?.statusCounts == [.running: 1, .queued: 1])
            #expect(try store.tags().map { "\($0.tag)=\($0.experiments)" } == ["gamma=2", "tmaze=2"])
            #expect(try store.experiments(inGroup: "g1").map(\.id) == [a.id, b.id], "oldest first")
            #expect(throws: StorageError.notFound(kind: "group", id: "nope")) { try store.experiments(inGroup: "nope") }
            // Deleting an experiment removes its tags.
            try store.deleteExperiment(id: c.id)
            #expect(try store.tags().map { "\($0.tag)=\($0.experiments)" } == ["gamma=2", "tmaze=1"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sweep_createsItsPointsInOneGroup_inGridOrder_idempotently(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let points = (0..<4).map { i in
                NewExperiment(name: "p\(i)", environment: "t_maze", spec: "{\"i\":\(i)}", epochs: 3, tags: ["study"],
                              sweepPoint: "{\"seed\":\(i)}")
            }
            let sweep = NewSweep(name: "s", group: "study-1", baseSpec: "{}", grid: "{\"seed\":[0,1,2,3]}", experiments: points,
                                 idempotencyKey: "key-1", requestHash: "h")
            let created = try store.createSweep(sweep)
            #expect(created.isNew && created.sweep.group == "study-1" && created.sweep.grid == "{\"seed\":[0,1,2,3]}")
            #expect(created.experiments.map(\.name) == ["p0", "p1", "p2", "p3"])
            #expect(created.experiments.allSatisfy { $0.group == "study-1" && $0.sweepID == created.sweep.id && $0.status == .queued })
            #expect(created.experiments[2].sweepPoint == "{\"seed\":2}")
            let again = try store.createSweep(sweep)
            #expect(!again.isNew && again.sweep.id == created.sweep.id && again.experiments.map(\.id) == created.experiments.map(\.id))
            var other = sweep
            other.requestHash = "other"
            #expect(throws: StorageError.idempotencyConflict(key: "key-1")) { try store.createSweep(other) }
            #expect(try store.listExperiments().experiments.count == 4, "nothing more was created")
            #expect(try store.experiments(inSweep: created.sweep.id).map(\.name) == ["p0", "p1", "p2", "p3"])
            #expect(try store.sweepIDs(inGroup: "study-1") == [created.sweep.id])
            #expect(try store.listExperiments(ExperimentFilter(sweepID: created.sweep.id)).experiments.count == 4)
            #expect(throws: StorageError.notFound(kind: "sweep", id: "nope")) { try store.sweep(id: "nope") }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func metricSummaries_giveLastMinMaxAndBestByDirection(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let a = try store.makeExperiment().id, b = try store.makeExperiment().id, empty = try store.makeExperiment().id
            try store.insertMetrics([point("val/return", 0.2, step: 10), point("val/return", 0.9, step: 20), point("val/return", 0.5, step: 30),
                                     point("train/critic_loss", 3, step: 10), point("train/critic_loss", 1, step: 20),
                                     point("train/critic_loss", 2, step: 30), point("val/nan", .nan, step: 10)], experimentID: a)
            try store.insertMetrics([point("val/return", -1, step: 5)], experimentID: b)
            let all = try store.metricSummaries(experimentIDs: [a, b, empty])
            let ret = try #require(all[a]?["val/return"])
            #expect(ret.count == 3 && ret.last == 0.5 && ret.min == 0.2 && ret.max == 0.9 && ret.best == 0.9 && ret.lastX == 30)
            let loss = try #require(all[a]?["train/critic_loss"])
            #expect(loss.direction == .lowerIsBetter && loss.best == 1 && loss.last == 2)
            #expect(all[a]?["val/nan"]?.last.isNaN == true && all[a]?["val/nan"]?.max.isNaN == true)
            #expect(all[b]?["val/return"]?.best == -1)
            #expect(all[empty] == nil)
            let only = try store.metricSummaries(experimentIDs: [a], keys: ["val/return"])
            #expect(only[a].map { Array($0.keys) } == ["val/return"])
            // Every point of one key for export, in x order.
            #expect(try store.points(experimentID: a, key: "val/return").map(\.value) == [0.2, 0.9, 0.5])
            #expect(try store.allPoints(experimentID: a).count == 7)
        }
    }

    @Test func metricDirection_lowerIsBetterForLossesErrorsAndTimes() {
        #expect(MetricDirection(key: "val/return") == .higherIsBetter)
        #expect(MetricDirection(key: "val/success_rate") == .higherIsBetter)
        #expect(MetricDirection(key: "train/critic_loss") == .lowerIsBetter)
        #expect(MetricDirection(key: "perf/epoch_seconds") == .lowerIsBetter)
        #expect(MetricDirection(key: "charts/policy_lag") == .lowerIsBetter)
    }

    @Test func aggregate_sharedXNeedNoInterpolation_andStdIsTheSampleStd() {
        let runs: [[(x: Double, value: Double)]] = [
            [(0, 1), (10, 2), (20, 3)],
            [(0, 3), (10, 4), (20, 5)],
            [(0, 2), (10, 6)],  // shorter: absent at 20
        ]
        let points = SeriesAggregate.aggregate(runs, points: 50)
        #expect(points.map(\.x) == [0, 10, 20])
        #expect(points.map(\.mean) == [2, 4, 4])
        #expect(points.map(\.count) == [3, 3, 2])
        #expect(points[1].min == 2 && points[1].max == 6)
        #expect(abs(points[0].std - 1) < 1e-12, "values 1, 3, 2: sample std 1")
        #expect(points[2].std == 2.squareRoot())
    }

    @Test func aggregate_interpolatesOnAnEvenGridWhenRunsDoNotShareX() {
        let a: [(x: Double, value: Double)] = (0...100).map { (Double($0), Double($0)) }
        let b: [(x: Double, value: Double)] = (0...50).map { (Double($0) * 2 + 1, 0) }
        let points = SeriesAggregate.aggregate([a, b], points: 11)
        #expect(points.count == 11 && points.first?.x == 0 && points.last?.x == 101)
        // x = 0: only a covers it; x = 10.1: a is 10.1 (interpolated), b is 0.
        #expect(points[0].count == 1 && points[0].mean == 0)
        #expect(points[1].count == 2 && abs(points[1].x - 10.1) < 1e-9 && abs(points[1].mean - 5.05) < 1e-9)
        #expect(points.last?.count == 1 && points.last?.mean == 0)
        #expect(SeriesAggregate.aggregate([[(1, .nan)]], points: 10).isEmpty, "non-finite values are skipped")
        #expect(SeriesAggregate.aggregate([], points: 10).isEmpty)
    }
}
