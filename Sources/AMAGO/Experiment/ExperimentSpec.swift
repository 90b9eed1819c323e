import Environments
import Foundation
import JSON
import NeuralNet

/// A whole experiment as one JSON document: the environment and its parameters, the agent and
/// its hyperparameters, the model, the schedule, exploration, relabeling, evaluation,
/// checkpointing and a seed. Every field has a default (a small, CPU-sized version of spec §6.1);
/// `init(json:)` reports every invalid field at once, each with its JSON path.
public struct ExperimentSpec: Equatable, Sendable {
    /// A label for people; the service keys experiments by id, not by name.
    public var name = "experiment"
    /// The longest name accepted, in characters.
    public static let maxNameLength = 200
    public var seed: UInt64 = 0
    /// The group it belongs to (a study: seeds and sweep points of one question), if any.
    public var group: String?
    /// Labels for filtering, distinct and in the order given.
    public var tags: [String] = []
    /// The most tags an experiment may carry.
    public static let maxTags = 32
    /// The longest tag or group name accepted, in characters.
    public static let maxLabelLength = 100
    /// Registry name and parameters (validated by the registry).
    public var environment = "tmaze_passive"
    public var environmentParameters: [String: JSONValue] = [:]
    public var agent = AgentSpec()
    public var model = ModelSpec()
    public var schedule = ScheduleSpec()
    public var exploration = ExplorationSpec()
    /// MazeRunner hindsight relabeling strategy (spec §7): none, some or all.
    public var relabeling = "none"
    public var evaluation = EvaluationSpec()
    /// Epochs between checkpoints (also at epoch 0 and at the end).
    public var checkpointInterval = 10

    public init() {}

    /// The document's sections.
    static let sections = ["name", "seed", "group", "tags", "environment", "agent", "model", "schedule", "exploration", "relabeling", "evaluation", "checkpoints"]

    /// Top-level settings (`""`), and the single fields of `relabeling` and `checkpoints`.
    static let fields: [(section: String, rows: [SpecField<ExperimentSpec>])] = [
        ("", [.string("name", \.name, oneOf: nil, maxLength: maxNameLength, "A label for people; the service keys experiments by id."),
              .int("seed", \.seed, 0...Int(Int32.max), "Seed of every random generator of the run.")]),
        ("relabeling", [.string("strategy", \.relabeling, oneOf: ["none", "some", "all"],
                                "MazeRunner hindsight relabeling (spec §7).")]),
        ("checkpoints", [.int("interval", \.checkpointInterval, 1...1_000_000, "Epochs between checkpoints (also at epoch 0 and at the end).")]),
    ]

    /// Every setting with its path, allowed values, default and meaning (`environment` aside:
    /// its parameters are the registry's, `GET /envs`).
    public static var documentation: [SpecFieldDocumentation] {
        let defaults = ExperimentSpec()
        func rows(_ section: String) -> [SpecFieldDocumentation] {
            (fields.first { $0.section == section }?.rows ?? []).map { $0.documentation(under: section, defaults: defaults) }
        }
        let labels = [
            SpecFieldDocumentation(path: "group", kind: .text, defaultValue: nil,
                                   summary: "The study it belongs to (seeds and sweep points of one question); absent: none."),
            SpecFieldDocumentation(path: "tags", kind: .labels, defaultValue: nil, summary: "Labels for filtering the list."),
        ]
        return rows("") + labels + AgentSpec.documentation(at: "agent") + ModelSpec.documentation(at: "model")
            + ScheduleSpec.documentation(at: "schedule") + ExplorationSpec.documentation(at: "exploration")
            + rows("relabeling") + EvaluationSpec.documentation(at: "evaluation") + rows("checkpoints")
    }

    /// Reads the rows of `section` (`""`: the top level, from `o` itself).
    private mutating func read(_ section: String, from o: [String: JSONValue], _ r: inout SpecReader) {
        let rows = Self.fields.first { $0.section == section }?.rows ?? []
        let object = section.isEmpty ? o : r.object(o[section], at: section, known: rows.map(\.key))
        for field in rows { field.read(&r, object, section, &self) }
    }

    /// The rows of `section` as JSON.
    private func sectionJSON(_ section: String) -> [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        for field in Self.fields.first(where: { $0.section == section })?.rows ?? [] { o[field.key] = field.write(self) }
        return o
    }

    /// Reads a spec from JSON; throws `ExperimentSpecError.invalid` listing every problem.
    public init(json data: Data) throws {
        guard let value = try? JSONValue.parse(Array(data)) else {
            throw ExperimentSpecError.invalid([FieldError(field: "$", expected: "a JSON object")])
        }
        try self.init(value: value)
    }

