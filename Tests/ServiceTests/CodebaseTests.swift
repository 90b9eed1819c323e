import Foundation
import Testing

/// Rules the source tree keeps, checked on the sources themselves.
@Suite struct CodebaseTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Every Swift file under `Sources/`, by module (its first folder).
    static func files() throws -> [(module: String, path: String, text: String)] {
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted()
        return try modules.flatMap { module -> [(String, String, String)] in
            let folder = sources.appendingPathComponent(module)
            let paths = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".swift") }.sorted()
            return try paths.map { (module, "\(module)/\($0)", try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)) }
        }
    }

    /// The top-level public types a file declares: `public [final] class|struct|enum|protocol|actor|typealias
    /// Name` at the start of a line (nested types are qualified by their parent and cannot clash).
    static func publicTypes(in text: String) -> [String] {
        let pattern = #/(?m)^public\s+(?:final\s+|indirect\s+)*(?:class|struct|enum|protocol|actor|typealias)\s+([A-Za-z_][A-Za-z0-9_]*)/#
        return text.matches(of: pattern).map { String($0.output.1) }
    }

    /// A type name in two modules forces every module importing both to qualify it.
    @Test func noPublicTypeNameIsDeclaredInTwoModules() throws {
        var modulesByName: [String: Set<String>] = [:]
        let files = try Self.files()
        #expect(files.count > 100, "found \(files.count) files under \(Self.sources.path)")
        for file in files {
            for name in Self.publicTypes(in: file.text) { modulesByName[name, default: []].insert(file.module) }
        }
        #expect(modulesByName["ExperimentRecord"] == ["Storage"] && modulesByName["Experiment"] == ["AMAGO"])
        let twins = modulesByName.filter { $0.value.count > 1 }.map { "\($0.key): \($0.value.sorted().joined(separator: ", "))" }
        #expect(twins.isEmpty, "declared in more than one module: \(twins.sorted())")
    }

    /// The process ends by returning from `main` after shutdown, never by skipping exit handlers.
    @Test func noSourceEndsTheProcessWithUnderscoreExit() throws {
        let offenders = try Self.files().filter { $0.text.contains("_exit(") }.map(\.path)
        #expect(offenders.isEmpty, "\(offenders)")
    }
}
