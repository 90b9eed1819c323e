import Foundation
import HTTPCore
import JSON

/// Building and encoding JSON bodies from `JSONValue`.
enum JSONBody {
    /// An `application/json` response; encoding a `JSONValue` of finite numbers cannot fail.
    static func response(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse {
        .json(encode(value), status: status)
    }

    /// Compact JSON text with sorted keys (numbers are sanitised by `number(_:)`; one that is not
    /// finite would be written as `null`).
    static func encode(_ value: JSONValue) -> [UInt8] { value.jsonBytes }

    /// Parses a request body as JSON; throws `malformedBody` naming the problem and where it is.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        guard !bytes.isEmpty else { throw ServiceError.malformedBody("the request body is empty; expected a JSON object") }
        do {
            return try JSONValue.parse(bytes)
        } catch let error as JSONSyntaxError {
            throw ServiceError.malformedBody("malformed JSON \(error.description)")
        }
    }

    /// An integer as a JSON number.
    static func int(_ x: Int) -> JSONValue { .number(Double(x)) }

    /// A number, or `null` when absent or not finite (JSON has no NaN or infinity).
    static func number(_ x: Double?) -> JSONValue {
        guard let x, x.isFinite else { return .null }
        return .number(x)
    }

    /// A string or `null`.
    static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    /// An RFC 3339 timestamp with milliseconds, or `null`.
    static func date(_ d: Date?) -> JSONValue {
        guard let d else { return .null }
        return .string(timestamp(d))
    }

    /// The RFC 3339 text of `date` with milliseconds (as `date` writes it).
    static func timestamp(_ d: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: d)
    }
}
