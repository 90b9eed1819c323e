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
    static let sections = ["name", "seed", "environment", "agent", "model", "schedule", "exploration", "relabeling", "evaluation", "checkpoints"]

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
        return rows("") + AgentSpec.documentation(at: "agent") + ModelSpec.documentation(at: "model")
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
