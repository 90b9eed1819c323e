/// Errors of the agent: configurations that cannot work, batches that do not fit them, and
/// replay data that cannot be read or used.
public enum AMAGOError: Error, CustomStringConvertible, Equatable {
    /// A configuration value outside what the agent supports; `field` names it.
    case invalidConfiguration(field: String, message: String)
    /// A batch whose arrays disagree with each other or with the agent.
    case invalidBatch(String)
    /// A trajectory whose arrays disagree with each other (wrong lengths or widths).
    case invalidTrajectory(String)
    /// A trajectory file that is truncated, corrupt or of an unknown format; `file` names it.
    case corruptTrajectoryFile(file: String, reason: String)
    /// A replay-buffer file operation that failed; `path` names the file or directory.
    case replayStorage(path: String, message: String)
    /// Sampling was asked of a replay buffer that holds no files.
    case emptyReplayBuffer

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .invalidConfiguration(field, message): return "\(field): \(message)"
        case let .invalidBatch(message): return "invalid batch: \(message)"
        case let .invalidTrajectory(message): return "invalid trajectory: \(message)"
        case let .corruptTrajectoryFile(file, reason): return "corrupt trajectory file \(file): \(reason)"
        case let .replayStorage(path, message): return "replay buffer storage error at \(path): \(message)"
        case .emptyReplayBuffer: return "the replay buffer holds no trajectory files"
        }
    }
}
