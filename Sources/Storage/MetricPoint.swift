import Foundation

/// One recorded value of a metric, stamped with every x axis a chart may use.
public struct MetricPoint: Equatable, Sendable {
    /// The metric key, e.g. `train/critic_loss` or `val/return`.
    public var key: String
    /// The value; NaN is stored as NULL and read back as NaN.
    public var value: Double
    /// Environment steps when it was recorded.
    public var envSteps: Int
    /// Gradient steps when it was recorded.
    public var gradSteps: Int
    /// The epoch when it was recorded.
    public var epoch: Int
    /// Wall-clock time when it was recorded.
    public var wallTime: Date

    /// Creates a point.
    public init(key: String, value: Double, envSteps: Int, gradSteps: Int, epoch: Int, wallTime: Date) {
        self.key = key
        self.value = value
        self.envSteps = envSteps
        self.gradSteps = gradSteps
        self.epoch = epoch
        self.wallTime = wallTime
    }
}

/// The x axis of a metric series.
public enum MetricAxis: String, CaseIterable, Sendable {
    /// Environment steps.
    case envSteps = "env_steps"
    /// Gradient steps.
    case gradSteps = "grad_steps"
    /// Epochs.
    case epoch
    /// Seconds since 1970.
    case wallTime = "wall_time"

    /// The column holding this axis (also the API name).
    var column: String { rawValue }
}

/// One sample of a series: a raw point (`count == 1`) or a downsampled bucket.
public struct MetricSample: Equatable, Sendable {
    /// The x position: the point's x, or the bucket's midpoint.
    public var x: Double
    /// The value, or the mean of the bucket's values (NaN if all were NaN).
    public var mean: Double
    /// The smallest value in the bucket (the value for a raw point).
    public var min: Double
    /// The largest value in the bucket (the value for a raw point).
    public var max: Double
    /// How many points the sample stands for.
    public var count: Int
    /// The smallest x of the points it stands for.
    public var firstX: Double
    /// The largest x of the points it stands for.
    public var lastX: Double
}

/// One series of a metric against an x axis.
public struct MetricSeries: Equatable, Sendable {
    /// The metric key.
    public var key: String
    /// The x axis.
    public var axis: MetricAxis
    /// Samples in increasing x.
    public var samples: [MetricSample]
    /// Whether samples are buckets of several points (the range held more than `maxPoints`).
    public var isDownsampled: Bool
    /// How many points lie in the requested range.
    public var pointCount: Int
    /// The largest x in the range; pass it as `after` to read only newer points next time.
    public var lastX: Double?
}

/// Where to cut a metric history when resuming from a checkpoint.
public enum MetricCutoff: Equatable, Sendable {
    /// Delete points recorded after this epoch.
    case epoch(Int)
    /// Delete points recorded after this many environment steps.
    case envSteps(Int)
}

/// Metric points recorded since a feed position.
public struct MetricFeed: Equatable, Sendable {
    /// The new points, oldest first.
    public var points: [MetricPoint]
    /// The position to pass back as `after` next time.
    public var lastSequence: Int64
}
