import Environments
import JSON

/// Reads a JSON object field by field, collecting every problem with its JSON path instead of
/// stopping at the first, and flagging fields it does not know.
struct SpecReader {
    var errors: [FieldError] = []

    mutating func fail(_ path: String, _ expected: String) { errors.append(FieldError(field: path, expected: expected)) }

    /// `parent.key`, or `key` at the top level.
    func join(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    /// The object at `path`, or an empty one when absent; anything else is an error.
    mutating func object(_ value: JSONValue?, at path: String, known: [String]) -> [String: JSONValue] {
        guard let value else { return [:] }
        guard case .object(let fields) = value else { fail(path, "an object"); return [:] }
        for key in fields.keys.sorted() where !known.contains(key) {
            fail(join(path, key), "no such field (known: \(known.joined(separator: ", ")))")
        }
        return fields
    }

    mutating func int(_ o: [String: JSONValue], _ key: String, at path: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        guard let raw = o[key] else { return value }
        guard let v = raw.intValue, range.contains(v) else {
            fail(join(path, key), SpecFieldKind.integer(range).expectation)
            return value
        }
        return v
    }

    mutating func float(_ o: [String: JSONValue], _ key: String, at path: String, default value: Float,
                        in range: ClosedRange<Double>) -> Float {
        guard let raw = o[key] else { return value }
        guard let v = raw.doubleValue, v.isFinite, range.contains(v) else {
            fail(join(path, key), SpecFieldKind.number(range).expectation)
            return value
        }
        return Float(v)
    }

    mutating func bool(_ o: [String: JSONValue], _ key: String, at path: String, default value: Bool) -> Bool {
        guard let raw = o[key] else { return value }
        guard case .bool(let b) = raw else { fail(join(path, key), SpecFieldKind.boolean.expectation); return value }
        return b
    }

    mutating func string(_ o: [String: JSONValue], _ key: String, at path: String, default value: String,
                         oneOf choices: [String]? = nil) -> String {
        guard let raw = o[key] else { return value }
        guard case .string(let s) = raw, choices?.contains(s) ?? !s.isEmpty else {
            fail(join(path, key), (choices.map(SpecFieldKind.choice) ?? SpecFieldKind.text).expectation)
            return value
        }
        return s
    }
}

extension JSONValue {
    /// A number value.
    static func of(_ x: Float) -> JSONValue {
        // The shortest decimal that reads back as the same Float: 0.9999, not 0.9998999834060669.
        .number(Double(x.description) ?? Double(x))
    }
    /// An integer value.
    static func of(_ x: Int) -> JSONValue { .number(Double(x)) }
}
