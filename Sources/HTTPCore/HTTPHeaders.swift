/// An ordered list of header fields with case-insensitive lookup (RFC 9110 §5).
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// The fields in the order received or added; names keep their original case.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates an empty header list.
    public init() { fields = [] }

    /// Creates a header list from name/value pairs, in order.
    public init(_ pairs: [(String, String)]) { fields = pairs.map { (name: $0.0, value: $0.1) } }

    /// Creates a header list from a dictionary literal.
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The number of fields.
    public var count: Int { fields.count }

    /// Iterates over the fields in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// The first value of the named field, or nil.
    public subscript(name: String) -> String? {
        for f in fields where Self.equalsIgnoringCase(f.name, name) { return f.value }
        return nil
    }

    /// Every value of the named field, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { Self.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// Whether the named field is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field with this name by a single one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    /// Removes every field with this name.
    public mutating func remove(_ name: String) {
        fields.removeAll { Self.equalsIgnoringCase($0.name, name) }
    }

    /// The comma-separated list elements of every field with this name, trimmed and lowercased
    /// (RFC 9110 §5.6.1), e.g. the tokens of `Connection`.
    public func tokens(_ name: String) -> [String] {
        var out: [String] = []
        for value in values(name) {
            for part in value.split(separator: ",") {
                let t = part.trimmingSpacesAndTabs().lowercased()
                if !t.isEmpty { out.append(t) }
            }
        }
        return out
    }

    /// `Name: value` lines, for debugging.
    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    /// ASCII case-insensitive comparison; header names are ASCII tokens.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (c, d) in zip(x, y) where c != d {
            let lc = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
            let ld = (d >= 0x41 && d <= 0x5A) ? d | 0x20 : d
            if lc != ld { return false }
        }
        return true
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs (HTTP's OWS).
    func trimmingSpacesAndTabs() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
