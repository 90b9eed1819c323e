import Foundation
import HTTPCore

/// Requires the bearer token on every request that may change state (all but GET, HEAD and
/// spec validation).
struct MutatingRequestAuth: Middleware {
    let bearer: BearerAuthMiddleware

    init(token: String) { bearer = BearerAuthMiddleware(tokens: [token]) }

    func willHandle(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
        if request.method == .get || request.method == .head { return nil }
        // Validation changes nothing, so the dashboard can check a spec before asking for a token.
        if request.method == .post && request.path == "/experiments/validate" { return nil }
        return try bearer.willHandle(request, context: &context)
    }
}

/// Where the server may listen.
public enum BindingPolicy {
    /// True for `localhost` and loopback addresses (127.0.0.0/8, `::1`).
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// Throws `insecureBinding` for a non-loopback host without a token.
    public static func check(host: String, token: String?) throws {
        if !isLoopback(host) && (token ?? "").isEmpty { throw ServiceError.insecureBinding(host: host) }
    }
}
