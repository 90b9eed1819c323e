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

    /// The document's fields.
    static let fields = ["name", "seed", "environment", "agent", "model", "schedule", "exploration", "relabeling", "evaluation", "checkpoints"]

    /// Reads a spec from JSON; throws `ExperimentSpecError.invalid` listing every problem.
    public init(json data: Data) throws {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw ExperimentSpecError.invalid([FieldError(field: "$", expected: "a JSON object")])
        }
        try self.init(value: value)
    }

    /// Reads a spec from an already parsed JSON value.
    public init(value: JSONValue) throws {
        var r = SpecReader()
        guard case .object = value else { throw ExperimentSpecError.invalid([FieldError(field: "$", expected: "a JSON object")]) }
        let o = r.object(value, at: "", known: Self.fields)
        name = r.string(o, "name", at: "", default: name)
        if name.count > Self.maxNameLength { r.fail("name", "a string of at most \(Self.maxNameLength) characters, got \(name.count)") }
        seed = UInt64(r.int(o, "seed", at: "", default: 0, in: 0...Int(Int32.max)))
        let env = r.object(o["environment"], at: "environment", known: ["name", "parameters"])
        environment = r.string(env, "name", at: "environment", default: environment, oneOf: EnvironmentRegistry.names)
        if let p = env["parameters"] {
            if case .object(let fields) = p { environmentParameters = fields } else { r.fail("environment.parameters", "an object") }
        }
        agent = AgentSpec(&r, o["agent"])
        model = ModelSpec(&r, o["model"])
        schedule = ScheduleSpec(&r, o["schedule"])
        exploration = ExplorationSpec(&r, o["exploration"])
        let relabel = r.object(o["relabeling"], at: "relabeling", known: ["strategy"])
        relabeling = r.string(relabel, "strategy", at: "relabeling", default: "none", oneOf: ["none", "some", "all"])
        evaluation = EvaluationSpec(&r, o["evaluation"])
        let checkpoints = r.object(o["checkpoints"], at: "checkpoints", known: ["interval"])
        checkpointInterval = r.int(checkpoints, "interval", at: "checkpoints", default: checkpointInterval, in: 1...1_000_000)
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
        var o: [String: JSONValue] = [
            "name": .string(name), "seed": .of(Int(seed)),
            "environment": .object(["name": .string(environment), "parameters": .object(environmentParameters)]),
            "agent": .object(agent.json), "model": .object(model.json), "schedule": .object(schedule.json),
            "exploration": .object(exploration.json), "evaluation": .object(evaluation.json),
            "checkpoints": .object(["interval": .of(checkpointInterval)]),
        ]
        o["relabeling"] = .object(["strategy": .string(relabeling)])
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
