import AMAGO
import Environments
import Foundation
import JSON
import Testing
import TestSupport

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
    /// Replaces each field of the default spec, one at a time, by a value of the wrong kind:
    /// every one is rejected, naming exactly that field.
    @Test func everyFieldOfTheWrongKind_isRejectedWithItsPath() throws {
        let document = ExperimentSpec().json
        let all = SpecCases.leaves(document)
        #expect(all.count > 50)
        for (path, value) in all {
            let broken = SpecCases.setting(document, path, to: SpecCases.wrongKind(for: value))
            do {
                _ = try ExperimentSpec(value: broken)
                Issue.record("\(path) accepted \(SpecCases.wrongKind(for: value))")
            } catch let ExperimentSpecError.invalid(fields) {
                #expect(fields.map(\.field).contains(path), "\(path): got \(fields.map(\.field))")
            }
        }
    }

    /// Values of the right kind but outside their range, and constraints between fields.
    @Test(arguments: SpecCases.outOfRange)
    func outOfRangeValues_areRejectedWithTheirPath(path: String, value: JSONValue) throws {
        let document = SpecCases.setting(ExperimentSpec().json, path, to: value)
        do {
            _ = try ExperimentSpec(value: document)
            Issue.record("\(path) = \(value) was accepted")
        } catch let ExperimentSpecError.invalid(fields) {
            #expect(fields.map(\.field).contains(path), "\(path): got \(fields.map(\.field))")
        }
    }
}

@Suite struct ExperimentSpecSettingTests {
    /// `model.actor_layers` (the reference's actor MLP `n_layers`, spec §4.2) reaches the agent.
    @Test func actorLayers_reachTheAgentAndAreRangeChecked() throws {
        let deep = try ExperimentSpec(json: Data(#"{"model": {"actor_layers": 4, "actor_hidden": 16}}"#.utf8))
        #expect(deep.model.actorLayers == 4 && deep.agentConfiguration().actorLayers == 4)
        let shallow = try ExperimentSpec(json: Data(#"{"model": {"actor_layers": 1, "actor_hidden": 16}}"#.utf8))
        func parameterCount(_ s: ExperimentSpec) throws -> Int {
            try Agent(observationWidth: 3, actionSpace: .discrete(count: 2), configuration: s.agentConfiguration(), seed: 1)
                .trainableParameters.reduce(0) { $0 + $1.tensor.count }
        }
        #expect(try parameterCount(deep) > parameterCount(shallow))
        #expect(throws: ExperimentSpecError.invalid([FieldError(field: "model.actor_layers", expected: "an integer in 1...16")])) {
            try ExperimentSpec(json: Data(#"{"model": {"actor_layers": 0}}"#.utf8))
        }
    }
}
