import Environments
import Foundation
import HTTPCore

/// Building and encoding JSON bodies from `JSONValue`.
enum JSONBody {
    /// An `application/json` response; encoding a `JSONValue` of finite numbers cannot fail.
    static func response(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse {
        .json(encode(value), status: status)
    }

    /// Compact JSON text with sorted keys.
    static func encode(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Numbers are sanitised by `number(_:)`, so this only fails on a programming error;
        // answer with a valid body rather than trapping.
        guard let data = try? encoder.encode(value) else { return Array("null".utf8) }
        return Array(data)
    }

    /// Parses a request body as JSON; throws `malformedBody` naming the problem.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        guard !bytes.isEmpty else { throw ServiceError.malformedBody("the request body is empty; expected a JSON object") }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw ServiceError.malformedBody("malformed JSON\(location(of: detail, in: bytes)): \(detail)")
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw ServiceError.malformedBody("malformed JSON: not a single JSON value")
        }
        return value
    }

    /// " at line L, column C" for a parser message naming a byte offset ("around character N")
    /// or the end of the input; empty when the message already names a line or says neither.
    static func location(of detail: String, in bytes: [UInt8]) -> String {
        let offset: Int
        if detail.contains("line") {
            return ""
        } else if let range = detail.range(of: "character "),
                  let n = Int(detail[range.upperBound...].prefix { $0.isNumber }) {
            offset = min(max(n, 0), bytes.count)
        } else if detail.localizedCaseInsensitiveContains("end of file") {
            offset = bytes.count
        } else {
            return ""
        }
        let before = bytes[..<offset]
        let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        // Columns count characters, not bytes, so multi-byte text does not shift them.
        let column = String(decoding: bytes[lineStart..<offset], as: UTF8.self).count + 1
        return " at line \(line), column \(column)"
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
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .string(formatter.string(from: d))
    }
}
