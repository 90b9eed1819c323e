/// Errors of the agent: configurations that cannot work and batches that do not fit them.
public enum AMAGOError: Error, CustomStringConvertible, Equatable {
    /// A configuration value outside what the agent supports; `field` names it.
    case invalidConfiguration(field: String, message: String)
    /// A batch whose arrays disagree with each other or with the agent.
    case invalidBatch(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, message): return "\(field): \(message)"
        case let .invalidBatch(message): return "invalid batch: \(message)"
        }
    }
}
