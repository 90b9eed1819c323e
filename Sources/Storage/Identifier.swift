import Foundation

/// Random, URL-safe identifiers in lowercase Crockford base32 (no i, l, o, u).
public enum Identifier {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// A random identifier of `length` characters (5 bits of entropy each).
    public static func make(length: Int = 12) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next() % 32)] })
    }
}

extension Date {
    /// Seconds since 1970 as stored in every time column (REAL, exact round trip).
    var storageSeconds: Double { timeIntervalSince1970 }

    /// The date stored as seconds since 1970.
    init(storageSeconds: Double) { self.init(timeIntervalSince1970: storageSeconds) }
}
