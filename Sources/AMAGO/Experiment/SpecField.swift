import Environments
import JSON

// Each setting of an experiment spec is one row of its part's field table: JSON key, allowed
// values, one-line doc and, for the settings the agent reads directly, where it goes in
// `AgentConfiguration`. Reading with validation, the `known` list, JSON output, the library
// configuration and the documentation (`ExperimentSpec.documentation`, checked against
// `openapi.yaml` by a test) are all derived from the rows. The default is the part's stored
// property initialiser (read back through the key path from `Part()`), as in a cleanrl config
// class: Swift's definite initialisation wants it there, and a second copy in the row would
// be one more place to disagree.

/// The values a spec field accepts.
public enum SpecFieldKind: Equatable, Sendable {
    /// An integer in the range.
    case integer(ClosedRange<Int>)
    /// A finite number in the range.
    case number(ClosedRange<Double>)
    /// `true` or `false`.
    case boolean
    /// One of the strings.
    case choice([String])
    /// A non-empty string.
    case text
    /// An array of distinct non-empty strings.
    case labels

    /// What a valid value looks like, in error messages.
    public var expectation: String {
        switch self {
        case .integer(let r): return "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .number(let r): return "a number in [\(r.lowerBound), \(r.upperBound)]"
        case .boolean: return "true or false"
        case .choice(let options): return "one of \(options.joined(separator: ", "))"
        case .text: return "a non-empty string"
        case .labels: return "an array of distinct non-empty strings"
        }
    }
}

/// One documented field of an experiment spec, for people and for the contract test.
public struct SpecFieldDocumentation: Equatable, Sendable {
    /// JSON path, e.g. `agent.gamma`.
    public var path: String
    /// Allowed values.
    public var kind: SpecFieldKind
    /// The default, or nil when it depends on other fields (then `summary` says how).
    public var defaultValue: JSONValue?
    /// One-line description.
    public var summary: String
}

/// One row of a spec part's field table (see the note at the top of this file).
struct SpecField<Part> {
    /// JSON key inside the part's object.
    let key: String
    let kind: SpecFieldKind
    let summary: String
    /// The default depends on the fields read before (or on the variant): not a constant.
    let hasDerivedDefault: Bool
    /// Reads the key from the object into the part, reporting a bad value under `path.key`.
    let read: (inout SpecReader, [String: JSONValue], String, inout Part) -> Void
    /// The field's JSON value, nil when it is unset (optional fields).
    let write: (Part) -> JSONValue?
    /// Copies the value into the agent's configuration (nil: not read directly by the agent).
    let configure: ((Part, inout AgentConfiguration) -> Void)?
    /// Whether the configuration's value lies in the range (nil: not a ranged agent setting).
    var accepts: ((AgentConfiguration) -> Bool)? = nil

    /// The row as documentation under `section`, with the default taken from `defaults`.
    func documentation(under section: String, defaults: Part) -> SpecFieldDocumentation {
        SpecFieldDocumentation(path: section.isEmpty ? key : "\(section).\(key)", kind: kind,
                               defaultValue: hasDerivedDefault ? nil : write(defaults), summary: summary)
    }

    /// An integer field; `derived` computes its default from the fields read before it.
    static func int<V: FixedWidthInteger>(_ key: String, _ field: WritableKeyPath<Part, V>, _ range: ClosedRange<Int>, _ summary: String,
                                          into target: WritableKeyPath<AgentConfiguration, V>? = nil,
                                          derived: ((Part) -> V)? = nil) -> SpecField {
        SpecField(key: key, kind: .integer(range), summary: summary, hasDerivedDefault: derived != nil,
                  read: { r, o, path, part in
                      let fallback = Int(derived?(part) ?? part[keyPath: field])
                      part[keyPath: field] = V(r.int(o, key, at: path, default: fallback, in: range))
                  },
                  write: { .of(Int($0[keyPath: field])) },
                  configure: target.map { t in { part, c in c[keyPath: t] = part[keyPath: field] } },
                  accepts: target.map { t in { c in range.contains(Int(c[keyPath: t])) } })
    }

