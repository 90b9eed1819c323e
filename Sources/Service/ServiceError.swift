import AMAGO
import Foundation
import HTTPCore
import JSON
import Jobs
import Storage

/// The one error type of the Service module; every case knows its HTTP rendering.
public enum ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The experiment spec is well-formed JSON but some fields are invalid (422).
    case invalidSpec([FieldError])
    /// The request body is not the JSON the endpoint expects (400).
    case malformedBody(String)
    /// A query parameter has an unusable value (400).
    case invalidQuery(field: String, expected: String)
    /// A checkpoint record exists but its file is gone (404).
    case checkpointFileMissing(id: String)
    /// A sweep's grid or base spec has invalid fields, or one of its points does (422).
    case invalidSweep([SweepProblem])
    /// A request field is missing or has the wrong type or shape (422).
    case invalidField(field: String, expected: String)
    /// The experiment has no checkpoint to act with yet (409).
    case noCheckpoint(experimentID: String)
    /// The request contradicts the current state, e.g. a session of another experiment (409).
    case conflict(String)
    /// The `/act` session expired or was evicted (410).
    case sessionEnded(id: String, reason: String)
    /// The session's context lives in the memory of another API host.
    case sessionOnAnotherHost(id: String, host: String)
    /// The server would listen on a non-loopback address without a token.
    case insecureBinding(host: String)
    /// The data folder or database cannot be set up.
    case setup(String)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case let .invalidSpec(fields):
            return "invalid experiment spec: " + fields.map { "\($0.field): expected \($0.expected)" }.joined(separator: "; ")
        case let .malformedBody(message): return message
        case let .invalidQuery(field, expected): return "query parameter '\(field)' must be \(expected)"
        case let .invalidSweep(problems):
            return "invalid sweep: " + problems.map(\.sentence).joined(separator: "; ")
        case let .checkpointFileMissing(id): return "the file of checkpoint '\(id)' is missing"
        case let .invalidField(field, expected): return "'\(field)' must be \(expected)"
        case let .noCheckpoint(id):
            return "experiment '\(id)' has no checkpoint yet; expected one after its first trained epoch"
        case let .conflict(message): return message
        case let .sessionEnded(id, reason): return "session '\(id)' has ended (\(reason)); start a new one"
        case let .sessionOnAnotherHost(id, host):
            return "session '\(id)' lives on API host '\(host)': send its steps there (a load balancer needs session affinity), or start a new session here"
        case let .insecureBinding(host):
            return "refusing to listen on non-loopback address \(host) without a token (set --token or AMAGO_TOKEN)"
        case let .setup(message): return message
        }
    }
}

/// Turns errors of every module into HTTP responses with the JSON error body.
enum ErrorRendering {
    /// The response for `error`, or nil for an unexpected error the server should log as a 500.
    static func response(for error: Error) -> HTTPResponse? {
        switch error {
        case let e as HTTPError: return .error(e)
        case let e as ServiceError: return response(for: e)
        case let e as ExperimentSpecError:
            guard case .invalid(let fields) = e else { return nil }
            return invalidSpec(fields)
        case let e as StorageError: return httpError(for: e).map(HTTPResponse.error)
        case let e as JobsError:
            guard let storage = e.storageError else { return nil }
            return httpError(for: storage).map(HTTPResponse.error)
        default: return nil
        }
    }

    static func response(for error: ServiceError) -> HTTPResponse? {
        switch error {
        case let .invalidSpec(fields): return invalidSpec(fields)
        case let .malformedBody(message): return .error(HTTPError(.badRequest, code: "malformed_json", message: message, field: "body"))
        case let .invalidQuery(field, _):
            return .error(HTTPError(.badRequest, code: "invalid_query", message: error.description, field: field))
        case let .invalidSweep(problems):
            var body: [String: JSONValue] = ["code": .string("invalid_sweep"), "message": .string(error.description)]
            if let first = problems.first { body["field"] = .string(first.field) }
            let fields: [JSONValue] = problems.map { p in
                var o: [String: JSONValue] = ["field": .string(p.field), "expected": .string(p.expected)]
                if let value = p.value { o["value"] = value }
                return .object(o)
            }
            return JSONBody.response(.object(["error": .object(body), "fields": .array(fields)]), status: .unprocessableContent)
        case .checkpointFileMissing:
            return .error(HTTPError(.notFound, code: "checkpoint_file_missing", message: error.description))
        case let .invalidField(field, _):
            return .error(HTTPError(.unprocessableContent, code: "invalid_field", message: error.description, field: field))
        case .noCheckpoint:
            return .error(HTTPError(.conflict, code: "no_checkpoint", message: error.description, field: "checkpoint"))
        case .conflict: return .error(HTTPError(.conflict, code: "conflict", message: error.description))
        case .sessionEnded:
            return .error(HTTPError(HTTPStatus(410, reasonPhrase: "Gone"), code: "session_ended", message: error.description,
                                    field: "session"))
        case .sessionOnAnotherHost:
            return .error(HTTPError(HTTPStatus(421, reasonPhrase: "Misdirected Request"), code: "session_on_another_host",
                                    message: error.description, field: "session"))
        case .insecureBinding, .setup: return nil
        }
    }

    /// Storage errors by status: 404 missing, 409 state conflicts, 422 idempotency, 400 arguments.
    static func httpError(for error: StorageError) -> HTTPError? {
        switch error {
        case .notFound(let kind, _): return HTTPError(.notFound, code: "\(kind)_not_found", message: error.description)
        case .illegalTransition: return HTTPError(.conflict, code: "illegal_transition", message: error.description)
        case .conflict: return HTTPError(.conflict, code: "conflict", message: error.description)
        case .idempotencyConflict:
            return HTTPError(.unprocessableContent, code: "idempotency_conflict", message: error.description, field: "Idempotency-Key")
        case .invalidArgument: return HTTPError(.badRequest, code: "invalid_argument", message: error.description)
        case .database: return nil
        }
    }

    /// 422 with the first invalid field in `error` and all of them under `fields`.
    static func invalidSpec(_ fields: [FieldError]) -> HTTPResponse {
        invalidFields(fields, code: "invalid_spec", what: "invalid experiment spec")
    }

    /// 422 with code `code`, the first invalid field in `error` and all of them under `fields`.
    static func invalidFields(_ fields: [FieldError], code: String, what: String) -> HTTPResponse {
        let message = fields.isEmpty ? what
            : "\(what): " + fields.map { "\($0.field) must be \($0.expected)" }.joined(separator: "; ")
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let first = fields.first { error["field"] = .string(first.field) }
        let body: JSONValue = .object([
            "error": .object(error),
            "fields": .array(fields.map { .object(["field": .string($0.field), "expected": .string($0.expected)]) }),
        ])
        return JSONBody.response(body, status: .unprocessableContent)
    }
}
