import Foundation
import JSON

extension EnvironmentRegistry {
    static let multiTaskMix = EnvironmentDescriptor(
        name: "multi_task_mix",
        summary: "A weighted mix of registered tasks, one per trial, padded to common spaces (more-tasks.md).",
        parameters: [
            ParameterSpec("tasks", .taskList, default: .array([
                .object(["name": .string("tmaze_passive"), "weight": .number(1)]),
                .object(["name": .string("count_recall"), "weight": .number(1)]),
                .object(["name": .string("stateless_cartpole"), "weight": .number(1)]),
            ]), "List of {\"name\": registered task, \"weight\": number ≥ 0, \"parameters\": object}."),
        ],
        build: { p, seed in try makeMix(p.values["tasks"] ?? .array([]), seed: seed) })

    /// Builds every listed task, collecting all errors with their `tasks[i]…` path.
    static func makeMix(_ tasks: JSONValue, seed: UInt64) throws -> any Environment {
        guard case .array(let list) = tasks else { throw EnvironmentError.malformedParameters(reason: "tasks must be a list") }
        var errors: [FieldError] = []
        var members: [MultiTaskMix.Member] = []
        for (i, item) in list.enumerated() {
            guard case .object(let fields) = item else { continue }
            let path = "tasks[\(i)]"
            for key in fields.keys.sorted() where !["name", "weight", "parameters"].contains(key) {
                errors.append(FieldError(field: "\(path).\(key)", expected: "no such field; known: name, weight, parameters"))
            }
            let mixable = names.filter { $0 != "multi_task_mix" && $0 != "external" }
            guard case .string(let name)? = fields["name"], mixable.contains(name) else {
                errors.append(FieldError(field: "\(path).name", expected: "one of " + mixable.joined(separator: ", ")))
                continue
            }
            let weight = fields["weight"] ?? .number(1)
            guard let w = weight.doubleValue, w.isFinite, w >= 0 else {
                errors.append(FieldError(field: "\(path).weight", expected: "a finite number ≥ 0, got \(weight)"))
                continue
            }
            var parameters: [String: JSONValue] = [:]
            switch fields["parameters"] {
            case .object(let o)?: parameters = o
            case nil, .null?: break
            default: errors.append(FieldError(field: "\(path).parameters", expected: "an object")); continue
            }
            do {
                members.append(.init(name: name, weight: w, environment: try make(name: name, parameters: parameters, seed: seed &+ UInt64(i + 1))))
            } catch EnvironmentError.invalidParameters(_, let fields) {
                errors += fields.map { FieldError(field: "\(path).parameters.\($0.field)", expected: $0.expected) }
            }
        }
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "multi_task_mix", fields: errors) }
        return try MultiTaskMix(members, seed: seed)
    }
}
