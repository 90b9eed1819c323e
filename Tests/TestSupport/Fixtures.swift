import Foundation

/// Golden values dumped from the reference implementation, read from `../shared/fixtures`
/// beside the package root.
public struct Fixture {
    /// The parsed JSON document.
    public let root: [String: Any]

    /// Loads `<name>.json`.
    public init(_ name: String, filePath: String = #filePath) throws {
        var url = URL(fileURLWithPath: filePath)
        // Tests/<Target>/<File>.swift → package root → its parent holds shared/.
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let file = url.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(name).json")
        let data = try Data(contentsOf: file)
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.malformed("\(name).json is not a JSON object")
        }
        self.root = root
    }

    /// The value at a path of keys and list indices, e.g. `["cases", 0, "td_target"]`.
    public func value(_ path: [Any]) throws -> Any { try Fixture.walk(root, path) }

    static func walk(_ node: Any, _ path: [Any]) throws -> Any {
        var node = node
        for step in path {
            if let key = step as? String, let dict = node as? [String: Any], let next = dict[key] {
                node = next
            } else if let index = step as? Int, let list = node as? [Any], index < list.count {
                node = list[index]
            } else {
                throw FixtureError.malformed("no \(step) in fixture path \(path)")
            }
        }
        return node
    }

    /// A `{shape, data}` array at `path` as floats (booleans become 0/1).
    public func array(_ path: [Any]) throws -> (shape: [Int], data: [Float]) {
        guard let dict = try value(path) as? [String: Any], let shape = dict["shape"] as? [Int],
              let raw = dict["data"] as? [Any] else {
            throw FixtureError.malformed("\(path) is not an array")
        }
        return (shape, try raw.map(Fixture.number))
    }

    /// The data of the array at `path`.
    public func floats(_ path: [Any]) throws -> [Float] { try array(path).data }

    static func number(_ value: Any) throws -> Float {
        if let b = value as? Bool { return b ? 1 : 0 }
        if let d = value as? Double { return Float(d) }
        if let i = value as? Int { return Float(i) }
        if let s = value as? String, let d = Double(s) { return Float(d) }
        throw FixtureError.malformed("\(value) is not a number")
    }
}

/// A fixture file that does not have the expected layout.
public enum FixtureError: Error { case malformed(String) }

/// The tests' one tolerance rule: `a` agrees with the reference `b` when they have the same
/// length and every |aᵢ − bᵢ| ≤ `absolute` + `relative`·max(|aᵢ|, |bᵢ|); NaN agrees only with NaN.
/// `relative` bounds float rounding of large values, `absolute` that of values near zero (use
/// both near 1e-6 for one float32 rounding, near 1e-5 for different summation orders, and
/// `absolute` = `relative`·floor to ignore entries below a floor).
public func isClose(_ a: [Float], _ b: [Float], relative: Float = 1e-6, absolute: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        (x.isNaN && y.isNaN) || Swift.abs(x - y) <= absolute + relative * Swift.max(Swift.abs(x), Swift.abs(y))
    }
}

/// `isClose` against a reference in double precision (fixtures).
public func isClose(_ a: [Float], _ b: [Double], relative: Float = 1e-6, absolute: Float = 1e-6) -> Bool {
    isClose(a, b.map { Float($0) }, relative: relative, absolute: absolute)
}