    /// A number field, stored as a Float.
    static func float(_ key: String, _ field: WritableKeyPath<Part, Float>, _ range: ClosedRange<Double>, _ summary: String,
                      into target: WritableKeyPath<AgentConfiguration, Float>? = nil) -> SpecField {
        SpecField(key: key, kind: .number(range), summary: summary, hasDerivedDefault: false,
                  read: { r, o, path, part in part[keyPath: field] = r.float(o, key, at: path, default: part[keyPath: field], in: range) },
                  write: { .of($0[keyPath: field]) },
                  configure: target.map { t in { part, c in c[keyPath: t] = part[keyPath: field] } },
                  accepts: target.map { t in { c in c[keyPath: t].isFinite && range.contains(Double(c[keyPath: t])) } })
    }

    /// A number field that is unset unless given; unset, the agent keeps its variant's default.
    static func optionalFloat(_ key: String, _ field: WritableKeyPath<Part, Float?>, _ range: ClosedRange<Double>, _ summary: String,
                              into target: WritableKeyPath<AgentConfiguration, Float>) -> SpecField {
        SpecField(key: key, kind: .number(range), summary: summary, hasDerivedDefault: true,
                  read: { r, o, path, part in
                      if o[key] != nil { part[keyPath: field] = r.float(o, key, at: path, default: 0, in: range) }
                  },
                  write: { $0[keyPath: field].map { JSONValue.of($0) } },
                  configure: { part, c in if let v = part[keyPath: field] { c[keyPath: target] = v } },
                  accepts: { c in c[keyPath: target].isFinite && range.contains(Double(c[keyPath: target])) })
    }

    /// A boolean field.
    static func bool(_ key: String, _ field: WritableKeyPath<Part, Bool>, _ summary: String,
                     into target: WritableKeyPath<AgentConfiguration, Bool>? = nil) -> SpecField {
        SpecField(key: key, kind: .boolean, summary: summary, hasDerivedDefault: false,
                  read: { r, o, path, part in part[keyPath: field] = r.bool(o, key, at: path, default: part[keyPath: field]) },
                  write: { .bool($0[keyPath: field]) },
                  configure: target.map { t in { part, c in c[keyPath: t] = part[keyPath: field] } })
    }

    /// A string field: one of `choices`, or any non-empty string (of at most `maxLength`
    /// characters) when `choices` is nil.
    static func string(_ key: String, _ field: WritableKeyPath<Part, String>, oneOf choices: [String]?, maxLength: Int? = nil,
                       _ summary: String) -> SpecField {
        SpecField(key: key, kind: choices.map { .choice($0) } ?? .text, summary: summary, hasDerivedDefault: false,
                  read: { r, o, path, part in
                      let value = r.string(o, key, at: path, default: part[keyPath: field], oneOf: choices)
                      if let maxLength, value.count > maxLength {
                          r.fail(r.join(path, key), "a string of at most \(maxLength) characters, got \(value.count)")
                      } else {
                          part[keyPath: field] = value
                      }
                  },
                  write: { .string($0[keyPath: field]) },
                  configure: nil)
    }
}

/// A part of the spec read from one JSON object by its field table.
protocol SpecPart {
    /// The part with every default.
    init()
    /// The field table, in reading order (a derived default reads the fields before it).
    static var fields: [SpecField<Self>] { get }
    /// Rules between this part's fields, checked after they are read.
    func partErrors(at path: String) -> [FieldError]
}

extension SpecPart {
    func partErrors(at path: String) -> [FieldError] { [] }

    /// Reads the object at `path` (absent: all defaults), reporting every problem to `r`.
    init(_ r: inout SpecReader, _ value: JSONValue?, at path: String) {
        self.init()
        let o = r.object(value, at: path, known: Self.fields.map(\.key))
        for field in Self.fields { field.read(&r, o, path, &self) }
        r.errors += partErrors(at: path)
    }

    /// Every set field as JSON.
    var json: [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        for field in Self.fields { o[field.key] = field.write(self) }
        return o
    }

    /// The agent settings of `c` outside this part's ranges, under `path`.
    static func problems(in c: AgentConfiguration, at path: String) -> [FieldError] {
        fields.filter { $0.accepts?(c) == false }.map { FieldError(field: "\(path).\($0.key)", expected: $0.kind.expectation) }
    }

    /// Copies the fields that the agent reads directly into `c`.
    func configure(_ c: inout AgentConfiguration) {
        for field in Self.fields { field.configure?(self, &c) }
    }

    /// The table's rows as documentation under `path`, with the defaults of `Self()`.
    static func documentation(at path: String) -> [SpecFieldDocumentation] {
        let defaults = Self()
        return fields.map { $0.documentation(under: path, defaults: defaults) }
    }
}
