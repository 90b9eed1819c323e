import Foundation
import JSON

/// Repeat Previous: answer the suit of the card dealt `k` steps ago (more-tasks.md).
///
/// Before step `t` the agent has seen cards `0 … t−1`; step `t = 1 … N−1`
/// scores the action against card `t − k` (no reward while `t < k`, ±1/(N−k) after), then shows card `t`.
public final class RepeatPrevious: Environment {
    /// Documented parameters.
    public struct Parameters: Codable, Equatable, Sendable {
        /// Number of decks; presets 1 / 2 / 3.
        public var numDecks: Int = 1
        /// How far back to answer; presets 4 / 32 / 64.
        public var k: Int = 4
        /// Creates parameters.
        public init(numDecks: Int = 1, k: Int = 4) {
            self.numDecks = numDecks
            self.k = k
        }
        /// The preset of a difficulty level.
        public static func preset(_ level: MemoryDifficulty) -> Parameters {
            switch level {
            case .easy: return Parameters(numDecks: 1, k: 4)
            case .medium: return Parameters(numDecks: 2, k: 32)
            case .hard: return Parameters(numDecks: 3, k: 64)
            }
        }
        /// Every invalid field.
        public func validationErrors() -> [FieldError] {
            var errors: [FieldError] = []
            if !(1...64).contains(numDecks) { errors.append(FieldError(field: "num_decks", expected: "an integer in 1...64")) }
            if k < 1 || k >= 52 * max(numDecks, 1) {
                errors.append(FieldError(field: "k", expected: "an integer in 1..<52·num_decks"))
            }
            return errors
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
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "repeat_previous", fields: errors) }
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `RepeatPrevious-<decks>-k<k>`.
    public var name: String { "RepeatPrevious-\(parameters.numDecks)-k\(parameters.k)" }
    /// One-hot suit.
    public var observationSize: Int { 4 }
    /// One action per suit.
    public var actionSpace: ActionSpace { .discrete(count: 4) }

    /// Shuffles a new deck and shows its first card.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        return reset(cards: Card.shuffledDecks(parameters.numDecks, using: &rng))
    }

    /// Starts an episode on the given cards (more than `k`).
    public func reset(cards: [Card]) -> [Float] {
        self.cards = cards
        stepIndex = 0
        return oneHot(cards.first?.suit ?? 0, count: 4)
    }

    /// The suit the next step expects, or `nil` while fewer than `k` cards have been seen.
    public var target: Int? {
        let t = stepIndex + 1
        return t >= parameters.k && t - parameters.k < cards.count ? cards[t - parameters.k].suit : nil
    }

    /// Scores the answer (once `k` cards have been seen) and deals the next card.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard stepIndex + 1 < cards.count else { throw EnvironmentError.trialOver(environment: name) }
        let scale = 1 / Double(max(cards.count - parameters.k, 1))
        var reward = 0.0
        if let target { reward = index(of: action) == target ? scale : -scale }
        stepIndex += 1
        let done = stepIndex + 1 >= cards.count
        return StepResult(observation: oneHot(cards[stepIndex].suit, count: 4), reward: reward,
                          isTerminated: done, isTruncated: false)
    }
}
