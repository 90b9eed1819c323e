/// Errors raised by tensor operations and parameter files.
public enum AutogradError: Error, CustomStringConvertible, Equatable {
    /// Two operands whose shapes cannot be combined by `op`.
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int])
    /// An argument outside what `op` accepts (an axis, a count, an index).
    case invalidArgument(op: String, message: String)
    /// `backward()` was called on a tensor that does not require gradients.
    case noGradient(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs):
            return "\(op): shapes \(lhs) and \(rhs) are incompatible"
        case let .invalidArgument(op, message):
            return "\(op): \(message)"
        case let .noGradient(message):
            return message
        }
    }
}
