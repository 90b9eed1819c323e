import AMAGO
import Environments
import Foundation
import HTTPCore
import JSON
import Storage

extension API {
    /// `GET /experiments/{id}/metrics`: every recorded key, and the keys grouped by prefix.
    func metricKeys(id: String) throws -> HTTPResponse {
        _ = try store.experiment(id: id)
        let keys = try store.metricKeys(experimentID: id).sorted()
        var groups: [String: [JSONValue]] = [:]
        for key in keys {
            let prefix = key.firstIndex(of: "/").map { String(key[..<$0]) } ?? ""
            groups[prefix, default: []].append(.string(key))
        }
        let summaries = try store.metricSummaries(experimentIDs: [id])[id] ?? [:]
        return JSONBody.response(.object([
            "experiment_id": .string(id), "keys": .array(keys.map(JSONValue.string)),
            "groups": .object(groups.mapValues(JSONValue.array)), "summaries": Self.summariesJSON(summaries),
        ]))
    }

    /// `GET /experiments/{id}/metrics/{key}?x=&after=&max_points=`: one series.
    func metricSeries(_ request: HTTPRequest, id: String, key: String) throws -> HTTPResponse {
        let query = request.query
        let axis: MetricAxis
        if let raw = query["x"], !raw.isEmpty {
            guard let a = MetricAxis(rawValue: raw) else {
                throw ServiceError.invalidQuery(field: "x", expected: "one of " + MetricAxis.allCases.map(\.rawValue).joined(separator: ", "))
            }
            axis = a
        } else {
            axis = .environmentSteps
        }
        var after: Double?
        if let raw = query["after"], !raw.isEmpty {
            guard let a = Double(raw), a.isFinite else { throw ServiceError.invalidQuery(field: "after", expected: "a number") }
            after = a
        }
        var maxPoints: Int?
        if let raw = query["max_points"], !raw.isEmpty {
            maxPoints = try Self.intQuery(query, "max_points", default: 1, in: 1...100_000)
        }
        let series = try store.series(experimentID: id, key: key, axis: axis, after: after, maxPoints: maxPoints)
        let points: [JSONValue] = series.samples.map { s in
            .object(["x": JSONBody.number(s.x), "value": JSONBody.number(s.mean), "min": JSONBody.number(s.min),
                     "max": JSONBody.number(s.max), "count": JSONBody.int(s.count)])
        }
        return JSONBody.response(.object([
            "experiment_id": .string(id), "key": .string(series.key), "x": .string(series.axis.rawValue),
            "downsampled": .bool(series.isDownsampled), "point_count": JSONBody.int(series.pointCount),
            "last_x": JSONBody.number(series.lastX), "points": .array(points),
        ]))
    }

    /// `GET /experiments/{id}/checkpoints`: oldest first.
    func checkpoints(id: String) throws -> HTTPResponse {
        _ = try store.experiment(id: id)
        let list = try store.checkpoints(experimentID: id).map(Self.checkpointJSON)
        return JSONBody.response(.object(["experiment_id": .string(id), "checkpoints": .array(list)]))
    }

    /// `GET /checkpoints/{id}`: the safetensors file.
    func downloadCheckpoint(id: String) throws -> HTTPResponse {
        let checkpoint = try store.checkpoint(id: id)
        let url = try CheckpointFiles.localFile(of: checkpoint, store: store, dataDirectory: dataDirectory)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ServiceError.checkpointFileMissing(id: id)
        }
        var response = HTTPResponse(status: .ok, body: .bytes(Array(data)))
        response.headers.set("Content-Type", "application/octet-stream")
        response.headers.set("Content-Disposition",
                             "attachment; filename=\"\(checkpoint.experimentID)-epoch\(checkpoint.epoch).safetensors\"")
        return response
    }
}

/// `GET /envs`: the built-in environments with parameters and a recommended spec.
enum EnvironmentCatalog {
    static func response() throws -> HTTPResponse {
        let list: [JSONValue] = try EnvironmentRegistry.descriptors.map { d in
            .object([
                "name": .string(d.name), "summary": .string(d.summary),
                "parameters": .array(d.parameters.map(\.json)),
                "recommended_spec": try ExperimentSpec.recommended(for: d.name).json,
            ])
        }
        return JSONBody.response(.object(["environments": .array(list)]))
    }
}
