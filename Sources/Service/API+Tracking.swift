import AMAGO
import Foundation
import HTTPCore
import JSON
import Storage

extension API {
    /// `POST /sweeps`: one experiment per point of `grid` over `spec`, all in one group; every
    /// generated spec is validated before any is queued. 201 with `Location`.
    func createSweep(_ request: HTTPRequest) throws -> HTTPResponse {
        let plan = try SweepPlan(body: try JSONBody.parse(request.body))
        let key = Self.idempotencyKey(request)
        let creation = try store.createSweep(NewSweep(
            name: plan.name, group: plan.group, baseSpec: plan.baseSpecText, grid: plan.gridText,
            experiments: plan.experiments, idempotencyKey: key,
            requestHash: key.map { _ in Self.fingerprint(plan.fingerprintText) }))
        if creation.isNew { pool.wake() }
        var o = sweepJSON(creation.sweep)
        o["experiments"] = .array(try creation.experiments.map { try experimentJSON($0, detailed: false) })
        var response = JSONBody.response(.object(o), status: creation.isNew ? .created : .ok)
        response.headers.set("Location", "/sweeps/\(creation.sweep.id)")
        return response
    }

    /// `GET /sweeps/{id}`: the sweep and a summary of each point (see `groupSummary`).
    func getSweep(_ request: HTTPRequest, id: String) throws -> HTTPResponse {
        let sweep = try store.sweep(id: id)
        let members = try store.experiments(inSweep: id)
        var o = sweepJSON(sweep)
        for (k, v) in try membersSummary(members, group: sweep.group, keys: Self.keysQuery(request)) { o[k] = v }
        return JSONBody.response(.object(o))
    }

    /// `GET /groups/{group}`: each member with, per metric, its last, best, min and max.
    func getGroup(_ request: HTTPRequest, group: String) throws -> HTTPResponse {
        let members = try store.experiments(inGroup: group)
        return JSONBody.response(.object(try membersSummary(members, group: group, keys: Self.keysQuery(request))))
    }

    /// `GET /groups`: every group with its experiment count per status, newest first.
    func listGroups() throws -> HTTPResponse {
        let groups: [JSONValue] = try store.groups().map { g in
            .object([
                "group": .string(g.group), "experiments": JSONBody.int(g.experiments),
                "status_counts": Self.statusCountsJSON(g.statusCounts), "last_created_at": JSONBody.date(g.lastCreatedAt),
            ])
        }
        return JSONBody.response(.object(["groups": .array(groups)]))
    }

    /// `GET /tags`: every tag in use with how many experiments carry it.
    func listTags() throws -> HTTPResponse {
        let tags: [JSONValue] = try store.tags().map { .object(["tag": .string($0.tag), "experiments": JSONBody.int($0.experiments)]) }
        return JSONBody.response(.object(["tags": .array(tags)]))
    }

    /// `GET /groups/{group}/series/{key}?x=&points=&split=`: the group's runs of one metric
    /// averaged on a common x grid, one curve per value of the `split` paths (by default the
    /// group's sweep paths other than `seed`), with min, max and standard deviation.
    func groupSeries(_ request: HTTPRequest, group: String, key: String) throws -> HTTPResponse {
        let query = request.query
        let axis = try Self.axisQuery(query)
        let points = try Self.intQuery(query, "points", default: 200, in: 1...5000)
        let members = try store.experiments(inGroup: group)
        let split: [String]
        if let raw = query["split"] {
            split = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } else {
            split = Self.splitKeys(members)
        }
        var curves: [String: (values: [String: JSONValue], members: [String], runs: [[(x: Double, value: Double)]])] = [:]
        for member in members {
            let values = Self.pointValues(member, paths: split)
            let label = split.isEmpty ? "all" : split.map { "\($0)=\(Self.text(values[$0] ?? .null))" }.joined(separator: ", ")
            var curve = curves[label] ?? (values, [], [])
            let series: MetricSeries
            do {
                series = try store.series(experimentID: member.id, key: key, axis: axis, maxPoints: 2000)
            } catch StorageError.notFound {
                curves[label] = curve
                continue  // this run has not recorded the metric (yet)
            }
            curve.members.append(member.id)
            curve.runs.append(series.samples.map { (x: $0.x, value: $0.mean) })
            curves[label] = curve
        }
        let drawn: [JSONValue] = curves.keys.sorted().compactMap { label in
            let curve = curves[label]!
            guard !curve.members.isEmpty else { return nil }
            let aggregated = SeriesAggregate.aggregate(curve.runs, points: points).map { p -> JSONValue in
                .object(["x": JSONBody.number(p.x), "mean": JSONBody.number(p.mean), "min": JSONBody.number(p.min),
                         "max": JSONBody.number(p.max), "std": JSONBody.number(p.std), "count": JSONBody.int(p.count)])
            }
            return .object(["label": .string(label), "values": .object(curve.values),
                            "experiments": .array(curve.members.map(JSONValue.string)), "points": .array(aggregated)])
        }
        return JSONBody.response(.object([
            "group": .string(group), "key": .string(key), "x": .string(axis.rawValue),
            "split_keys": .array(split.map(JSONValue.string)), "curves": .array(drawn),
        ]))
    }

