import Foundation
import HTTPCore
import Service
import Testing

/// Holds the router to `openapi.yaml`: every documented operation is routed and every route is
/// documented, so the contract cannot drift from the server silently.
@Suite struct ContractTests {
    static let contract = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("openapi.yaml")

    /// `(METHOD, /path/{}/…)` pairs under `paths:`, read from the YAML's fixed indentation.
    static func documentedOperations() throws -> Set<String> {
        let text = try String(contentsOf: contract, encoding: .utf8)
        var operations: Set<String> = [], path: String?, inPaths = false
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" "), !line.isEmpty { inPaths = line == "paths:" }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let word = line.dropFirst(4).prefix { $0 != ":" }
                if methods.contains(String(word)) { operations.insert(word.uppercased() + " " + normalized(path)) }
            }
        }
        return operations
    }

    /// Parameter names erased: `/a/{id}` and `/a/:id` both become `/a/{}`.
    static func normalized(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") || segment.hasPrefix(":") || segment.hasPrefix("*") ? "{}" : String(segment)
        }.joined(separator: "/")
    }

    @Test func everyRouteIsDocumented_andEveryDocumentedOperationIsRouted() throws {
        let harness = try Harness(startWorkers: false)
        defer { harness.close() }
        let routed = Set(harness.router.registeredRoutes.map { $0.method.rawValue + " " + Self.normalized($0.pattern) })
        let documented = try Self.documentedOperations()
        #expect(documented.count >= 19, "the contract's paths were not read: \(documented.sorted())")
        #expect(routed.subtracting(documented).isEmpty, "routed but not in openapi.yaml: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "in openapi.yaml but not routed: \(documented.subtracting(routed).sorted())")
    }
}
