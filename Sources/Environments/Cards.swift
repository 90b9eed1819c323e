import Foundation

/// A playing card of a standard 52-card deck.
public struct Card: Equatable, Hashable, Sendable {
    /// Suit index 0..<4; suits 0–1 are one colour and 2–3 the other.
    public var suit: Int
    /// Rank index 0..<13.
    public var rank: Int
    /// Colour index 0..<2.
    public var colour: Int { suit / 2 }

    /// Creates a card.
    public init(suit: Int, rank: Int) {
        self.suit = suit
        self.rank = rank
    }

    /// `decks` standard decks concatenated, then shuffled with `rng` (more-tasks.md).
    public static func shuffledDecks(_ decks: Int, using rng: inout SeededGenerator) -> [Card] {
        var cards: [Card] = []
        cards.reserveCapacity(52 * decks)
        for _ in 0..<decks {
            for suit in 0..<4 { for rank in 0..<13 { cards.append(Card(suit: suit, rank: rank)) } }
        }
        rng.shuffle(&cards)
        return cards
    }
}

/// The preset levels of the memory tasks (more-tasks.md table: default / medium / hard).
public enum MemoryDifficulty: String, Codable, Sendable, CaseIterable {
    /// The "default" column.
    case easy
    /// The "medium" column.
    case medium
    /// The "hard" column.
    case hard
}

/// One-hot vector of length `count` with a 1 at `index`.
func oneHot(_ index: Int, count: Int) -> [Float] {
    var v = [Float](repeating: 0, count: count)
    if index >= 0 && index < count { v[index] = 1 }
    return v
}
