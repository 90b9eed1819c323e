import Foundation

/// Metrics as JSON lines in a file (one point per line: key, value, env_steps, grad_steps,
/// epoch, wall_time), appended as they arrive so a killed run loses nothing it recorded.
public final class FileMetricSink: MetricSink {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating if needed) the file at `url` for appending.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw AMAGOError.replayStorage(path: url.path, message: "cannot create the metrics file")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func record(_ points: [MetricPoint]) throws {
        var text = ""
        for p in points where p.value.isFinite {
            text += #"{"key":"\#(p.key)","value":\#(p.value),"env_steps":\#(p.environmentSteps),"grad_steps":\#(p.gradientSteps),"epoch":\#(p.epoch),"wall_time":\#(p.wallTime)}"# + "\n"
        }
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Rewrites the file without the points of later epochs.
    public func discardPoints(afterEpoch epoch: Int) throws {
        let kept = try FileMetricSink.read(url).filter { $0.epoch <= epoch }
        try handle.truncate(atOffset: 0)
        try record(kept)
    }

    /// Every point in a metrics file (lines that do not parse, such as one cut short by a
    /// crash, are skipped).
    public static func read(_ url: URL) throws -> [MetricPoint] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let key = object["key"] as? String, let value = (object["value"] as? NSNumber)?.doubleValue,
                  let env = (object["env_steps"] as? NSNumber)?.intValue, let grad = (object["grad_steps"] as? NSNumber)?.intValue,
                  let epoch = (object["epoch"] as? NSNumber)?.intValue, let wall = (object["wall_time"] as? NSNumber)?.doubleValue
            else { return nil }
            return MetricPoint(key: key, value: value, environmentSteps: env, gradientSteps: grad, epoch: epoch, wallTime: wall)
        }
    }
}

/// Hands every point to several sinks.
public final class CompositeMetricSink: MetricSink {
    public let sinks: [MetricSink]
    public init(_ sinks: [MetricSink]) { self.sinks = sinks }
    public func record(_ points: [MetricPoint]) throws { for s in sinks { try s.record(points) } }
    public func discardPoints(afterEpoch epoch: Int) throws { for s in sinks { try s.discardPoints(afterEpoch: epoch) } }
}
