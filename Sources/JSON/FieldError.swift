/// One invalid field of a JSON document: its path and what was expected. Spec validation,
/// environment parameters and HTTP bodies all report their errors with it.
public struct FieldError: Equatable, Sendable, CustomStringConvertible {
    /// The field's path as written in the request, e.g. `"size"` or `"agent.gamma"`.
    public var field: String
    /// What was expected, e.g. `"an integer in 2...64"`.
    public var expected: String

    /// Creates a field error.
    public init(field: String, expected: String) {
        self.field = field
        self.expected = expected
    }

    /// `field: expected …`.
    public var description: String { "\(field): expected \(expected)" }
}
