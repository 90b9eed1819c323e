import Foundation
import JSON

/// The action space an external environment declares, in its own units.
///
/// Continuous actions are bounded by `low` and `high`; the policy acts in `[-1, 1]` and
/// `rescale(_:)`/`normalise(_:)` map between the two, as the reference's wrapper does.
public enum ExternalActionSpace: Equatable, Sendable {
    /// `n` discrete actions, indexed `0 ..< n`.
    case discrete(n: Int)
    /// A real vector with entries `low[i] ... high[i]`.
    case continuous(low: [Double], high: [Double])

    /// The policy's space: the same discrete actions, or a `[-1, 1]` box of the same dimension.
    public var policySpace: ActionSpace {
        switch self {
        case .discrete(let n): return .discrete(count: n)
        case .continuous(let low, _): return .continuous(dimension: low.count)
        }
    }

    /// A policy action in the environment's units: discrete unchanged, continuous mapped from
    /// `[-1, 1]` to `[low, high]` (clipped first).
    public func rescale(_ action: Action) -> Action {
        guard case .continuous(let low, let high) = self, case .continuous(let values) = action else { return action }
        return .continuous(values.indices.map { i in
            let x = Double(Swift.min(Swift.max(values[i], -1), 1))
            return Float(low[i] + (x + 1) / 2 * (high[i] - low[i]))
        })
    }

    /// An action in the environment's units as the policy's `[-1, 1]` vector (the inverse of
    /// `rescale`); nil when it is out of range or of the wrong kind or size.
    public func normalise(_ action: JSONValue) -> Action? {
        switch self {
        case .discrete(let n):
            guard let i = action.intValue, i >= 0, i < n else { return nil }
            return .discrete(i)
        case .continuous(let low, let high):
            guard case .array(let items) = action, items.count == low.count else { return nil }
            var out: [Float] = []
            for (i, item) in items.enumerated() {
                guard let v = item.doubleValue, v.isFinite, v >= low[i], v <= high[i] else { return nil }
                out.append(Float(2 * (v - low[i]) / (high[i] - low[i]) - 1))
            }
            return .continuous(out)
        }
    }

    /// What a valid action looks like, for error messages.
    public var expectation: String {
        switch self {
        case .discrete(let n): return "an integer in 0...\(n - 1)"
        case .continuous(let low, let high):
            return "an array of \(low.count) numbers, entry i in [low[i], high[i]] (low \(low), high \(high))"
        }
    }

    /// The space as the spec writes it.
    public var json: JSONValue {
        switch self {
        case .discrete(let n): return .object(["kind": .string("discrete"), "n": .number(Double(n))])
        case .continuous(let low, let high):
            return .object(["kind": .string("continuous"), "low": .array(low.map(JSONValue.number)),
                            "high": .array(high.map(JSONValue.number))])
        }
    }

    /// Parses `{"kind": "discrete", "n": N}` or `{"kind": "continuous", "low": [...], "high": [...]}`;
    /// every problem is reported with its path below `action_space` (the space is nil then).
    public static func parse(_ value: JSONValue, at path: String = "action_space") -> (space: ExternalActionSpace?, errors: [FieldError]) {
        guard case .object(let o) = value else {
            return (nil, [FieldError(field: path, expected: ParameterKind.actionSpace.expectation + ", got \(value)")])
        }
        switch o["kind"] {
        case .string("discrete")?:
            var errors = unknownKeys(o, known: ["kind", "n"], at: path)
            guard let n = o["n"]?.intValue, (1...4096).contains(n) else {
                errors.append(FieldError(field: "\(path).n", expected: "an integer in 1...4096, got \(o["n"]?.description ?? "nothing")"))
                return (nil, errors)
            }
            return errors.isEmpty ? (ExternalActionSpace.discrete(n: n), []) : (nil, errors)
        case .string("continuous")?:
            var errors = unknownKeys(o, known: ["kind", "low", "high"], at: path)
            func bounds(_ key: String) -> [Double]? {
                guard case .array(let items)? = o[key], (1...256).contains(items.count),
                      let values = Optional(items.compactMap(\.doubleValue)), values.count == items.count,
                      values.allSatisfy({ $0.isFinite && abs($0) <= 1e9 }) else {
                    errors.append(FieldError(field: "\(path).\(key)", expected: "an array of 1...256 finite numbers (|x| ≤ 1e9), got \(o[key]?.description ?? "nothing")"))
                    return nil
                }
                return values
            }
            let low = bounds("low"), high = bounds("high")
            if let low, let high {
                if low.count != high.count {
                    errors.append(FieldError(field: "\(path).high", expected: "as many entries as low (\(low.count)), got \(high.count)"))
                } else if let i = low.indices.first(where: { low[$0] >= high[$0] }) {
                    errors.append(FieldError(field: "\(path).high[\(i)]", expected: "a number above low[\(i)] (\(low[i])), got \(high[i])"))
                }
            }
            guard errors.isEmpty, let low, let high else { return (nil, errors) }
            return (ExternalActionSpace.continuous(low: low, high: high), [])
        default:
            return (nil, [FieldError(field: "\(path).kind", expected: "\"discrete\" or \"continuous\", got \(o["kind"]?.description ?? "nothing")")])
        }
    }

    private static func unknownKeys(_ o: [String: JSONValue], known: Set<String>, at path: String) -> [FieldError] {
        o.keys.sorted().filter { !known.contains($0) }.map {
            FieldError(field: "\(path).\($0)", expected: "no such field; known: " + known.sorted().joined(separator: ", "))
        }
    }
}

/// An environment that runs outside the service, in a client's process: the service only knows
/// its spaces and trial structure, and its steps arrive over HTTP (`POST /act` with `collect`).
///
/// It cannot be stepped here: `step` throws `EnvironmentError.steppedRemotely`.
public final class ExternalEnvironment: Environment {
    /// The parameters the spec gives.
    public struct Parameters: Equatable, Sendable {
        public var observationSize: Int
        public var actionSpace: ExternalActionSpace
        /// Episodes the agent's memory spans (meta-RL trials); 1 for ordinary tasks.
        public var episodesPerTrial: Int

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.external.defaultValues }

        public init(observationSize: Int, actionSpace: ExternalActionSpace, episodesPerTrial: Int = defaults.int("episodes_per_trial")) {
            self.observationSize = observationSize
            self.actionSpace = actionSpace
            self.episodesPerTrial = episodesPerTrial
        }
    }

    /// The name the registry and specs know this kind by.
    public static let registryName = "external"

    public let parameters: Parameters
    public let name = ExternalEnvironment.registryName
    public var observationSize: Int { parameters.observationSize }
    public var actionSpace: ActionSpace { parameters.actionSpace.policySpace }

    public init(_ parameters: Parameters) { self.parameters = parameters }

    /// A zero observation: there is no local state to reset.
    public func reset(seed: UInt64?) -> [Float] { [Float](repeating: 0, count: observationSize) }

    public func step(_ action: Action) throws -> StepResult { throw EnvironmentError.steppedRemotely(environment: name) }
}
