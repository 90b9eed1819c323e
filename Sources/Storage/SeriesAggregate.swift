import Foundation

/// One point of a curve aggregated across runs (seeds): statistics of the runs' values at `x`.
public struct AggregatePoint: Equatable, Sendable {
    public var x: Double
    /// The mean across the runs that cover `x`.
    public var mean: Double
    public var min: Double
    public var max: Double
    /// The sample standard deviation (0 for a single run).
    public var std: Double
    /// How many runs cover `x` with a finite value.
    public var count: Int
}

/// Aggregates several runs' series of one metric onto a common x grid.
public enum SeriesAggregate {
    /// The runs' values on a common grid: the union of their x positions when it has at most
    /// `points` entries (no interpolation then where the runs share x, as evaluations at the
    /// same step counts do), otherwise `points` evenly spaced positions from the smallest to the
    /// largest x. A run counts at x only inside its own x range, linearly interpolated between
    /// its neighbouring samples; non-finite values are skipped.
    /// - Parameter runs: each run's samples as (x, value), in increasing x.
    public static func aggregate(_ runs: [[(x: Double, value: Double)]], points: Int) -> [AggregatePoint] {
        let runs = runs.map { $0.filter { $0.x.isFinite && $0.value.isFinite } }.filter { !$0.isEmpty }
        guard !runs.isEmpty, points > 0 else { return [] }
        let grid = self.grid(runs, points: points)
        return grid.compactMap { x in
            let values = runs.compactMap { value(of: $0, at: x) }
            guard !values.isEmpty else { return nil }
            let n = Double(values.count)
            let mean = values.reduce(0, +) / n
            let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
            return AggregatePoint(x: x, mean: mean, min: values.min()!, max: values.max()!, std: variance.squareRoot(),
                                  count: values.count)
        }
    }

    static func grid(_ runs: [[(x: Double, value: Double)]], points: Int) -> [Double] {
        var union = Set<Double>()
        for run in runs {
            for sample in run {
                union.insert(sample.x)
                if union.count > points { break }
            }
            if union.count > points { break }
        }
        if union.count <= points { return union.sorted() }
        let lo = runs.map { $0[0].x }.min()!, hi = runs.map { $0[$0.count - 1].x }.max()!
        if points == 1 || hi == lo { return [lo] }
        return (0..<points).map { lo + (hi - lo) * Double($0) / Double(points - 1) }
    }

    /// The run's value at x: interpolated between neighbours, nil outside its range. Of
    /// several samples at exactly x, the last one.
    static func value(of run: [(x: Double, value: Double)], at x: Double) -> Double? {
        guard let first = run.first, let last = run.last, x >= first.x, x <= last.x else { return nil }
        // The first index whose x is greater than the position.
        var lo = 0, hi = run.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if run[mid].x <= x { lo = mid + 1 } else { hi = mid }
        }
        let right = lo, left = right - 1
        if run[left].x == x || right == run.count { return run[left].value }
        let a = run[left], b = run[right]
        return a.value + (b.value - a.value) * (x - a.x) / (b.x - a.x)
    }
}
