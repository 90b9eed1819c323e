import Foundation

/// The layout of one run's folder, in one place: `spec.json`, the replay buffer under
/// `buffer/`, checkpoints under `checkpoints/` (`epoch_NNNNNN.safetensors` for each save and
/// `latest.safetensors`), and, for `amago train`, the metrics in `metrics.jsonl`. Under a
/// service's data folder, run `<id>` lives in `experiments/<id>/`.
public struct RunFolder: Sendable, Equatable {
    /// The run's folder.
    public let url: URL

    /// The run in `url`.
    public init(_ url: URL) { self.url = url }

    /// Run `experimentID` under a service's data folder: `<data>/experiments/<id>/`.
    public init(dataDirectory: URL, experimentID: String) {
        url = dataDirectory.appendingPathComponent(Self.relativePath(experimentID: experimentID))
    }

    /// A run's folder relative to the data folder (`experiments/<id>`).
    public static func relativePath(experimentID: String) -> String { "experiments/\(experimentID)" }

    /// The spec the run was started with.
    public var spec: URL { url.appendingPathComponent("spec.json") }
    /// The replay buffer's folder.
    public var buffer: URL { url.appendingPathComponent("buffer") }
    /// The checkpoints' folder.
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
    /// The checkpoint rewritten at every save.
    public var latestCheckpoint: URL { checkpoints.appendingPathComponent("latest.safetensors") }
    /// Where `latest` is assembled before it is renamed into place.
    var latestStaging: URL { checkpoints.appendingPathComponent("latest.staging") }
    /// The metrics file of `amago train` (JSON lines).
    public var metricsFile: URL { url.appendingPathComponent("metrics.jsonl") }

    /// The file of the checkpoint that closes `epoch`.
    public func checkpoint(epoch: Int) -> URL { checkpoints.appendingPathComponent(Self.checkpointFileName(epoch: epoch)) }

    /// `epoch_000012.safetensors` for epoch 12.
    public static func checkpointFileName(epoch: Int) -> String { String(format: "epoch_%06d.safetensors", max(epoch, 0)) }

    /// The epoch of a per-epoch checkpoint file's name (`epoch_000012.safetensors` → 12), or nil
    /// for other files (`latest.safetensors`, staging files).
    public static func checkpointEpoch(ofFile name: String) -> Int? {
        guard name.hasPrefix("epoch_"), name.hasSuffix(".safetensors") else { return nil }
        return Int(name.dropFirst("epoch_".count).dropLast(".safetensors".count))
    }

    /// The per-epoch checkpoint files present now, by epoch, in epoch order.
    public func checkpointFiles() -> [(epoch: Int, name: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return names.compactMap { name in Self.checkpointEpoch(ofFile: name).map { ($0, name) } }.sorted { $0.epoch < $1.epoch }
    }
}
