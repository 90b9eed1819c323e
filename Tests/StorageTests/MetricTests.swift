import Foundation
import Testing
import Storage

@Suite struct MetricTests {
    @Test(arguments: StoreKind.allCases)
    func insert_keysAndRawSeriesOnEveryAxis(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            var batch: [MetricPointRecord] = []
            for step in 1...20 {
                batch.append(point("train/loss", 1.0 / Double(step), step: step * 10, epoch: step))
                if step % 5 == 0 { batch.append(point("val/return", Double(step), step: step * 10, epoch: step)) }
            }
            try store.insertMetrics(batch, experimentID: id)
            #expect(try store.metricKeys(experimentID: id) == ["train/loss", "val/return"])
            #expect(try store.metricPointCount(experimentID: id) == 24)

            let expectedX: [MetricAxis: [Double]] = [
                .environmentSteps: [50, 100, 150, 200], .gradientSteps: [100, 200, 300, 400], .epoch: [5, 10, 15, 20],
                .wallTime: [50, 100, 150, 200].map { 1_700_000_000 + $0 },
            ]
            for axis in MetricAxis.allCases {
                let series = try store.series(experimentID: id, key: "val/return", axis: axis)
                #expect(series.samples.map(\.x) == expectedX[axis])
                #expect(series.samples.map(\.mean) == [5, 10, 15, 20])
                #expect(series.samples.allSatisfy { $0.count == 1 && $0.min == $0.mean && $0.max == $0.mean })
                #expect(!series.isDownsampled && series.pointCount == 4 && series.lastX == expectedX[axis]?.last)
            }
            #expect(throws: StorageError.notFound(kind: "metric", id: "nope")) {
                try store.series(experimentID: id, key: "nope")
            }
            #expect(throws: StorageError.notFound(kind: "experiment", id: "x")) {
                try store.insertMetrics([point("a", 1, step: 1)], experimentID: "x")
            }
            #expect(throws: StorageError.self) { try store.series(experimentID: id, key: "val/return", maxPoints: 0) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func after_readsOnlyNewerPoints(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            try store.insertMetrics((1...10).map { point("train/loss", Double($0), step: $0) }, experimentID: id)
            let first = try store.series(experimentID: id, key: "train/loss")
            try store.insertMetrics((11...15).map { point("train/loss", Double($0), step: $0) }, experimentID: id)
            let next = try store.series(experimentID: id, key: "train/loss", after: first.lastX)
            #expect(next.samples.map(\.x) == [11, 12, 13, 14, 15])
            let none = try store.series(experimentID: id, key: "train/loss", after: next.lastX)
            #expect(none.samples.isEmpty && none.pointCount == 0 && none.lastX == nil)
            #expect(try store.series(experimentID: id, key: "train/loss", axis: .epoch, after: 0).pointCount == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func downsampling_bucketsByEqualWidthInSQL(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            // x = 0...999, value = x mod 7: ten buckets of width 99.9.
            try store.insertMetrics((0..<1000).map { point("k", Double($0 % 7), step: $0) }, experimentID: id)
            let series = try store.series(experimentID: id, key: "k", maxPoints: 10)
            #expect(series.isDownsampled && series.pointCount == 1000 && series.lastX == 999)
            #expect(series.samples.count == 10)
            #expect(series.samples.map(\.count).reduce(0, +) == 1000)
            let width = 999.0 / 10
            for (index, bucket) in series.samples.enumerated() {
                #expect(bucket.min <= bucket.mean && bucket.mean <= bucket.max)
                #expect(bucket.min == 0 && bucket.max == 6)
                #expect(abs(bucket.x - (Double(index) + 0.5) * width) < 1e-9)
                #expect(bucket.firstX >= Double(index) * width && bucket.lastX <= Double(index + 1) * width + 1e-9)
            }
            #expect(series.samples.first?.firstX == 0 && series.samples.last?.lastX == 999)

            let tail = try store.series(experimentID: id, key: "k", after: 899, maxPoints: 50)
            #expect(tail.pointCount == 100 && tail.samples.count == 50)
            #expect(tail.samples.allSatisfy { $0.count == 2 && $0.firstX > 899 })

            try store.insertMetrics((0..<30).map { _ in point("flat", 1, step: 5) }, experimentID: id)
            let flat = try store.series(experimentID: id, key: "flat", maxPoints: 4)
            #expect(flat.samples.count == 1 && flat.samples[0].count == 30 && flat.samples[0].x == 5)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func nan_isStoredAndReadBackAsNaN(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            try store.insertMetrics([point("train/loss", .nan, step: 1), point("train/loss", 2, step: 2)], experimentID: id)
            let series = try store.series(experimentID: id, key: "train/loss")
            #expect(series.samples[0].mean.isNaN && series.samples[1].mean == 2)
            let buckets = try store.series(experimentID: id, key: "train/loss", maxPoints: 1)
            #expect(buckets.samples.count == 1 && buckets.samples[0].count == 2 && buckets.samples[0].mean == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func latest_isTheNewestPointPerKey(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let other = try store.makeExperiment().id
            try store.insertMetrics((1...5).map { point("train/loss", Double(10 - $0), step: $0) }, experimentID: id)
            try store.insertMetrics([point("val/return", 3, step: 2), point("val/return", 7, step: 4)], experimentID: id)
            try store.insertMetrics([point("val/return", 99, step: 9)], experimentID: other)
            let latest = try store.latestMetrics(experimentID: id)
            #expect(latest.map(\.key) == ["train/loss", "val/return"])
            #expect(latest.map(\.value) == [5, 7])
            #expect(latest.map(\.environmentSteps) == [5, 4])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteAfter_trimsHistoryBeyondTheCheckpoint(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let other = try store.makeExperiment().id
            var points = (1...10).map { point("train/loss", Double($0), step: $0 * 100, epoch: $0) }
            points.append(point("val/late", 1, step: 900, epoch: 9))
            try store.insertMetrics(points, experimentID: id)
            try store.insertMetrics(points, experimentID: other)

            #expect(try store.deleteMetrics(experimentID: id, after: .epoch(6)) == 5)
            #expect(try store.series(experimentID: id, key: "train/loss", axis: .epoch).samples.map(\.x) == [1, 2, 3, 4, 5, 6])
            #expect(try store.metricKeys(experimentID: id) == ["train/loss"])
            #expect(try store.deleteMetrics(experimentID: id, after: .environmentSteps(250)) == 4)
            #expect(try store.series(experimentID: id, key: "train/loss").samples.map(\.x) == [100, 200])
            #expect(try store.metricPointCount(experimentID: other) == 11)
        }
    }

    /// 100 000 points in batches of 500, then a 500-bucket query. Asserts counts and bucket math
    /// only; the printed durations are for the notes, not a pass criterion.
    @Test(arguments: StoreKind.allCases)
    func hundredThousandPoints_batchInsertAndDownsample(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let clock = ContinuousClock()
            let insertTime = try clock.measure {
                for batch in 0..<200 {
                    let points = (0..<500).map { i -> MetricPointRecord in
                        let step = batch * 500 + i
                        return point("train/loss", sin(Double(step) / 1000), step: step, epoch: step / 1000)
                    }
                    try store.insertMetrics(points, experimentID: id)
                }
            }
            var series: MetricSeries?
            let queryTime = try clock.measure {
                series = try store.series(experimentID: id, key: "train/loss", axis: .environmentSteps, maxPoints: 500)
            }
            let samples = try #require(series).samples
            #expect(try store.metricPointCount(experimentID: id) == 100_000)
            #expect(samples.count == 500)
            #expect(samples.map(\.count).reduce(0, +) == 100_000)
            #expect(samples.allSatisfy { $0.count == 200 || $0.count == 199 || $0.count == 201 })
            #expect(samples.allSatisfy { $0.min <= $0.mean && $0.mean <= $0.max && $0.min >= -1 && $0.max <= 1 })
            let epochQueryTime = try clock.measure {
                _ = try store.series(experimentID: id, key: "train/loss", axis: .epoch, maxPoints: 500)
            }
            let repeated = try (0..<5).map { _ in
                try clock.measure { _ = try store.series(experimentID: id, key: "train/loss", maxPoints: 500) }
            }
            print("[timing] \(kind): repeated env_steps queries: \(repeated)")
            print("[timing] \(kind): insert 100000 points in 200 batches: \(insertTime); 500-bucket env_steps query: \(queryTime); epoch query: \(epochQueryTime)")
        }
    }
}

