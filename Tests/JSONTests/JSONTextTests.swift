import Environments  // SeededGenerator, for reproducible random documents
import Foundation
import JSON
import Testing

/// The one-pass JSON reader and writer agree with Foundation's on valid text, reject what
/// RFC 8259 rejects with the position of the problem, and round-trip every value.
@Suite struct JSONTextTests {
    static func foundation(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func validTexts_parseAsFoundationParsesThem() throws {
        let texts = [
            #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#, "  [ ]  ", "{}", "0", "-0", "-12.5e-3", "1E+2", "3.0",
            "123456789012345678", "1e308", "5e-324", #""\u00e9\ud83d\ude00 \n\t\"\\\/""#, #"["ü", "日本"]"#,
            #"{"k": {"k": {"k": [1, [2, [3]]]}}}"#, #"{"dup": 1, "dup": 2}"#,
        ]
        for text in texts {
            #expect(try JSONValue.parse(Array(text.utf8)) == (try Self.foundation(text)), "\(text)")
        }
    }

    @Test func invalidTexts_areRefusedWithTheirPosition() throws {
        let cases: [(text: String, line: Int, column: Int)] = [
            (#"{"environment": "#, 1, 17), ("{\n  \"seed\": tru\n}", 2, 11), ("{\n\"name\": \"ü\" \"seed\": 1}", 2, 13),
            ("[1, 2", 1, 6), ("[1,]", 1, 4), ("01", 1, 2), ("1.", 1, 3), ("-", 1, 2), ("+1", 1, 1), (#""a\x""#, 1, 3),
            ("\"tab\there\"", 1, 5), (#""\ud800""#, 1, 8), ("nul", 1, 1), ("[1] [2]", 1, 5), ("", 1, 1), (#"{"a" 1}"#, 1, 6),
            (#"{1: 2}"#, 1, 2), ("NaN", 1, 1),
        ]
        for c in cases {
            do {
                _ = try JSONValue.parse(Array(c.text.utf8))
                Issue.record("accepted \(c.text)")
            } catch let error as JSONSyntaxError {
                #expect(error.line == c.line && error.column == c.column, "\(c.text): \(error)")
                // Foundation's reader also refuses these, except a trailing comma, which it lets pass.
                if c.text != "[1,]" { #expect((try? Self.foundation(c.text)) == nil, "Foundation accepts \(c.text)") }
            }
        }
    }

    @Test func deepNesting_isRefusedNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
        #expect(try JSONValue.parse(Array(fine.utf8)) != .null)
    }

    /// Random values: written text reads back as the same value and is byte for byte what
    /// Foundation's encoder writes with sorted keys and unescaped slashes.
    @Test func randomValues_roundTripAndMatchFoundationsEncoder() throws {
        var rng = SeededGenerator(seed: 11)
        func random(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2:
                let pick = Int.random(in: 0..<4, using: &rng)
                if pick == 0 { return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &rng))) }
                if pick == 1 { return .number(Double(Float.random(in: -10...10, using: &rng))) }
                if pick == 2 { return .number(Double.random(in: -1e-6...1e-6, using: &rng)) }
                return .number(Double.random(in: -1e300...1e300, using: &rng))
            case 3:
                let alphabet = Array("ab/\\\"\n\t\u{1}é日😀 z")
                return .string(String((0..<Int.random(in: 0..<8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
            case 4: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in random(depth + 1) })
            default:
                return .object(Dictionary((0..<Int.random(in: 0..<4, using: &rng)).map { i in ("k\(i)\(Int.random(in: 0..<9, using: &rng))", random(depth + 1)) },
                                          uniquingKeysWith: { a, _ in a }))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for _ in 0..<500 {
            let value = random(0)
            let bytes = value.jsonBytes
            #expect(try JSONValue.parse(bytes) == value)
            #expect(bytes == Array(try encoder.encode(value)), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
