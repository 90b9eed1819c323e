import AMAGO
import ArgumentParser
import Environments
import Foundation
import JSON

/// `amago envs`: the built-in environments, their parameters and a recommended spec for each.
struct Envs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List environments with their parameters and a recommended experiment spec.")

    @Argument(help: "Show only this environment.") var name: String?
    @Flag(help: "Print JSON: one object per environment with its parameters and recommended spec.") var json = false
    @Option(help: "Write each recommended spec to <folder>/<name>.json.") var writeExamples: String?

    func run() throws {
        let descriptors = try name.map { [try EnvironmentRegistry.descriptor(named: $0)] } ?? EnvironmentRegistry.descriptors
        if let folder = writeExamples {
            let url = URL(fileURLWithPath: folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            let files = try ExperimentSpec.exampleFiles(for: descriptors.map(\.name))
            for file in files { try file.contents.write(to: url.appendingPathComponent(file.name)) }
            print("wrote \(files.count) specs to \(url.path)")
            return
        }
        if json {
            let list: [JSONValue] = try descriptors.map { d in
                .object(["name": .string(d.name), "summary": .string(d.summary),
                         "parameters": .array(d.parameters.map(\.json)),
                         "recommended_spec": try ExperimentSpec.recommended(for: d.name).json])
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(JSONValue.array(list)), as: UTF8.self))
            return
        }
        for d in descriptors {
            print("\(d.name)\n  \(d.summary)")
            for p in d.parameters { print("    \(p.name) = \(p.isRequired ? "(required)" : p.defaultValue.description)  — \(p.summary)") }
        }
        if descriptors.count == 1, let only = descriptors.first {
            print("\nrecommended spec:\n" + String(decoding: try ExperimentSpec.recommended(for: only.name).encoded(), as: UTF8.self))
        } else {
            print("\n`amago envs NAME` prints a recommended spec; `amago envs --write-examples DIR` writes them all.")
        }
    }
}
