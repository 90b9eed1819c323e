import AMAGO
import Foundation
import HTTPCore
import Storage

extension API {
    /// `POST /experiments`: validates the spec and enqueues it; 201 with `Location`.
    /// The request's `Idempotency-Key` header; nil when absent or empty.
    static func idempotencyKey(_ request: HTTPRequest) -> String? {
        request.headers["Idempotency-Key"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func createExperiment(_ request: HTTPRequest) throws -> HTTPResponse {
        let value = try JSONBody.parse(request.body)
        let spec = try ExperimentSpec(value: value)
        let normalized = String(decoding: JSONBody.encode(spec.json), as: UTF8.self)
        let key = Self.idempotencyKey(request)
        let creation = try store.createExperiment(NewExperiment(
            name: spec.name, environment: spec.environment, spec: normalized, epochs: spec.schedule.epochs,
            idempotencyKey: key, requestHash: key.map { _ in Self.fingerprint(normalized) },
            group: spec.group, tags: spec.tags))
        if creation.isNew { pool.wake() }
        var response = JSONBody.response(try experimentJSON(creation.experiment, detailed: true),
                                         status: creation.isNew ? .created : .ok)
        response.headers.set("Location", "/experiments/\(creation.experiment.id)")
        return response
    }

    /// `POST /experiments/validate`: checks a spec without queuing it; 200 either way, with
    /// `valid`, every invalid field, and for a valid spec its normalized form and memory estimate.
    func validateExperiment(_ request: HTTPRequest) throws -> HTTPResponse {
        let value = try JSONBody.parse(request.body)
        do {
            let spec = try ExperimentSpec(value: value)
            return JSONBody.response(.object([
                "valid": .bool(true), "fields": .array([]), "spec": spec.json,
                "estimated_training_bytes": JSONBody.number(spec.estimatedTrainingBytes.rounded()),
            ]))
        } catch ExperimentSpecError.invalid(let fields) {
            return JSONBody.response(.object([
                "valid": .bool(false), "spec": .null, "estimated_training_bytes": .null,
                "fields": .array(fields.map { .object(["field": .string($0.field), "expected": .string($0.expected)]) }),
            ]))
        }
    }

    /// `GET /experiments?status=&tag=&group=&environment=&q=&sweep=&limit=&cursor=`: newest
    /// first; `tag` may repeat (every one must match).
    func listExperiments(_ request: HTTPRequest) throws -> HTTPResponse {
        let query = request.query
        var filter = ExperimentFilter()
        if let raw = query["status"], !raw.isEmpty {
            guard let s = ExperimentStatus(rawValue: raw) else {
                throw ServiceError.invalidQuery(field: "status", expected: "one of "
                    + ExperimentStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            filter.status = s
        }
        filter.tags = query.values("tag").filter { !$0.isEmpty }
        func text(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        filter.group = text("group")
        filter.environment = text("environment")
        filter.search = text("q")
        filter.sweepID = text("sweep")
        let limit = try Self.intQuery(query, "limit", default: 50, in: 1...1000)
        let page = try store.listExperiments(filter, limit: limit, cursor: text("cursor"))
        let items = try page.experiments.map { try experimentJSON($0, detailed: false) }
        return JSONBody.response(.object(["experiments": .array(items), "next_cursor": JSONBody.string(page.nextCursor)]))
    }

    /// `GET /experiments/{id}`: the full record with an `ETag`; 304 on a matching `If-None-Match`.
    func getExperiment(_ request: HTTPRequest, id: String) throws -> HTTPResponse {
        let experiment = try store.experiment(id: id)
        // The version moves with status and progress; the point count covers `latest_metrics`.
        let points = try store.metricPointCount(experimentID: id)
        let etag = "\"\(experiment.id)-v\(experiment.version)-m\(points)\""
        if let match = request.headers["If-None-Match"],
           match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            var notModified = HTTPResponse(status: .notModified)
            notModified.headers.set("ETag", etag)
            return notModified
        }
        var response = JSONBody.response(try experimentJSON(experiment, detailed: true))
        response.headers.set("ETag", etag)
        return response
    }

    /// `POST /experiments/{id}/stop`: cancels a queued experiment, gracefully stops a running one.
    func stopExperiment(id: String) throws -> HTTPResponse {
        let current = try store.experiment(id: id)
        let updated = current.status == .queued
            ? try store.cancel(id: id, reason: "stop requested before it ran")
            : try pool.requestStop(id: id)
        return JSONBody.response(try experimentJSON(updated, detailed: true))
    }

    /// `POST /experiments/{id}/resume`: re-queues a stopped or failed experiment.
    func resumeExperiment(id: String) throws -> HTTPResponse {
        let updated = try store.resume(id: id)
        pool.wake()
        return JSONBody.response(try experimentJSON(updated, detailed: true))
    }

    /// `DELETE /experiments/{id}`: removes a finished experiment and its files; 409 while it runs.
    func deleteExperiment(id: String) throws -> HTTPResponse {
        try store.deleteExperiment(id: id)
        policies.forget(experimentID: id)  // its session records went with it
        try? FileManager.default.removeItem(at: RunFolder(dataDirectory: dataDirectory, experimentID: id).url)  // the records are gone; leftover files are harmless
        return HTTPResponse(status: .noContent)
    }

    /// An integer query parameter within `range`, or `fallback` when absent.
    static func intQuery(_ query: QueryParameters, _ name: String, default fallback: Int,
                         in range: ClosedRange<Int>) throws -> Int {
        guard let raw = query[name], !raw.isEmpty else { return fallback }
        guard let n = Int(raw), range.contains(n) else {
            throw ServiceError.invalidQuery(field: name, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    /// FNV-1a of the normalized spec: same spec, same fingerprint (for idempotency keys).
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
