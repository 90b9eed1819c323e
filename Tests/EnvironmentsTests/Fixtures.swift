import Foundation
import Testing

/// Loads `../shared/fixtures/<name>` relative to the package root.
func loadFixture(_ name: String, file: String = #filePath) throws -> [String: Any] {
    let root = URL(fileURLWithPath: file)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(name)")
    let data = try Data(contentsOf: url)
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw FixtureError.malformed(name)
    }
    return object
}

enum FixtureError: Error { case malformed(String) }

/// Accessors for the `{shape, dtype, data}` arrays of the fixture files.
extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    func int(_ key: String) -> Int { (self[key] as? NSNumber)?.intValue ?? -999 }
    func doubles(_ key: String) -> [Double] {
        (object(key)["data"] as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan }
    }
    func ints(_ key: String) -> [Int] { doubles(key).map { Int($0) } }
    func bools(_ key: String) -> [Bool] { (object(key)["data"] as? [Any] ?? []).map { ($0 as? NSNumber)?.boolValue ?? false } }
    /// Rows of a 2-D array.
    func rows(_ key: String) -> [[Double]] {
        let shape = object(key)["shape"] as? [Int] ?? [0, 1]
        let flat = doubles(key)
        guard shape.count == 2, shape[1] > 0 else { return [] }
        return stride(from: 0, to: flat.count, by: shape[1]).map { Array(flat[$0 ..< $0 + shape[1]]) }
    }
}

/// Info metrics of the fixture, with the reference's metric prefix removed and booleans as 1/0.
func fixtureMetrics(_ info: [String: Any]) -> [String: Double] {
    var out: [String: Double] = [:]
    for (key, value) in info {
        let name = key.hasPrefix("AMAGO_LOG_METRIC") ? String(key.dropFirst("AMAGO_LOG_METRIC".count)) : key
        out[name] = (value as? NSNumber)?.doubleValue ?? .nan
    }
    return out
}