    /// The members of a group or sweep with their metric summaries, status counts, the paths
    /// that tell its points apart and the sweeps that fed it.
    func membersSummary(_ members: [ExperimentRecord], group: String, keys: [String]?) throws -> [String: JSONValue] {
        let summaries = try store.metricSummaries(experimentIDs: members.map(\.id), keys: keys)
        let split = Self.splitKeys(members)
        var counts: [ExperimentStatus: Int] = [:]
        let items: [JSONValue] = try members.map { member in
            counts[member.status, default: 0] += 1
            guard case .object(var o) = try experimentJSON(member, detailed: false) else { return .null }
            o["metrics"] = Self.summariesJSON(summaries[member.id] ?? [:])
            o["values"] = .object(Self.pointValues(member, paths: split + ["seed"]))
            return .object(o)
        }
        return [
            "group": .string(group), "experiments": .array(items),
            "split_keys": .array(split.map(JSONValue.string)),
            "sweeps": .array(try store.sweepIDs(inGroup: group).map(JSONValue.string)),
            "status_counts": Self.statusCountsJSON(counts),
        ]
    }

    func sweepJSON(_ sweep: SweepRecord) -> [String: JSONValue] {
        [
            "id": .string(sweep.id), "name": .string(sweep.name), "group": .string(sweep.group),
            "grid": (try? JSONValue.parse(Array(sweep.grid.utf8))) ?? .null, "created_at": JSONBody.date(sweep.createdAt),
        ]
    }

    /// Per key: count, last, best (and which end is best), min, max and the last point's env steps.
    static func summariesJSON(_ summaries: [String: MetricSummary]) -> JSONValue {
        .object(summaries.mapValues { s in
            .object([
                "count": JSONBody.int(s.count), "last": JSONBody.number(s.last), "best": JSONBody.number(s.best),
                "min": JSONBody.number(s.min), "max": JSONBody.number(s.max), "best_is": .string(s.direction.rawValue),
                "last_x": JSONBody.number(s.lastX),
            ])
        })
    }

    static func statusCountsJSON(_ counts: [ExperimentStatus: Int]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, JSONBody.int($0.value)) }))
    }

    /// The values of `paths` for one run: a sweep point's as the grid gave them, any other path
    /// from the normalized spec (null when the spec has no such field).
    static func pointValues(_ member: ExperimentRecord, paths: [String]) -> [String: JSONValue] {
        let point = member.sweepPoint.flatMap { try? JSONValue.parse(Array($0.utf8)) } ?? .null
        let spec = (try? JSONValue.parse(Array(member.spec.utf8))) ?? .null
        var values: [String: JSONValue] = [:]
        for path in paths { values[path] = point[path] ?? spec.value(atPath: path) ?? .null }
        return values
    }

    /// The sweep paths other than `seed` among the members' points, sorted.
    static func splitKeys(_ members: [ExperimentRecord]) -> [String] {
        var keys: Set<String> = []
        for member in members {
            guard let text = member.sweepPoint, case .object(let point)? = try? JSONValue.parse(Array(text.utf8)) else { continue }
            keys.formUnion(point.keys.filter { $0 != "seed" })
        }
        return keys.sorted()
    }

    /// `keys=a,b`: only these metric keys in summaries; nil when absent.
    static func keysQuery(_ request: HTTPRequest) -> [String]? {
        guard let raw = request.query["keys"] else { return nil }
        return raw.split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }

    /// The `x` query parameter (default: environment steps).
    static func axisQuery(_ query: QueryParameters) throws -> MetricAxis {
        guard let raw = query["x"], !raw.isEmpty else { return .environmentSteps }
        guard let axis = MetricAxis(rawValue: raw) else {
            throw ServiceError.invalidQuery(field: "x", expected: "one of " + MetricAxis.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return axis
    }

    /// A value as it reads in a label: strings bare, everything else as JSON.
    static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        return value.description
    }
}

