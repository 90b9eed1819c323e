import AMAGO
import Foundation
import HTTPCore
import JSON
import Storage
import Testing

/// Tags, groups, sweeps, aggregated curves and exports through the API.
@Suite("Tracking endpoints", .serialized)
struct TrackingEndpointTests {
    /// The tiny T-Maze spec as a JSON object.
    static func tinySpec(epochs: Int = 2, name: String = "tmaze") throws -> JSONValue {
        try JSONValue.parse(Array(try Specs.text(Specs.tinyTMaze(epochs: epochs, name: name)).utf8))
    }

    static func body(_ value: JSONValue) -> String { String(decoding: try! JSONEncoder().encode(value), as: UTF8.self) }

    /// Polls until every experiment of the group has finished.
    static func waitForGroup(_ h: Harness, _ group: String, seconds: Double) async throws -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: JSONValue?
        while Date() < deadline {
            last = try await h.send(.get, "/groups/\(group)").json
            let statuses = last?["experiments"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
            if !statuses.isEmpty, statuses.allSatisfy({ ["succeeded", "failed", "stopped", "cancelled"].contains($0) }) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    @Test func sweep_3seedsBy2Gammas_runsToCompletion_andAggregatesPerGamma() async throws {
        let h = try Harness()
        defer { h.close() }
        let request: JSONValue = .object([
            "name": .string("gamma-study"), "group": .string("gamma-study"), "tags": .array([.string("study")]),
            "spec": try Self.tinySpec(),
            "grid": .object(["seed": .array([.number(1), .number(2), .number(3)]),
                             "agent.gamma": .array([.number(0.9), .number(0.99)])]),
        ])
        let created = try await h.send(.post, "/sweeps", body: Self.body(request))
        #expect(created.status == 201, "\(String(decoding: created.bytes, as: UTF8.self))")
        let sweepID = try #require(created.json?["id"]?.stringValue)
        #expect(created.response.headers["Location"] == "/sweeps/\(sweepID)")
        let experiments = created.json?["experiments"]?.arrayValue ?? []
        #expect(experiments.count == 6)
        // Paths in sorted order, the last (seed) varying fastest.
        #expect(experiments.first?["name"]?.stringValue == "gamma-study agent.gamma=0.9 seed=1")
        #expect(experiments.last?["name"]?.stringValue == "gamma-study agent.gamma=0.99 seed=3")
        #expect(experiments.allSatisfy { $0["group"]?.stringValue == "gamma-study" && $0["tags"]?.arrayValue == [.string("study")] })
        let firstID = try #require(experiments.first?["id"]?.stringValue)
        let spec = try #require(try await h.send(.get, "/experiments/\(firstID)").json?["spec"])
        #expect(spec["seed"]?.numberValue == 1 && spec["group"]?.stringValue == "gamma-study")
        #expect(abs((spec["agent"]?["gamma"]?.numberValue ?? 0) - 0.9) < 1e-6)

        let group = try #require(try await Self.waitForGroup(h, "gamma-study", seconds: 300))
        let members = group["experiments"]?.arrayValue ?? []
        #expect(members.count == 6 && members.allSatisfy { $0["status"]?.stringValue == "succeeded" }, "\(members.map { $0["status"] ?? .null })")
        #expect(group["split_keys"]?.arrayValue == [.string("agent.gamma")])
        #expect(group["sweeps"]?.arrayValue == [.string(sweepID)])
        // Each member's summary agrees with its own series.
        for member in members {
            let id = try #require(member["id"]?.stringValue)
            let summary = try #require(member["metrics"]?["val/return"])
            let points = try await h.send(.get, "/experiments/\(id)/metrics/val/return").json?["points"]?.arrayValue ?? []
            let values = points.compactMap { $0["value"]?.numberValue }
            #expect(summary["count"]?.numberValue == Double(points.count))
            #expect(summary["last"]?.numberValue == values.last && summary["max"]?.numberValue == values.max())
            #expect(summary["min"]?.numberValue == values.min() && summary["best"]?.numberValue == values.max())
            #expect(summary["best_is"]?.stringValue == "max")
        }
        let sweep = try await h.send(.get, "/sweeps/\(sweepID)?keys=val/return")
        #expect(sweep.status == 200 && sweep.json?["experiments"]?.arrayValue?.count == 6)
        #expect(sweep.json?["experiments"]?.arrayValue?.first?["metrics"]?["train/critic_loss"] == nil, "keys= limits the summaries")

        // Two curves, one per gamma, each the mean of its three seeds at shared x.
        let series = try await h.send(.get, "/groups/gamma-study/series/val/return?x=epoch")
        #expect(series.status == 200)
        let curves = series.json?["curves"]?.arrayValue ?? []
        #expect(curves.map { $0["label"]?.stringValue ?? "" } == ["agent.gamma=0.9", "agent.gamma=0.99"])
        for curve in curves {
            let ids = curve["experiments"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(ids.count == 3)
            var perRun: [[Double: Double]] = []
            for id in ids {
                let points = try await h.send(.get, "/experiments/\(id)/metrics/val/return?x=epoch").json?["points"]?.arrayValue ?? []
                perRun.append(Dictionary(points.map { ($0["x"]!.numberValue!, $0["value"]!.numberValue!) }, uniquingKeysWith: { $1 }))
            }
            let points = curve["points"]?.arrayValue ?? []
            #expect(!points.isEmpty)
            for p in points {
                let x = try #require(p["x"]?.numberValue)
                let values = perRun.compactMap { $0[x] }
                #expect(p["count"]?.numberValue == Double(values.count))
                let mean = values.reduce(0, +) / Double(values.count)
                #expect(abs((p["mean"]?.numberValue ?? .nan) - mean) < 1e-9)
                #expect(p["min"]?.numberValue == values.min() && p["max"]?.numberValue == values.max())
            }
        }
        let one = try await h.send(.get, "/groups/gamma-study/series/val/return?x=epoch&split=")
        #expect(one.json?["curves"]?.arrayValue?.count == 1)
        #expect(one.json?["curves"]?.arrayValue?.first?["experiments"]?.arrayValue?.count == 6)
        let missing = try await h.send(.get, "/groups/gamma-study/series/no/such_key")
        #expect(missing.status == 200 && missing.json?["curves"]?.arrayValue?.isEmpty == true)

        // The listing filters by the group, the tag and the sweep; groups and tags list it.
        let byTag = try await h.send(.get, "/experiments?tag=study&group=gamma-study&q=GAMMA%3D0.99")
        #expect(byTag.json?["experiments"]?.arrayValue?.count == 3)
        #expect(try await h.send(.get, "/experiments?sweep=\(sweepID)").json?["experiments"]?.arrayValue?.count == 6)
        #expect(try await h.send(.get, "/experiments?tag=study&tag=other").json?["experiments"]?.arrayValue?.isEmpty == true)
        let groups = try await h.send(.get, "/groups").json?["groups"]?.arrayValue ?? []
        #expect(groups.first?["group"]?.stringValue == "gamma-study" && groups.first?["experiments"]?.numberValue == 6)
        #expect(groups.first?["status_counts"]?["succeeded"]?.numberValue == 6)
        #expect(try await h.send(.get, "/tags").json?["tags"]?.arrayValue == [.object(["tag": .string("study"), "experiments": .number(6)])])
        #expect(try await h.send(.get, "/groups/nope").status == 404)
    }

    @Test func sweep_withOneInvalidValue_isRefusedWhole_namingPathAndValue() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let request: JSONValue = .object([
            "spec": try Self.tinySpec(),
            "grid": .object(["seed": .array([.number(1), .number(2)]), "agent.gamma": .array([.number(0.99), .number(1.5)])]),
        ])
        let reply = try await h.send(.post, "/sweeps", body: Self.body(request))
        #expect(reply.status == 422)
        #expect(reply.json?["error"]?["code"]?.stringValue == "invalid_sweep")
        #expect(reply.json?["error"]?["field"]?.stringValue == "agent.gamma")
        let fields = reply.json?["fields"]?.arrayValue ?? []
        #expect(fields.count == 1, "one problem, reported once for both seeds: \(fields)")
        #expect(fields.first?["value"]?.numberValue == 1.5)
        #expect(fields.first?["expected"]?.stringValue?.contains("0.99999") == true)
        let message = reply.json?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("agent.gamma = 1.5"), "\(message)")
        #expect(try h.store.listExperiments().experiments.isEmpty, "nothing was queued")

        // Other refusals: an unknown path, an empty value list, a bad base spec, too many points.
        func refusal(_ grid: JSONValue, spec: JSONValue? = nil) async throws -> (Int, [String]) {
            let r = try await h.send(.post, "/sweeps", body: Self.body(.object(["spec": try spec ?? Self.tinySpec(), "grid": grid])))
            return (r.status, r.json?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        }
        let unknown = try await refusal(.object(["agent.gama": .array([.number(0.9)])]))
        #expect(unknown.0 == 422 && unknown.1.contains("agent.gama"), "\(unknown)")
        let empty = try await refusal(.object(["seed": .array([])]))
        #expect(empty.0 == 422 && empty.1 == ["grid.seed"])
        let base = try await refusal(.object(["seed": .array([.number(1)])]), spec: .object(["schedule": .object(["epochs": .number(0)])]))
        #expect(base.0 == 422 && base.1 == ["spec.schedule.epochs"], "\(base)")
        let big = (0..<30).map { JSONValue.number(Double($0)) }
        let tooMany = try await refusal(.object(["seed": .array(big), "schedule.epochs": .array(big)]))
        #expect(tooMany.0 == 422 && tooMany.1 == ["grid"])
        let notAnObject = try await refusal(.array([]))
        #expect(notAnObject.0 == 422)
        #expect(try await h.send(.post, "/sweeps", body: "{\"spec\": {}, \"grid\": {\"seed\": [1]}, \"extra\": 1}").status == 422)
        #expect(try h.store.listExperiments().experiments.isEmpty)

        // Idempotency: the same key and body return the same sweep; another body conflicts.
        var headers = HTTPHeaders()
        headers.set("Idempotency-Key", "sweep-1")
        let good = Self.body(.object(["spec": try Self.tinySpec(), "grid": .object(["seed": .array([.number(1), .number(2)])])]))
        let first = try await h.send(.post, "/sweeps", body: good, headers: headers)
        let again = try await h.send(.post, "/sweeps", body: good, headers: headers)
        #expect(first.status == 201 && again.status == 200 && first.json?["id"] == again.json?["id"])
        let other = Self.body(.object(["spec": try Self.tinySpec(), "grid": .object(["seed": .array([.number(3)])])]))
        #expect(try await h.send(.post, "/sweeps", body: other, headers: headers).status == 422)
        #expect(try h.store.listExperiments().experiments.count == 2)
    }

    @Test func tagsAndGroup_inASpec_areValidated_andListed() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        guard case .object(var spec) = try Self.tinySpec() else { return }
        spec["tags"] = .array([.string("a"), .string(""), .number(3)])
        spec["group"] = .string(String(repeating: "g", count: 101))
        let bad = try await h.send(.post, "/experiments", body: Self.body(.object(spec)))
        #expect(bad.status == 422)
        let fields = Set(bad.json?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["tags[1]", "tags[2]", "group"], "\(fields)")
        spec["tags"] = .array([.string("baseline"), .string("tmaze"), .string("baseline")])
        spec["group"] = .string("study one/α")
        let good = try await h.send(.post, "/experiments", body: Self.body(.object(spec)))
        #expect(good.status == 201)
        #expect(good.json?["tags"]?.arrayValue == [.string("baseline"), .string("tmaze")])
        #expect(good.json?["group"]?.stringValue == "study one/α")
        #expect(good.json?["spec"]?["tags"]?.arrayValue?.count == 2)
        let encoded = "study%20one%2F%CE%B1"
        #expect(try await h.send(.get, "/groups/\(encoded)").json?["experiments"]?.arrayValue?.count == 1)
        #expect(try await h.send(.get, "/experiments?group=\(encoded)&tag=tmaze").json?["experiments"]?.arrayValue?.count == 1)
    }

    @Test func csvExport_roundTripsToTheSeriesPoints_andTheWholeExperimentExports() async throws {
        let h = try Harness(startWorkers: false)
        defer { h.close() }
        let id = try h.store.createExperiment(NewExperiment(name: "export", environment: "tmaze_passive",
                                                           spec: try Specs.text(Specs.tinyTMaze()), epochs: 3)).experiment.id
        var points: [MetricPointRecord] = []
        for i in 0..<50 {
            points.append(MetricPointRecord(key: "val/return", value: i == 7 ? .nan : sin(Double(i)) / 3,
                                            environmentSteps: i * 37, gradientSteps: i * 5, epoch: i / 10, wallTime: Double(i) * 0.123456789))
            points.append(MetricPointRecord(key: "train/critic_loss", value: 1 / Double(i + 1), environmentSteps: i * 37,
                                            gradientSteps: i * 5, epoch: i / 10, wallTime: Double(i) * 0.123456789))
        }
        try h.store.insertMetrics(points, experimentID: id)
        for axis in ["env_steps", "wall_time", "epoch"] {
            let csv = try await h.send(.get, "/experiments/\(id)/metrics/val/return.csv?x=\(axis)")
            #expect(csv.status == 200 && csv.response.headers["Content-Type"]?.hasPrefix("text/csv") == true)
            #expect(csv.response.headers["Content-Disposition"]?.contains("attachment") == true)
            let lines = String(decoding: csv.bytes, as: UTF8.self).split(separator: "\r\n").map(String.init)
            #expect(lines.first == "env_steps,grad_steps,epoch,wall_time,value")
            let column = ["env_steps": 0, "grad_steps": 1, "epoch": 2, "wall_time": 3][axis]!
            let parsed = lines.dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
            let series = try await h.send(.get, "/experiments/\(id)/metrics/val/return?x=\(axis)").json?["points"]?.arrayValue ?? []
            #expect(parsed.count == 50 && series.count == 50)
            for (row, point) in zip(parsed, series) {
                #expect(row[column] == point["x"]?.numberValue)
                if let value = point["value"]?.numberValue { #expect(row[4] == value) } else { #expect(row[4].isNaN) }
            }
        }
        #expect(try await h.send(.get, "/experiments/\(id)/metrics/no_such.csv").status == 404)
        #expect(try await h.send(.get, "/experiments/\(id)/metrics/val/return.csv?x=bogus").status == 400)

        // JSON lines: the experiment first, then its history, checkpoints and every point.
        let jsonl = try await h.send(.get, "/experiments/\(id)/export")
        #expect(jsonl.status == 200 && jsonl.response.headers["Content-Type"] == "application/x-ndjson")
        let records = String(decoding: jsonl.bytes, as: UTF8.self).split(separator: "\n").map {
            try? JSONValue.parse(Array($0.utf8))
        }
        #expect(records.allSatisfy { $0 != nil })
        #expect(records.first??["type"]?.stringValue == "experiment" && records.first??["spec"]?["seed"] != nil)
        #expect(records.filter { $0?["type"]?.stringValue == "status_change" }.count == 1)
        let metricLines = records.filter { $0?["type"]?.stringValue == "metric" }
        #expect(metricLines.count == 100)
        #expect(metricLines.filter { $0?["key"]?.stringValue == "val/return" }.compactMap { $0?["env_steps"]?.numberValue }
                == (0..<50).map { Double($0 * 37) })

        // Zip: a valid archive (checked by Python's zipfile) holding the spec and the CSVs.
        let zip = try await h.send(.get, "/experiments/\(id)/export?format=zip")
        #expect(zip.status == 200 && zip.response.headers["Content-Type"] == "application/zip")
        let file = h.folder.appendingPathComponent("export.zip")
        try Data(zip.bytes).write(to: file)
        let listing = try Self.python("""
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for n in z.namelist(): print(n, len(z.read(n)))
            print(z.read('\(id)/metrics/val/return.csv').decode().splitlines()[1])
            """, file.path)
        let names = listing.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        for expected in ["experiment.json", "spec.json", "status_history.csv", "checkpoints.csv", "metrics.csv",
                         "metrics/val/return.csv", "metrics/train/critic_loss.csv"] {
            #expect(names.contains("\(id)/\(expected)"), "\(expected) in \(names)")
        }
        #expect(listing.split(separator: "\n").last == "0,0,0,0,0")
        #expect(try await h.send(.get, "/experiments/\(id)/export?format=tar").status == 400)
    }

    /// Runs a Python script with arguments; returns its standard output.
    static func python(_ script: String, _ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python: \(String(decoding: errors, as: UTF8.self))")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