@Suite struct MetricFeedTests {
    @Test(arguments: StoreKind.allCases)
    func feed_returnsNewPointsOfEveryKeyAndSurvivesTruncation(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let id = try store.makeExperiment().id
            let other = try store.makeExperiment().id
            try store.insertMetrics([point("a", 1, step: 1, epoch: 1), point("b", 2, step: 1, epoch: 1)], experimentID: id)
            try store.insertMetrics([point("a", 9, step: 1)], experimentID: other)
            let first = try store.newMetricPoints(experimentID: id)
            #expect(first.points.map(\.key) == ["a", "b"])
            try store.insertMetrics([point("a", 3, step: 2, epoch: 2)], experimentID: id)
            let second = try store.newMetricPoints(experimentID: id, after: first.lastSequence)
            #expect(second.points.map(\.value) == [3])
            // The tail is cut on resume; points written afterwards still come after the position.
            try store.deleteMetrics(experimentID: id, after: .epoch(1))
            try store.insertMetrics([point("a", 4, step: 2, epoch: 2)], experimentID: id)
            let third = try store.newMetricPoints(experimentID: id, after: second.lastSequence)
            #expect(third.points.map(\.value) == [4])
            let none = try store.newMetricPoints(experimentID: id, after: third.lastSequence)
            #expect(none.points.isEmpty && none.lastSequence == third.lastSequence)
        }
    }
}
