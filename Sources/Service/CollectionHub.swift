import AMAGO
import Foundation
import HTTPCore

/// The collections of the external experiments training in this process, by experiment id:
/// `TrainerRunner` registers one while its run lasts, the API routes collection and evaluation
/// steps to it. Thread-safe.
public final class CollectionHub: @unchecked Sendable {
    // @unchecked: the map is guarded by `lock`.
    private let lock = NSLock()
    private var collections: [String: ExternalCollection] = [:]

    public init() {}

    /// The collection of a running experiment, if it trains here.
    public subscript(experimentID: String) -> ExternalCollection? { lock.withLock { collections[experimentID] } }

    func register(_ collection: ExternalCollection, for experimentID: String) {
        lock.withLock { collections[experimentID] = collection }
    }

    func remove(_ experimentID: String) {
        lock.withLock { _ = collections.removeValue(forKey: experimentID) }
    }

    /// Every registered collection's status.
    public var statuses: [ExternalCollection.Status] { lock.withLock { collections.values.map(\.status) } }
}

extension ExternalStepError {
    /// The HTTP rendering; `prefix` locates the step in the request (`""` or `"steps[3]."`).
    func httpError(prefix: (Int) -> String) -> HTTPError {
        switch self {
        case let .observationWidth(index, _, _):
            let field = prefix(index) + "observation"
            return HTTPError(.unprocessableContent, code: "invalid_field", message: "'\(field)' must be \(description)", field: field)
        case let .unknownSession(index, _):
            return HTTPError(.notFound, code: "session_not_found", message: description, field: prefix(index) + "session")
        case let .sessionEnded(index, _, _):
            return HTTPError(HTTPStatus(410, reasonPhrase: "Gone"), code: "session_ended", message: description, field: prefix(index) + "session")
        case let .trialOver(index, _):
            return HTTPError(.conflict, code: "trial_over", message: description, field: prefix(index) + "reset")
        case let .wrongMode(index, _, _):
            return HTTPError(.conflict, code: "wrong_mode", message: description, field: prefix(index) + "session")
        case .closed: return HTTPError(.conflict, code: "not_running", message: description, field: "experiment")
        case .offline: return HTTPError(.conflict, code: "offline", message: description, field: "collect")
        }
    }
}
