import Foundation
import JSON
import Storage

extension API {
    /// An experiment as the API shows it; `detailed` adds status history and latest metrics.
    func experimentJSON(_ e: ExperimentRecord, detailed: Bool) throws -> JSONValue {
        let p = e.progress
        var o: [String: JSONValue] = [
            "id": .string(e.id), "name": .string(e.name), "environment": .string(e.environment),
            "status": .string(e.status.rawValue), "version": JSONBody.int(e.version),
            "created_at": JSONBody.date(e.createdAt), "updated_at": JSONBody.date(e.updatedAt),
            "queued_at": JSONBody.date(e.queuedAt), "started_at": JSONBody.date(e.startedAt),
            "finished_at": JSONBody.date(e.finishedAt), "error": JSONBody.string(e.errorMessage),
            "progress": .object([
                "epoch": JSONBody.int(p.epoch), "epochs": JSONBody.int(p.epochs),
                "env_steps": JSONBody.int(p.environmentSteps), "grad_steps": JSONBody.int(p.gradientSteps),
                "phase": JSONBody.string(p.phase), "eta_seconds": JSONBody.number(p.etaSeconds),
                "last_return": JSONBody.number(p.lastReturn), "last_success_rate": JSONBody.number(p.lastSuccessRate),
                "fraction": JSONBody.number(Double(min(p.epoch, p.epochs)) / Double(max(p.epochs, 1))),
            ]),
        ]
        o["group"] = JSONBody.string(e.group)
        o["tags"] = .array(e.tags.map(JSONValue.string))
        o["sweep_id"] = JSONBody.string(e.sweepID)
        o["sweep_point"] = e.sweepPoint.flatMap { try? JSONValue.parse(Array($0.utf8)) } ?? .null
        if let collection = collectionJSON(e) { o["collection"] = collection }
        guard detailed else { return .object(o) }
        o["spec"] = (try? JSONValue.parse(Array(e.spec.utf8))) ?? .string(e.spec)
        o["status_history"] = .array(try store.statusHistory(id: e.id).map(Self.statusChangeJSON))
        var latest: [String: JSONValue] = [:]
        for point in try store.latestMetrics(experimentID: e.id) { latest[point.key] = JSONBody.number(point.value) }
        o["latest_metrics"] = .object(latest)
        return .object(o)
    }

    /// A status change: from, to, reason and time.
    static func statusChangeJSON(_ change: StatusChange) -> JSONValue {
        .object(["from": JSONBody.string(change.from?.rawValue), "to": .string(change.to.rawValue),
                 "reason": .string(change.reason), "at": JSONBody.date(change.at)])
    }

    /// A checkpoint record with its download link.
    static func checkpointJSON(_ c: CheckpointRecord) -> JSONValue {
        .object([
            "id": .string(c.id), "experiment_id": .string(c.experimentID), "epoch": JSONBody.int(c.epoch),
            "env_steps": JSONBody.int(c.environmentSteps), "grad_steps": JSONBody.int(c.gradientSteps),
            "eval_return": JSONBody.number(c.evalReturn), "size_bytes": JSONBody.int(c.sizeBytes),
            "created_at": JSONBody.date(c.createdAt), "url": .string("/checkpoints/\(c.id)"),
        ])
    }
}
