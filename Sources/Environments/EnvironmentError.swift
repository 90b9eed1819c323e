import Foundation
import JSON

/// The errors of the Environments module.
public enum EnvironmentError: Error, Equatable, CustomStringConvertible {
    /// One or more parameters are invalid; every bad field is listed.
    case invalidParameters(environment: String, fields: [FieldError])
    /// No environment is registered under this name.
    case unknownEnvironment(name: String, known: [String])
    /// The parameters are not a JSON object.
    case malformedParameters(reason: String)
    /// The action does not belong to the action space.
    case invalidAction(environment: String, expected: ActionSpace, got: Action)
    /// `step` was called after the trial ended; call `reset` first.
    case trialOver(environment: String)
    /// A vector environment received the wrong number of actions.
    case actionCountMismatch(expected: Int, got: Int)
    /// The environment runs in a client's process; its steps arrive over HTTP.
    case steppedRemotely(environment: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .invalidParameters(let env, let fields):
            return "invalid parameters for \(env): " + fields.map(\.description).joined(separator: "; ")
        case .unknownEnvironment(let name, let known):
            return "unknown environment \"\(name)\"; known: \(known.joined(separator: ", "))"
        case .malformedParameters(let reason):
            return "parameters must be a JSON object: \(reason)"
        case .invalidAction(let env, let expected, let got):
            return "\(env): action \(got) is outside the action space \(expected)"
        case .trialOver(let env):
            return "\(env): the trial is over; call reset before stepping"
        case .actionCountMismatch(let expected, let got):
            return "expected \(expected) actions, got \(got)"
        case .steppedRemotely(let env):
            return "\(env) runs in a client's process: its steps arrive through POST /act with collect"
        }
    }
}
