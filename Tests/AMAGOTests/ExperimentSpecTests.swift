import AMAGO
import Environments
import Foundation
import Testing

@Suite struct ExperimentSpecTests {
    @Test func defaults_roundTripThroughJSON() throws {
        let spec = ExperimentSpec()
        let again = try ExperimentSpec(json: try spec.encoded())
        #expect(again == spec)
        let empty = try ExperimentSpec(json: Data("{}".utf8))
        #expect(empty == spec)
    }

    @Test func validation_reportsEveryInvalidFieldWithItsPath() throws {
        let text = """
        {"bogus": 1, "schedule": {"batch_size": 0, "epochs": "many"}, "model": {"d_model": 64, "heads": 3},
         "agent": {"filter": "median", "critics": 2, "critics_for_target": 3},
         "environment": {"name": "tmaze_passive", "parameters": {"corridor_length": -1}}}
        """
        do {
            _ = try ExperimentSpec(json: Data(text.utf8))
            Issue.record("an invalid spec was accepted")
        } catch let ExperimentSpecError.invalid(fields) {
            let paths = Set(fields.map(\.field))
            for expected in ["bogus", "schedule.batch_size", "schedule.epochs", "model.heads", "agent.filter",
                             "agent.critics_for_target", "environment.parameters.corridor_length"] {
                #expect(paths.contains(expected), "missing \(expected) in \(paths.sorted())")
            }
            #expect(fields.allSatisfy { !$0.expected.isEmpty })
        }
        #expect(throws: ExperimentSpecError.self) { try ExperimentSpec(json: Data("[1, 2]".utf8)) }
        #expect(throws: ExperimentSpecError.self) { try ExperimentSpec(json: Data(#"{"environment": {"name": "chess"}}"#.utf8)) }
    }

    @Test func recommendedSpecs_areValidForEveryEnvironment() throws {
        for name in EnvironmentRegistry.names {
            let spec = try ExperimentSpec.recommended(for: name)
            #expect(try ExperimentSpec(json: try spec.encoded()) == spec, "\(name)")
            #expect(spec.environment == name)
            // Recommended specs are CPU-sized: far below any machine's budget.
            #expect(spec.estimatedTrainingBytes < 2 * 1_073_741_824, "\(name): \(spec.estimatedTrainingBytes)")
        }
    }

    @Test func memoryEstimate_growsWithTheModelAndRejectsWhatCannotFit() throws {
        let small = ExperimentSpec()
        var wide = small
        wide.model.dModel *= 2
        wide.model.dFeedForward *= 2
        #expect(wide.estimatedTrainingBytes > small.estimatedTrainingBytes)
        var longer = small
        longer.schedule.batchSize *= 4
        #expect(longer.estimatedTrainingBytes > 3 * small.estimatedTrainingBytes)

        // Each field is in range on its own; together they need terabytes.
        let huge = #"{"environment": {"name": "tmaze_passive"}, "model": {"d_model": 4096, "heads": 8, "layers": 64, "d_ff": 16384},"#
            + #" "schedule": {"batch_size": 4096, "max_seq_len": 4096}}"#
        do {
            _ = try ExperimentSpec(json: Data(huge.utf8))
            Issue.record("a spec that cannot fit in memory was accepted")
        } catch let ExperimentSpecError.invalid(fields) {
            #expect(fields.map(\.field) == ["model"])
            #expect(fields.first?.expected.contains("GiB") == true)
        }
    }
}

@Suite struct ExperimentSpecFieldTests {
    /// Every leaf of the default document, with its path.
    static func leaves(_ value: JSONValue, path: String = "") -> [(String, JSONValue)] {
        guard case .object(let fields) = value else { return [(path, value)] }
        if fields.isEmpty { return [] }
        return fields.keys.sorted().flatMap { key in leaves(fields[key]!, path: path.isEmpty ? key : "\(path).\(key)") }
    }

    static func setting(_ document: JSONValue, _ path: [String], to replacement: JSONValue) -> JSONValue {
        guard case .object(var fields) = document, let head = path.first else { return replacement }
        fields[head] = setting(fields[head] ?? .object([:]), Array(path.dropFirst()), to: replacement)
        return .object(fields)
    }

    /// A value of the wrong kind for `value`'s field.
    static func wrongKind(for value: JSONValue) -> JSONValue {
        switch value {
        case .number: return .string("not a number")
        case .bool: return .string("not a boolean")
        case .string: return .number(12345)
        default: return .bool(true)
        }
    }

    /// Replaces each field of the default spec, one at a time, by a value of the wrong kind:
    /// every one is rejected, naming exactly that field.
    @Test func everyFieldOfTheWrongKind_isRejectedWithItsPath() throws {
        let document = ExperimentSpec().json
        let all = Self.leaves(document)
        #expect(all.count > 50)
        for (path, value) in all {
            let broken = Self.setting(document, path.split(separator: ".").map(String.init), to: Self.wrongKind(for: value))
            do {
                _ = try ExperimentSpec(value: broken)
                Issue.record("\(path) accepted \(Self.wrongKind(for: value))")
            } catch let ExperimentSpecError.invalid(fields) {
                #expect(fields.map(\.field).contains(path), "\(path): got \(fields.map(\.field))")
            }
        }
    }

    /// Values of the right kind but outside their range, and constraints between fields.
    @Test(arguments: [
        ("schedule.batch_size", JSONValue.number(0)), ("schedule.epochs", .number(-3)), ("schedule.max_seq_len", .number(0)),
        ("schedule.learning_rate", .number(2)), ("schedule.buffer_capacity", .number(1)), ("schedule.parallel_actors", .number(0)),
        ("schedule.padded_sampling", .string("middle")), ("agent.gamma", .number(1)), ("agent.tau", .number(1.5)),
        ("agent.critics", .number(0)), ("agent.n_step", .number(0)), ("agent.variant", .string("dqn")), ("agent.bins", .number(1)),
        ("agent.max_return", .number(-200_000)), ("model.encoder", .string("lstm")), ("model.heads", .number(3)),
        ("model.d_model", .number(1)), ("model.dropout", .number(0.95)), ("model.position_embedding", .string("alibi")),
        ("model.activation", .string("swish")), ("exploration.kind", .string("boltzmann")), ("exploration.eps_start", .number(1.5)),
        ("exploration.anneal_steps", .number(0)), ("evaluation.actors", .number(0)), ("evaluation.timesteps", .number(0)),
        ("checkpoints.interval", .number(0)), ("relabeling.strategy", .string("all")), ("environment.name", .string("chess")),
        ("environment.parameters.corridor_length", .number(0)), ("environment.parameters", .number(3)),
        ("seed", .number(-1)), ("name", .string("")), ("model.unknown_knob", .number(1)),
    ])
    func outOfRangeValues_areRejectedWithTheirPath(path: String, value: JSONValue) throws {
        let document = Self.setting(ExperimentSpec().json, path.split(separator: ".").map(String.init), to: value)
        do {
            _ = try ExperimentSpec(value: document)
            Issue.record("\(path) = \(value) was accepted")
        } catch let ExperimentSpecError.invalid(fields) {
            #expect(fields.map(\.field).contains(path), "\(path): got \(fields.map(\.field))")
        }
    }
}