    /// Reads a spec from an already parsed JSON value.
    public init(value: JSONValue) throws {
        var r = SpecReader()
        guard case .object = value else { throw ExperimentSpecError.invalid([FieldError(field: "$", expected: "a JSON object")]) }
        let o = r.object(value, at: "", known: Self.sections)
        read("", from: o, &r)
        readLabels(o, &r)
        let env = r.object(o["environment"], at: "environment", known: ["name", "parameters"])
        environment = r.string(env, "name", at: "environment", default: environment, oneOf: EnvironmentRegistry.names)
        if let p = env["parameters"] {
            if case .object(let fields) = p { environmentParameters = fields } else { r.fail("environment.parameters", "an object") }
        }
        agent = AgentSpec(&r, o["agent"], at: "agent")
        model = ModelSpec(&r, o["model"], at: "model")
        schedule = ScheduleSpec(&r, o["schedule"], at: "schedule")
        exploration = ExplorationSpec(&r, o["exploration"], at: "exploration")
        read("relabeling", from: o, &r)
        evaluation = EvaluationSpec(&r, o["evaluation"], at: "evaluation")
        read("checkpoints", from: o, &r)
        r.errors += crossFieldErrors()
        // The environment's own parameters, under their path in this document.
        if r.errors.allSatisfy({ $0.field != "environment.name" }) {
            do { _ = try EnvironmentRegistry.make(name: environment, parameters: environmentParameters, seed: 0) } catch let error as EnvironmentError {
                if case .invalidParameters(_, let fields) = error {
                    r.errors += fields.map { FieldError(field: "environment.parameters.\($0.field)", expected: $0.expected) }
                } else {
                    r.fail("environment.parameters", "\(error)")
                }
            }
        }
        if !r.errors.isEmpty { throw ExperimentSpecError.invalid(r.errors) }
    }

    /// Reads `group` and `tags`: names of 1...`maxLabelLength` characters without control
    /// characters; tags distinct, at most `maxTags`.
    private mutating func readLabels(_ o: [String: JSONValue], _ r: inout SpecReader) {
        let label = "a string of 1 to \(Self.maxLabelLength) characters without control characters"
        func valid(_ text: String) -> Bool {
            (1...Self.maxLabelLength).contains(text.count) && !text.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) }
                && !text.allSatisfy(\.isWhitespace)
        }
        switch o["group"] {
        case nil, .null?: break
        case .string(let text)? where valid(text): group = text
        default: r.fail("group", label)
        }
        switch o["tags"] {
        case nil, .null?: break
        case .array(let items)?:
            if items.count > Self.maxTags { r.fail("tags", "at most \(Self.maxTags) tags, got \(items.count)"); break }
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                guard case .string(let text) = item, valid(text) else { r.fail("tags[\(i)]", label); continue }
                if seen.insert(text).inserted { tags.append(text) }
            }
        default: r.fail("tags", "an array of tags (strings)")
        }
    }

    /// Constraints between fields.
    func crossFieldErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if case .transformer = model.encoderKind, model.dModel % model.heads != 0 {
            errors.append(FieldError(field: "model.heads", expected: "a divisor of model.d_model (\(model.dModel))"))
        }
        if model.positionEmbedding == "rope", case .transformer = model.encoderKind, (model.dModel / max(model.heads, 1)) % 2 != 0 {
            errors.append(FieldError(field: "model.position_embedding", expected: "an even head width for rope"))
        }
        if relabeling != "none" {
            if environment != "mazerunner" {
                errors.append(FieldError(field: "relabeling.strategy", expected: "none unless environment.name is mazerunner"))
            } else {
                for flag in ["goal_in_observation", "expose_position"] where environmentParameters[flag] != .bool(true) {
                    errors.append(FieldError(field: "environment.parameters.\(flag)", expected: "true when relabeling is on"))
                }
            }
        }
        errors += memoryBudgetErrors()
        if agent.criticsForTarget > agent.critics {
            errors.append(FieldError(field: "agent.critics_for_target", expected: "at most agent.critics (\(agent.critics))"))
        }
        return errors
    }

    /// The document as JSON, every field present (defaults included).
    public var json: JSONValue {
        var o = sectionJSON("")
        // Absent when unset, so specs without them keep their normalized text.
        if let group { o["group"] = .string(group) }
        if !tags.isEmpty { o["tags"] = .array(tags.map(JSONValue.string)) }
        o["environment"] = .object(["name": .string(environment), "parameters": .object(environmentParameters)])
        o["agent"] = .object(agent.json); o["model"] = .object(model.json); o["schedule"] = .object(schedule.json)
        o["exploration"] = .object(exploration.json); o["evaluation"] = .object(evaluation.json)
        o["relabeling"] = .object(sectionJSON("relabeling")); o["checkpoints"] = .object(sectionJSON("checkpoints"))
        return .object(o)
    }

    /// Pretty-printed JSON text of `json`.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(json)
    }
}

/// A spec that cannot run.
public enum ExperimentSpecError: Error, CustomStringConvertible, Equatable {
    /// Every invalid field, with its JSON path and what was expected.
    case invalid([FieldError])

    public var description: String {
        guard case .invalid(let fields) = self else { return "" }
        return "invalid experiment spec:\n" + fields.map { "  \($0.field): expected \($0.expected)" }.joined(separator: "\n")
    }
}
