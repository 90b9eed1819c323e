import Foundation

/// One recorded value of a metric, stamped with every x axis a chart may use.
public struct MetricPointRecord: Equatable, Sendable {
    /// The metric key, e.g. `train/critic_loss` or `val/return`.
    public var key: String
    /// The value; NaN is stored as NULL and read back as NaN.
    public var value: Double
    /// Environment steps when it was recorded.
    public var environmentSteps: Int
    /// Gradient steps when it was recorded.
    public var gradientSteps: Int
    /// The epoch when it was recorded.
    public var epoch: Int
    /// Seconds of training since the experiment first started (resumed runs continue the count).
    public var wallTime: Double

    /// Creates a point.
    public init(key: String, value: Double, environmentSteps: Int, gradientSteps: Int, epoch: Int, wallTime: Double) {
        self.key = key
        self.value = value
        self.environmentSteps = environmentSteps
        self.gradientSteps = gradientSteps
        self.epoch = epoch
        self.wallTime = wallTime
    }
}

extension MetricPointRecord {
    /// Decodes a row with the columns key, value, env_steps, grad_steps, epoch and wall_time.
    init(row: SQLRow) throws {
        self.init(key: try row.string("key"), value: try row.doubleOrNaN("value"),
                  environmentSteps: try row.int("env_steps"), gradientSteps: try row.int("grad_steps"),
                  epoch: try row.int("epoch"), wallTime: try row.double("wall_time"))
    }
}

/// The x axis of a metric series.
public enum MetricAxis: String, CaseIterable, Sendable {
    /// Environment steps.
    case environmentSteps = "env_steps"
    /// Gradient steps.
    case gradientSteps = "grad_steps"
    /// Epochs.
    case epoch
    /// Seconds of training since the experiment first started.
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
    case environmentSteps(Int)
}

/// Metric points recorded since a feed position.
public struct MetricFeed: Equatable, Sendable {
    /// The new points, oldest first.
    public var points: [MetricPointRecord]
    /// The position to pass back as `after` next time.
    public var lastSequence: Int64
}
