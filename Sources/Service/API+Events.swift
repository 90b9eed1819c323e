import Foundation
import HTTPCore
import JSON
import Storage

extension API {
    /// `GET /experiments/{id}/events`: a Server-Sent Events stream of the experiment's summary,
    /// status changes and new metric points (see `ExperimentEventFeed`); 404 for an unknown id.
    ///
    /// Points resume after `Last-Event-ID` or `?after=` (the header wins); without either only
    /// points recorded after the connection opened are sent.
    func experimentEvents(_ request: HTTPRequest, id: String) throws -> HTTPResponse {
        let resume = try Self.resumePosition(request)
        // Cursors first: a change landing between them and the first summary is sent twice at
        // worst, never lost.
        let statusCursor = try store.newestStatusChangeID(experimentID: id)
        let newest = try store.newestMetricPointID(experimentID: id)
        let feed = ExperimentEventFeed(api: self, experimentID: id, pointCursor: resume ?? newest,
                                       metricCursor: newest, statusCursor: statusCursor)
        let streams = eventStreams
        var response = HTTPResponse.eventStream { writer in
            guard let task = streams.start({ await feed.run(writer) }) else {
                writer.finish()  // the service is shutting down
                return
            }
            writer.onClose { task.cancel() }
        }
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    /// The metric point id to resume after: `Last-Event-ID`, else `after`, else nil.
    static func resumePosition(_ request: HTTPRequest) throws -> Int64? {
        if let header = request.headers["Last-Event-ID"]?.trimmingCharacters(in: .whitespaces), !header.isEmpty {
            guard let n = Int64(header), n >= 0 else {
                throw HTTPError.badRequest("Last-Event-ID must be a metric point id (a non-negative integer)",
                                           field: "Last-Event-ID")
            }
            return n
        }
        guard let raw = request.query["after"], !raw.isEmpty else { return nil }
        guard let n = Int64(raw), n >= 0 else {
            throw ServiceError.invalidQuery(field: "after", expected: "a metric point id (a non-negative integer)")
        }
        return n
    }
}

/// One client's event stream: polls the database (the trainer may write from another process)
/// and sends `experiment`, `status` and `metrics` events until the client leaves, the server
/// shuts down (both cancel the task) or the experiment is deleted.
struct ExperimentEventFeed: Sendable {
    /// Points per `metrics` event.
    static let batchSize = 1000
    /// Events per poll while catching up, so a long backlog cannot flood the connection's buffer.
    static let batchesPerPoll = 4

    let api: API
    let experimentID: String
    var pointCursor: Int64
    var metricCursor: Int64
    var statusCursor: Int64

    /// Streams until cancelled or the experiment is gone, then ends the response.
    func run(_ writer: EventStreamWriter) async {
        var state = self
        do { try await state.stream(to: writer) } catch {}  // cancellation, deletion or a closed store
        writer.finish()
    }

    private mutating func stream(to writer: EventStreamWriter) async throws {
        let store = api.store
        var lastSummary: JSONValue?
        var lastPing = ContinuousClock.now
        while !Task.isCancelled {
            // Status first so the summary that follows already reflects it.
            if lastSummary != nil {
                for change in try store.statusChanges(experimentID: experimentID, after: statusCursor) {
                    guard writer.send(data: Self.encode(API.statusChangeJSON(change.value)), event: "status", id: String(pointCursor)) else { return }
                    statusCursor = change.id
                }
            }
            let summary = try api.experimentJSON(try store.experiment(id: experimentID), detailed: false)
            if summary != lastSummary {
                var object: [String: JSONValue] = [:]
                if case .object(let o) = summary { object = o }
                object["metric_cursor"] = .number(Double(metricCursor))
                // Every event carries the stream's metric position as its id, so a client that
                // reconnects before any `metrics` event still resumes where this stream began.
                guard writer.send(data: Self.encode(.object(object)), event: "experiment", id: String(pointCursor)) else { return }
                lastSummary = summary
            }
            for _ in 0 ..< Self.batchesPerPoll {
                let batch = try store.metricPoints(experimentID: experimentID, after: pointCursor, limit: Self.batchSize)
                guard let last = batch.last else { break }
                let data = Self.encode(.object(["points": .array(batch.map(Self.pointJSON))]))
                guard writer.send(data: data, event: "metrics", id: String(last.id)) else { return }
                pointCursor = last.id
                metricCursor = max(metricCursor, last.id)
                if batch.count < Self.batchSize { break }
            }
            if ContinuousClock.now - lastPing >= api.eventPingInterval {
                guard writer.comment("ping") else { return }
                lastPing = .now
            }
            try await Task.sleep(for: api.eventPollInterval)
        }
    }

    static func encode(_ value: JSONValue) -> String { String(decoding: JSONBody.encode(value), as: UTF8.self) }

    static func pointJSON(_ point: Recorded<MetricPointRecord>) -> JSONValue {
        let p = point.value
        return .object([
            "id": .number(Double(point.id)), "key": .string(p.key), "value": JSONBody.number(p.value),
            "env_steps": JSONBody.int(p.environmentSteps), "grad_steps": JSONBody.int(p.gradientSteps), "epoch": JSONBody.int(p.epoch),
            "wall_time": .number(p.wallTime),
        ])
    }
}
