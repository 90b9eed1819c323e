import Foundation
import JSON

/// Repeat First: answer the suit of the episode's first card at every step (more-tasks.md).
///
/// The first observation shows card 0; step `t = 1 … N−1` scores the action against card 0's suit
/// (±1/(N−1)) and then shows card `t`.
public final class RepeatFirst: Environment {
    /// Documented parameters.
    public struct Parameters: Codable, Equatable, Sendable {
        /// Number of decks (N = 52·decks cards); presets 1 / 8 / 16.
        public var numDecks: Int = 1
        /// Creates parameters.
        public init(numDecks: Int = 1) { self.numDecks = numDecks }
        /// The preset of a difficulty level.
        public static func preset(_ level: MemoryDifficulty) -> Parameters {
            Parameters(numDecks: [.easy: 1, .medium: 8, .hard: 16][level] ?? 1)
        }
        /// Every invalid field.
        public func validationErrors() -> [FieldError] {
            (1...64).contains(numDecks) ? [] : [FieldError(field: "num_decks", expected: "an integer in 1...64")]
        }
    }

    /// The parameters of the task.
    public let parameters: Parameters
    /// This episode's cards in dealing order.
    public private(set) var cards: [Card] = []
    /// Steps taken.
    public private(set) var stepIndex = 0
    private var rng: SeededGenerator

    /// Creates the task; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "repeat_first", fields: errors) }
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `RepeatFirst-<decks>`.
    public var name: String { "RepeatFirst-\(parameters.numDecks)" }
    /// One-hot suit.
    public var observationSize: Int { 4 }
    /// One action per suit.
    public var actionSpace: ActionSpace { .discrete(count: 4) }
    /// Steps per episode, N − 1.
    public var episodeLength: Int { 52 * parameters.numDecks - 1 }

    /// Shuffles a new deck and shows its first card.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        return reset(cards: Card.shuffledDecks(parameters.numDecks, using: &rng))
    }

    /// Starts an episode on the given cards (at least two).
    public func reset(cards: [Card]) -> [Float] {
        self.cards = cards
        stepIndex = 0
        return oneHot(cards.first?.suit ?? 0, count: 4)
    }

    /// The suit the current step expects.
    public var target: Int { cards.first?.suit ?? 0 }

    /// Scores the answer and deals the next card.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard stepIndex + 1 < cards.count else { throw EnvironmentError.trialOver(environment: name) }
        let scale = 1 / Double(cards.count - 1)
        let reward = index(of: action) == target ? scale : -scale
        stepIndex += 1
        let done = stepIndex + 1 >= cards.count
        return StepResult(observation: oneHot(cards[stepIndex].suit, count: 4), reward: reward,
                          isTerminated: done, isTruncated: false)
    }
}