extension JSONValue {
    /// The member `key` of an object; nil for other values.
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The value at a dotted path of object keys (`agent.gamma`), nil when absent.
    func value(atPath path: String) -> JSONValue? {
        var current = self
        for key in path.split(separator: ".") {
            guard case .object(let o) = current, let next = o[String(key)] else { return nil }
            current = next
        }
        return current
    }
}

/// A validated `POST /sweeps` body: the base spec, the grid and one normalized spec per point.
struct SweepPlan {
    /// The most experiments one sweep may create.
    static let maxPoints = 500
    /// The most values one grid path may take.
    static let maxValues = 100

    let name: String
    let group: String
    let baseSpecText: String
    let gridText: String
    let experiments: [NewExperiment]
    /// What the idempotency fingerprint covers: everything that shapes the sweep.
    let fingerprintText: String

    init(body: JSONValue) throws {
        guard case .object(let o) = body else { throw ServiceError.invalidField(field: "$", expected: "a JSON object with spec and grid") }
        let known: Set<String> = ["spec", "grid", "name", "group", "tags"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServiceError.invalidField(field: unknown, expected: "absent: a sweep has spec, grid, name, group and tags")
        }
        guard case .object(var base)? = o["spec"] else {
            throw ServiceError.invalidField(field: "spec", expected: "an experiment spec (a JSON object)")
        }
        guard case .object(let grid)? = o["grid"], !grid.isEmpty else {
            throw ServiceError.invalidField(field: "grid", expected: "an object of spec path → non-empty array of values, e.g. {\"seed\": [1, 2, 3]}")
        }
        // The labels: the request's name, group and tags, else the base spec's, checked as a spec checks them.
        let own = try Self.labels(o, prefix: "")
        let inherited = try Self.labels(base, prefix: "spec.")
        name = o["name"] != nil ? own.name : inherited.name
        let requestedGroup = own.group ?? inherited.group
        group = requestedGroup ?? "\(name)-\(Identifier.make(length: 6))"
        var tags = inherited.tags
        for tag in own.tags where !tags.contains(tag) { tags.append(tag) }

        // The grid: paths in sorted order, the last varying fastest.
        var axes: [(path: String, values: [JSONValue])] = []
        var problems: [SweepProblem] = []
        for path in grid.keys.sorted() {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false)
            if segments.isEmpty || segments.contains(where: { $0.isEmpty }) || ["group", "tags"].contains(path) {
                problems.append(SweepProblem(field: "grid.\(path)", expected: "a spec field path such as seed or agent.gamma (not group or tags)", value: nil))
                continue
            }
            guard case .array(let values) = grid[path]!, !values.isEmpty, values.count <= Self.maxValues else {
                problems.append(SweepProblem(field: "grid.\(path)", expected: "a non-empty array of at most \(Self.maxValues) values", value: grid[path]))
                continue
            }
            axes.append((path, values))
        }
        if !problems.isEmpty { throw ServiceError.invalidSweep(problems) }
        let count = axes.reduce(1) { $0 * $1.values.count }
        guard count <= Self.maxPoints else {
            throw ServiceError.invalidSweep([SweepProblem(field: "grid", expected: "at most \(Self.maxPoints) points, got \(count)", value: nil)])
        }

