import Environments
import JSON

/// Broken experiment specs for validation tests: the JSON paths of a spec document, values of
/// the wrong kind for them, and right-kind values that are out of range.
public enum SpecCases {
    /// Every leaf of `value` with its dotted path.
    public static func leaves(_ value: JSONValue, path: String = "") -> [(String, JSONValue)] {
        guard case .object(let fields) = value else { return [(path, value)] }
        if fields.isEmpty { return [] }
        return fields.keys.sorted().flatMap { key in
            leaves(fields[key] ?? .null, path: path.isEmpty ? key : "\(path).\(key)")
        }
    }

    /// `document` with the value at the dotted `path` replaced (intermediate objects created).
    public static func setting(_ document: JSONValue, _ path: String, to replacement: JSONValue) -> JSONValue {
        setting(document, path.split(separator: ".").map(String.init)[...], to: replacement)
    }

    static func setting(_ document: JSONValue, _ path: ArraySlice<String>, to replacement: JSONValue) -> JSONValue {
        guard case .object(var fields) = document, let head = path.first else { return replacement }
        fields[head] = setting(fields[head] ?? .object([:]), path.dropFirst(), to: replacement)
        return .object(fields)
    }

    /// A value of the wrong kind for `value`'s field.
    public static func wrongKind(for value: JSONValue) -> JSONValue {
        switch value {
        case .number: return .string("not a number")
        case .bool: return .string("not a boolean")
        case .string: return .number(12345)
        default: return .bool(true)
        }
    }

    /// Values of the right kind but outside their range, and constraints between fields.
    public static let outOfRange: [(String, JSONValue)] = [
        ("schedule.batch_size", .number(0)), ("schedule.epochs", .number(-3)), ("schedule.max_seq_len", .number(0)),
        ("schedule.learning_rate", .number(2)), ("schedule.buffer_capacity", .number(1)), ("schedule.parallel_actors", .number(0)),
        ("schedule.padded_sampling", .string("middle")), ("agent.gamma", .number(1)), ("agent.tau", .number(1.5)),
        ("agent.critics", .number(0)), ("agent.n_step", .number(0)), ("agent.variant", .string("dqn")), ("agent.bins", .number(1)),
        ("agent.max_return", .number(-200_000)), ("model.encoder", .string("lstm")), ("model.heads", .number(3)),
        ("model.d_model", .number(1)), ("model.dropout", .number(0.95)), ("model.position_embedding", .string("alibi")),
        ("model.activation", .string("swish")), ("exploration.kind", .string("boltzmann")), ("exploration.eps_start", .number(1.5)),
        ("exploration.anneal_steps", .number(0)), ("evaluation.actors", .number(0)), ("evaluation.timesteps", .number(0)),
        ("checkpoints.interval", .number(0)), ("relabeling.strategy", .string("all")), ("environment.name", .string("chess")),
        ("environment.parameters.corridor_length", .number(0)), ("environment.parameters", .number(3)),
        ("seed", .number(-1)), ("name", .string("")), ("name", .string(String(repeating: "x", count: 1_000_000))), ("model.unknown_knob", .number(1)),
    ]
}
