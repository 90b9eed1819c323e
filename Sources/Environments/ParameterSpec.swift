import Foundation
import JSON

/// The type and allowed values of one environment parameter.
public enum ParameterKind: Equatable, Sendable {
    /// An integer in the range.
    case integer(ClosedRange<Int>)
    /// `null` or an integer in the range.
    case optionalInteger(ClosedRange<Int>)
    /// A number in the range.
    case number(ClosedRange<Double>)
    /// `true` or `false`.
    case boolean
    /// One of the strings.
    case choice([String])
    /// `null` or a grid cell `[x, y]` of non-negative integers.
    case optionalCell
    /// A list of `{"name", "weight", "parameters"}` task objects (multi-task mix).
    case taskList
    /// An external environment's action space (`ExternalActionSpace.parse`).
    case actionSpace

    /// What a valid value looks like, for error messages.
    public var expectation: String {
        switch self {
        case .integer(let r): return "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .optionalInteger(let r): return "null or an integer in \(r.lowerBound)...\(r.upperBound)"
        case .number(let r): return "a number in [\(r.lowerBound), \(r.upperBound)]"
        case .boolean: return "true or false"
        case .choice(let options): return "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        case .optionalCell: return "null or [x, y] with non-negative integers"
        case .taskList: return "a non-empty list of {\"name\", \"weight\", \"parameters\"} objects"
        case .actionSpace:
            return "{\"kind\": \"discrete\", \"n\": N} or {\"kind\": \"continuous\", \"low\": [...], \"high\": [...]}"
        }
    }

    /// Whether `value` is valid (task lists are checked further by the mix's factory).
    public func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.integer(let r), _): return value.intValue.map(r.contains) ?? false
        case (.optionalInteger, .null), (.optionalCell, .null): return true
        case (.optionalInteger(let r), _): return value.intValue.map(r.contains) ?? false
        case (.number(let r), .number(let d)): return r.contains(d)
        case (.boolean, .bool): return true
        case (.choice(let options), .string(let s)): return options.contains(s)
        case (.optionalCell, .array(let a)): return a.count == 2 && a.allSatisfy { ($0.intValue ?? -1) >= 0 }
        case (.taskList, .array(let a)): return !a.isEmpty && a.allSatisfy { if case .object = $0 { return true } else { return false } }
        case (.actionSpace, _): return ExternalActionSpace.parse(value).space != nil
        default: return false
        }
    }
}

/// One documented parameter of a registered environment.
public struct ParameterSpec: Sendable {
    /// JSON field name, e.g. `"corridor_length"`.
    public var name: String
    /// Type and range.
    public var kind: ParameterKind
    /// Value used when the field is omitted.
    public var defaultValue: JSONValue
    /// One-line description.
    public var summary: String
    /// The field must be given (its default is then `null`).
    public var isRequired: Bool

    /// Creates a parameter description.
    public init(_ name: String, _ kind: ParameterKind, default defaultValue: JSONValue, _ summary: String, required: Bool = false) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
        self.isRequired = required
    }

    /// The row of `GET /envs`' and `amago envs --json`'s parameter tables.
    public var json: JSONValue {
        .object(["name": .string(name), "default": defaultValue, "required": .bool(isRequired), "expected": .string(kind.expectation),
                 "description": .string(summary)])
    }
}

/// Validated parameter values with defaults filled in.
public struct ParameterValues: Sendable {
    /// Field name → value.
    public var values: [String: JSONValue]

    /// Integer field (0 if missing).
    public func int(_ name: String) -> Int { values[name]?.intValue ?? 0 }
    /// Optional integer field.
    public func optionalInt(_ name: String) -> Int? { values[name]?.intValue }
    /// Number field (0 if missing).
    public func double(_ name: String) -> Double { values[name]?.doubleValue ?? 0 }
    /// Boolean field (false if missing).
    public func bool(_ name: String) -> Bool { if case .bool(let b)? = values[name] { return b } else { return false } }
    /// String field (empty if missing).
    public func string(_ name: String) -> String { if case .string(let s)? = values[name] { return s } else { return "" } }
    /// An action-space field, already validated.
    public func actionSpace(_ name: String) -> ExternalActionSpace? {
        values[name].flatMap { ExternalActionSpace.parse($0).space }
    }
    /// Optional grid cell field.
    public func cell(_ name: String) -> GridCell? {
        guard case .array(let a)? = values[name], a.count == 2, let x = a[0].intValue, let y = a[1].intValue else { return nil }
        return GridCell(x, y)
    }
}

/// A registered environment: its name, description, parameters and factory.
public struct EnvironmentDescriptor: Sendable {
    /// Registry name, e.g. `"tmaze_passive"`.
    public var name: String
    /// One-paragraph description.
    public var summary: String
    /// Documented parameters with defaults.
    public var parameters: [ParameterSpec]
    let build: @Sendable (ParameterValues, UInt64) throws -> any Environment

    /// The defaults as a JSON object.
    public var defaults: [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.defaultValue) })
    }

    /// The defaults as values: what an environment's `Parameters` takes for an omitted argument,
    /// so each default is written once, in its `ParameterSpec`.
    public var defaultValues: ParameterValues { ParameterValues(values: defaults) }

    /// The problems of parameters already in Swift form (`given` named as in JSON), with the
    /// checks and messages of `validate`: for environments built without the registry.
    public func problems(_ given: [String: JSONValue]) -> [FieldError] {
        if case .failure(.invalidParameters(_, let fields)) = validate(given) { return fields }
        return []
    }

    /// Checks `given` against the specs: every unknown field and every bad value is reported.
    public func validate(_ given: [String: JSONValue]) -> Result<ParameterValues, EnvironmentError> {
        var errors: [FieldError] = []
        let known = Set(parameters.map(\.name))
        for key in given.keys.sorted() where !known.contains(key) {
            errors.append(FieldError(field: key, expected: "no such parameter; known: " + parameters.map(\.name).joined(separator: ", ")))
        }
        var values = defaults
        for spec in parameters {
            guard let value = given[spec.name] else {
                if spec.isRequired { errors.append(FieldError(field: spec.name, expected: "\(spec.kind.expectation) (required)")) }
                continue
            }
            if case .actionSpace = spec.kind, case let problems = ExternalActionSpace.parse(value, at: spec.name).errors, !problems.isEmpty {
                errors += problems
            } else if spec.kind.accepts(value) { values[spec.name] = value } else {
                errors.append(FieldError(field: spec.name, expected: "\(spec.kind.expectation), got \(value)"))
            }
        }
        return errors.isEmpty ? .success(ParameterValues(values: values))
            : .failure(.invalidParameters(environment: name, fields: errors))
    }
}