        base.removeValue(forKey: "group")
        var experiments: [NewExperiment] = []
        var normalizedPoints: [JSONValue] = []
        for index in 0..<count {
            var point: [(path: String, value: JSONValue)] = []
            var rest = index
            for axis in axes.reversed() {
                point.insert((axis.path, axis.values[rest % axis.values.count]), at: 0)
                rest /= axis.values.count
            }
            var document = JSONValue.object(base)
            var broken = false
            for (path, value) in point where !document.set(value, atPath: path) {
                problems.append(SweepProblem(field: path, expected: "a path into objects of the spec", value: value))
                broken = true
            }
            if broken { continue }
            let label = point.map { "\($0.path)=\(API.text($0.value))" }.joined(separator: " ")
            guard case .object(var fields) = document else { continue }
            if !point.contains(where: { $0.path == "name" }) {
                fields["name"] = .string(String((name + " " + label).prefix(ExperimentSpec.maxNameLength)))
            }
            fields["group"] = .string(group)
            fields["tags"] = .array(tags.map(JSONValue.string))
            do {
                let spec = try ExperimentSpec(value: .object(fields))
                let normalized = String(decoding: JSONBody.encode(spec.json), as: UTF8.self)
                // The generated group name differs per request: the fingerprint leaves it out.
                if case .object(var fingerprinted) = spec.json {
                    fingerprinted.removeValue(forKey: "group")
                    normalizedPoints.append(.object(fingerprinted))
                }
                let values = Dictionary(uniqueKeysWithValues: point.map { ($0.path, $0.value) })
                experiments.append(NewExperiment(
                    name: spec.name, environment: spec.environment, spec: normalized, epochs: spec.schedule.epochs,
                    group: group, tags: spec.tags,
                    sweepPoint: String(decoding: JSONBody.encode(.object(values)), as: UTF8.self)))
            } catch ExperimentSpecError.invalid(let fields) {
                for field in fields {
                    let owner = point.first { SweepPlan.covers($0.path, field.field) }
                    let problem = SweepProblem(field: owner.map { _ in field.field } ?? "spec.\(field.field)", expected: field.expected,
                                               value: owner?.value)
                    if !problems.contains(problem) { problems.append(problem) }
                }
            }
        }
        if !problems.isEmpty { throw ServiceError.invalidSweep(problems) }
        baseSpecText = String(decoding: JSONBody.encode(.object(base)), as: UTF8.self)
        gridText = String(decoding: JSONBody.encode(.object(grid)), as: UTF8.self)
        self.experiments = experiments
        fingerprintText = String(decoding: JSONBody.encode(.object([
            "name": .string(name), "group": .string(requestedGroup ?? ""), "tags": .array(tags.map(JSONValue.string)),
            "grid": .object(grid), "points": .array(normalizedPoints),
        ])), as: UTF8.self)
    }

    /// The name, group and tags of `o` (defaults where absent); problems are reported under `prefix`.
    static func labels(_ o: [String: JSONValue], prefix: String) throws -> ExperimentSpec {
        do {
            return try ExperimentSpec(value: .object(o.filter { ["name", "group", "tags"].contains($0.key) }))
        } catch ExperimentSpecError.invalid(let fields) {
            throw ServiceError.invalidSweep(fields.map { SweepProblem(field: prefix + $0.field, expected: $0.expected, value: nil) })
        }
    }

    /// Whether an error at `field` belongs to the grid path `path` (the field itself or inside it).
    static func covers(_ path: String, _ field: String) -> Bool {
        field == path || field.hasPrefix(path + ".") || field.hasPrefix(path + "[")
    }
}

/// One reason a sweep was refused: the field, what it must be and the grid value at fault.
public struct SweepProblem: Equatable, Sendable {
    public var field: String
    public var expected: String
    /// The grid value that produced the problem, when one did.
    public var value: JSONValue?

    /// "agent.gamma = 1.5 must be a number in [0, 1]".
    var sentence: String {
        (value.map { "\(field) = \($0)" } ?? field) + " must be \(expected)"
    }
}

extension JSONValue {
    /// Sets the value at a dotted path, creating objects on the way; false when the path runs
    /// through a value that is not an object.
    mutating func set(_ value: JSONValue, atPath path: String) -> Bool {
        let keys = path.split(separator: ".").map(String.init)
        return set(value, keys[...])
    }

    private mutating func set(_ value: JSONValue, _ keys: ArraySlice<String>) -> Bool {
        guard let key = keys.first else { self = value; return true }
        guard case .object(var o) = self else { return false }
        var child = o[key] ?? .object([:])
        if keys.count > 1, case .object = child {} else if keys.count > 1 { return false }
        guard child.set(value, keys.dropFirst()) else { return false }
        o[key] = child
        self = .object(o)
        return true
    }
}
