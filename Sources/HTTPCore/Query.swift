/// Percent-decoding (RFC 3986 §2.1) for paths and query strings.
public enum PercentDecoding {
    /// Decodes `%XX` escapes (and `+` as space when `plusAsSpace`); nil if an escape is malformed
    /// or the result is not valid UTF-8.
    public static func decode(_ s: Substring, plusAsSpace: Bool = false) -> String? {
        let utf8 = s.utf8
        if !utf8.contains(UInt8(ascii: "%")) && !(plusAsSpace && utf8.contains(UInt8(ascii: "+"))) {
            return String(s)
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var it = utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { return nil }
                out.append(h << 4 | l)
            } else if plusAsSpace && b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Decodes like `decode(_:plusAsSpace:)`.
    public static func decode(_ s: String, plusAsSpace: Bool = false) -> String? {
        decode(Substring(s), plusAsSpace: plusAsSpace)
    }

    /// The value of one hexadecimal digit, or nil.
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Decoded `name=value` pairs of a query string, in order (`application/x-www-form-urlencoded` rules).
public struct QueryParameters: Sendable, Sequence {
    /// The pairs in order; a name without `=` has an empty value.
    public let items: [(name: String, value: String)]

    /// Parses a raw query string (without the `?`). Malformed escapes are kept literally
    /// rather than failing the request.
    public init(_ raw: String) {
        var items: [(name: String, value: String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: "=")
            let rawName = eq.map { part[..<$0] } ?? part
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? ""
            let name = PercentDecoding.decode(rawName, plusAsSpace: true) ?? String(rawName)
            let value = PercentDecoding.decode(rawValue, plusAsSpace: true) ?? String(rawValue)
            items.append((name: name, value: value))
        }
        self.items = items
    }

    /// The first value for `name`, or nil.
    public subscript(name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    /// Every value for `name`, in order.
    public func values(_ name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    /// Whether there are no parameters.
    public var isEmpty: Bool { items.isEmpty }

    /// Iterates over the pairs.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { items.makeIterator() }
}
