import Foundation
import Service
import Storage
import Testing

@Suite("GET /experiments/{id}/events", .serialized)
struct EventStreamTests {
    @Test func streamsSummaryThenNewPointsAndStatusChanges() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let id = try live.makeExperiment()
        try live.record([("old/a", 1), ("old/b", 2)], experimentID: id)
        let cursor = try live.store.newestMetricPointID(experimentID: id)

        let client = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events")
        #expect(client.status == 200)
        #expect(client.header("Content-Type") == "text/event-stream")
        #expect(client.header("Cache-Control") == "no-store")
        let first = try #require(client.next(within: 5))
        #expect(first.event == "experiment")
        let summary = try #require(first.json)
        #expect(summary["id"] as? String == id && summary["status"] as? String == "queued")
        #expect((summary["metric_cursor"] as? NSNumber)?.int64Value == cursor)
        #expect(first.id == String(cursor), "a reconnect with Last-Event-ID resumes where this stream began")
        #expect((summary["progress"] as? [String: Any])?["epochs"] as? NSNumber == 3)

        let recordedAt = Date()
        try live.record([("val/return", 0.5), ("train/loss", .nan), ("val/return", 0.75)], experimentID: id, step: 5)
        let metrics = try #require(client.next("metrics", within: 5))
        #expect(Date().timeIntervalSince(recordedAt) < 1.5)
        let expected = try live.store.metricPoints(experimentID: id, after: cursor)
        #expect(expected.count == 3)
        #expect(metrics.id == expected.last.map { String($0.id) })
        let points = try #require(metrics.json?["points"] as? [[String: Any]])
        #expect(points.compactMap { ($0["id"] as? NSNumber)?.int64Value } == expected.map(\.id))
        #expect(points.compactMap { $0["key"] as? String } == ["val/return", "train/loss", "val/return"])
        #expect(points[0]["value"] as? Double == 0.5 && points[1]["value"] is NSNull && points[2]["value"] as? Double == 0.75)
        #expect(points[2]["env_steps"] as? NSNumber == 70 && points[2]["grad_steps"] as? NSNumber == 7)
        #expect(points[2]["epoch"] as? NSNumber == 5 && points[2]["wall_time"] as? Double == 1_700_000_007)

        try live.store.transition(id: id, to: .cancelled, reason: "stopped by the test")
        let status = try #require(client.next("status", within: 5)?.json)
        #expect(status["from"] as? String == "queued" && status["to"] as? String == "cancelled")
        #expect(status["reason"] as? String == "stopped by the test")
        #expect((status["at"] as? String)?.hasSuffix("Z") == true)
        let updated = try #require(client.next("experiment", within: 5)?.json)
        #expect(updated["status"] as? String == "cancelled")
        #expect((updated["metric_cursor"] as? NSNumber)?.int64Value == expected.last?.id)
        #expect((updated["version"] as? NSNumber)?.intValue ?? 0 > (summary["version"] as? NSNumber)?.intValue ?? 0)
    }

    @Test func resumesAfterQueryOrLastEventIDHeader_inBatchesOfAtMostAThousand() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let id = try live.makeExperiment()
        try live.record((0 ..< 2500).map { ("train/loss", Double($0)) }, experimentID: id)
        let ids = try live.store.metricPoints(experimentID: id, after: 0, limit: 5000).map(\.id)
        #expect(ids.count == 2500)

        let all = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events?after=0")
        #expect((all.next("experiment", within: 5)?.json?["metric_cursor"] as? NSNumber)?.int64Value == ids.last)
        var received: [Int64] = []
        var sizes: [Int] = []
        while received.count < ids.count, let event = all.next("metrics", within: 5) {
            let batch = (event.json?["points"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
            #expect(event.id == batch.last.map(String.init))
            sizes.append(batch.count)
            received += batch
        }
        #expect(received == ids)
        #expect(sizes == [1000, 1000, 500])

        let partial = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events?after=\(ids[2489])")
        let tail = partial.next("metrics", within: 5)?.json?["points"] as? [[String: Any]]
        #expect(tail?.compactMap { ($0["id"] as? NSNumber)?.int64Value } == Array(ids[2490...]))

        let header = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events?after=0",
                                           headers: ["Last-Event-ID: \(ids[2497])"])
        let resumed = header.next("metrics", within: 5)?.json?["points"] as? [[String: Any]]
        #expect(resumed?.compactMap { ($0["id"] as? NSNumber)?.int64Value } == Array(ids[2498...]))
    }

    @Test func unknownExperimentIs404_andBadResumePositionsAre400() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let missing = try LoopbackClient.request(port: live.port, "GET", "/experiments/nope/events")
        #expect(missing.hasPrefix("HTTP/1.1 404"))
        #expect(missing.contains("\"error\""))
        let id = try live.makeExperiment()
        let badHeader = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events",
                                              headers: ["Last-Event-ID: yesterday"])
        #expect(badHeader.status == 400)
        let badQuery = try LoopbackClient.request(port: live.port, "GET", "/experiments/\(id)/events?after=-3")
        #expect(badQuery.hasPrefix("HTTP/1.1 400") && badQuery.contains("\"field\":\"after\""))
    }

    @Test func pingsIdleStreams_andEndsWhenTheClientLeaves() throws {
        let live = try LiveAPI(ping: .milliseconds(200))
        defer { live.close() }
        let id = try live.makeExperiment()
        var client: EventStreamClient? = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events")
        let ping = client?.next(":", within: 5)
        #expect(ping?.data == "ping")
        #expect(live.server.connectionCount == 1)
        client = nil  // closes the socket
        let deadline = Date().addingTimeInterval(5)
        while live.server.connectionCount > 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(live.server.connectionCount == 0)
    }

    @Test func streamEndsWhenTheExperimentIsDeleted() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let id = try live.makeExperiment()
        let client = try EventStreamClient(port: live.port, target: "/experiments/\(id)/events")
        #expect(client.next("experiment", within: 5) != nil)
        try live.store.transition(id: id, to: .cancelled, reason: "done")
        try live.store.deleteExperiment(id: id)
        #expect(client.waitForEnd(within: 5))
    }

    @Test func serverShutdownEndsOpenStreamsPromptly() throws {
        let live = try LiveAPI()
        defer { live.close() }
        let id = try live.makeExperiment()
        let clients = try (0 ..< 3).map { _ in try EventStreamClient(port: live.port, target: "/experiments/\(id)/events") }
        for c in clients { #expect(c.next("experiment", within: 5) != nil) }
        let started = Date()
        live.server.shutdownAndWait(gracePeriod: .seconds(20))
        #expect(Date().timeIntervalSince(started) < 3)
        for c in clients {
            #expect(c.waitForEnd(within: 5))
            #expect(c.sawLastChunk)
        }
    }
}
