import AMAGO
import Environments
import Foundation
import Testing

/// Holds what is derived from the spec's field tables to them: `openapi.yaml`'s experiment-spec
/// schema, the generated `examples/*.json`, and the library's `AgentConfiguration` defaults.
@Suite struct SpecContractTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func openAPISchema_agreesWithTheFieldTables() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let documented = OpenAPIFields.experimentSpecLeaves(in: text)
        #expect(documented.count > 50, "the ExperimentSpec schema was not read: \(documented.keys.sorted())")
        let fields = ExperimentSpec.documentation
        let onlyInYAML = Set(documented.keys).subtracting(fields.map(\.path)).sorted()
        let onlyInCode = Set(fields.map(\.path)).subtracting(documented.keys).sorted()
        #expect(onlyInYAML.isEmpty && onlyInCode.isEmpty, "only in openapi.yaml: \(onlyInYAML); only in the code: \(onlyInCode)")
        for field in fields {
            guard let schema = documented[field.path] else { continue }
            for problem in OpenAPIFields.disagreements(field, schema) { Issue.record("openapi.yaml \(field.path): \(problem)") }
        }
    }

    @Test func examples_areTheGeneratedRecommendedSpecs() throws {
        let folder = Self.root.appendingPathComponent("examples")
        let files = try ExperimentSpec.exampleFiles()
        let present = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(Set(present) == Set(files.map(\.name)), "examples/ holds other files than the generated ones")
        for file in files {
            let onDisk = try? Data(contentsOf: folder.appendingPathComponent(file.name))
            #expect(onDisk == file.contents, "examples/\(file.name) is stale: run `amago envs --write-examples examples`")
        }
    }

    @Test func libraryConfigurationDefaults_areTheSpecDefaults() throws {
        #expect(ExperimentSpec().agentConfiguration() == AgentConfiguration())
        var multiTask = ExperimentSpec()
        multiTask.agent.variant = "multi_task"
        #expect(multiTask.agentConfiguration() == AgentConfiguration.multiTask())
    }
}

/// A reader for the flow-style leaves (`key: {type: …, minimum: …}`) of `openapi.yaml`'s
/// `ExperimentSpec` schema: ours, so fixed indentation and one leaf a line can be relied on.
enum OpenAPIFields {
    /// Dotted path → the leaf's inline map, below `components.schemas.ExperimentSpec.properties`
    /// (`environment` aside: its parameters are the registry's).
    static func experimentSpecLeaves(in text: String) -> [String: [String: String]] {
        var leaves: [String: [String: String]] = [:], stack: [(indent: Int, key: String)] = []
        var inSchema = false, blockIndent: Int?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw), indent = line.prefix { $0 == " " }.count, body = line.dropFirst(indent)
            if line == "    ExperimentSpec:" { inSchema = true; continue }
            guard inSchema, !body.isEmpty else { continue }
            if indent <= 4 { break }
            if let b = blockIndent, indent > b { continue }
            blockIndent = nil
            guard let colon = body.firstIndex(of: ":") else { continue }
            let key = String(body[..<colon]), rest = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            if rest == "|" { blockIndent = indent; continue }
            if rest.isEmpty { stack.append((indent, key)); continue }
            guard rest.hasPrefix("{"), stack.first?.key == "properties", stack.count > 0 else { continue }
            let names = stack.dropFirst().map(\.key).filter { $0 != "properties" } + [key]
            guard names.first != "environment" else { continue }
            leaves[names.joined(separator: ".")] = inlineMap(rest)
        }
        return leaves
    }

    /// `{a: 1, b: [x, y], c: 'text, with comma'}` → `["a": "1", "b": "[x, y]", "c": "text, with comma"]`.
    static func inlineMap(_ text: String) -> [String: String] {
        var parts: [String] = [], current = "", depth = 0, quote: Character?
        for c in text.dropFirst().dropLast() {
            if let q = quote { if c == q { quote = nil }; current.append(c); continue }
            switch c {
            case "'", "\"": quote = c; current.append(c)
            case "[", "{": depth += 1; current.append(c)
            case "]", "}": depth -= 1; current.append(c)
            case "," where depth == 0: parts.append(current); current = ""
            default: current.append(c)
            }
        }
        parts.append(current)
        var map: [String: String] = [:]
        for part in parts {
            guard let colon = part.firstIndex(of: ":") else { continue }
            let value = part[part.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            map[part[..<colon].trimmingCharacters(in: .whitespaces)] = value.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        return map
    }

    /// What `schema` says differently from the field table's row.
    static func disagreements(_ field: SpecFieldDocumentation, _ schema: [String: String]) -> [String] {
        var problems: [String] = []
        func expect(_ key: String, _ value: String?) {
            if schema[key] != value { problems.append("\(key) is \(schema[key] ?? "absent"), the code says \(value ?? "absent")") }
        }
        func expectNumber(_ key: String, _ value: Double) {
            if schema[key].flatMap(Double.init) != value { problems.append("\(key) is \(schema[key] ?? "absent"), the code says \(value)") }
        }
        switch field.kind {
        case .integer(let r): expect("type", "integer"); expectNumber("minimum", Double(r.lowerBound)); expectNumber("maximum", Double(r.upperBound))
        case .number(let r): expect("type", "number"); expectNumber("minimum", r.lowerBound); expectNumber("maximum", r.upperBound)
        case .boolean: expect("type", "boolean")
        case .text: expect("type", "string")
        case .labels: expect("type", "array")
        case .choice(let options): expect("enum", "[" + options.joined(separator: ", ") + "]")
        }
        switch field.defaultValue {
        case nil: expect("default", nil)
        case .number(let d)?: expectNumber("default", d)
        case .string(let s)?: expect("default", s)
        case .bool(let b)?: expect("default", b ? "true" : "false")
        case let other?: problems.append("a default of an unexpected kind: \(other)")
        }
        return problems
    }
}
