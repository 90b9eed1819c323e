import Foundation
import JSON

/// Count Recall: say how often the query card's value has been dealt so far (more-tasks.md).
///
/// Observation `t` shows dealt card `t` and query card `t` (one-hot values each). The action of
/// step `t + 1` is scored (±1/(N−1)) against how many of dealt cards `0 … t` share query `t`'s value.
public final class CountRecall: Environment {
    /// Which card property is counted.
    public enum ValueKind: String, Codable, Sendable, CaseIterable {
        /// 2 values.
        case colours
        /// 4 values.
        case suits
        /// 13 values.
        case ranks

        /// Number of distinct values.
        public var count: Int { [.colours: 2, .suits: 4, .ranks: 13][self] ?? 4 }

        /// The card's value of this kind.
        public func value(of card: Card) -> Int {
            switch self {
            case .colours: return card.colour
            case .suits: return card.suit
            case .ranks: return card.rank
            }
        }
    }

    /// Documented parameters.
    public struct Parameters: Codable, Equatable, Sendable {
        /// Number of decks; presets 1 / 2 / 4.
        public var numDecks: Int = 1
        /// Counted property; presets colours / suits / ranks.
        public var valueKind: ValueKind = .colours
        /// Creates parameters.
        public init(numDecks: Int = 1, valueKind: ValueKind = .colours) {
            self.numDecks = numDecks
            self.valueKind = valueKind
        }
        /// The preset of a difficulty level.
        public static func preset(_ level: MemoryDifficulty) -> Parameters {
            switch level {
            case .easy: return Parameters(numDecks: 1, valueKind: .colours)
            case .medium: return Parameters(numDecks: 2, valueKind: .suits)
            case .hard: return Parameters(numDecks: 4, valueKind: .ranks)
            }
        }
        /// Every invalid field.
        public func validationErrors() -> [FieldError] {
            (1...64).contains(numDecks) ? [] : [FieldError(field: "num_decks", expected: "an integer in 1...64")]
        }
    }

    /// The parameters of the task.
    public let parameters: Parameters
    /// Dealt cards in order.
    public private(set) var dealt: [Card] = []
    /// Query cards in order.
    public private(set) var queries: [Card] = []
    /// Steps taken.
    public private(set) var stepIndex = 0
    private var counts: [Int]
    private var rng: SeededGenerator

    /// Creates the task; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else { throw EnvironmentError.invalidParameters(environment: "count_recall", fields: errors) }
        self.parameters = parameters
        counts = [Int](repeating: 0, count: parameters.valueKind.count)
        rng = SeededGenerator(seed: seed)
        _ = reset(seed: seed)
    }

    /// `CountRecall-<decks>-<kind>`.
    public var name: String { "CountRecall-\(parameters.numDecks)-\(parameters.valueKind.rawValue)" }
    /// Two one-hot values.
    public var observationSize: Int { 2 * parameters.valueKind.count }
    /// Counts 0 … N/values.
    public var actionSpace: ActionSpace { .discrete(count: 52 * parameters.numDecks / parameters.valueKind.count + 1) }

    /// Shuffles the dealt and query decks and shows their first cards.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        let dealt = Card.shuffledDecks(parameters.numDecks, using: &rng)
        return reset(dealt: dealt, queries: Card.shuffledDecks(parameters.numDecks, using: &rng))
    }

    /// Starts an episode with the given card sequences (same length, at least two).
    public func reset(dealt: [Card], queries: [Card]) -> [Float] {
        self.dealt = dealt
        self.queries = queries
        stepIndex = 0
        counts = [Int](repeating: 0, count: parameters.valueKind.count)
        if let first = dealt.first { counts[parameters.valueKind.value(of: first)] += 1 }
        return observe()
    }

    /// The count the next step expects.
    public var target: Int { queries.indices.contains(stepIndex) ? counts[parameters.valueKind.value(of: queries[stepIndex])] : 0 }

    /// Scores the answer for the query on screen and deals the next pair.
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        let n = min(dealt.count, queries.count)
        guard stepIndex + 1 < n else { throw EnvironmentError.trialOver(environment: name) }
        let scale = 1 / Double(n - 1)
        let reward = index(of: action) == target ? scale : -scale
        stepIndex += 1
        counts[parameters.valueKind.value(of: dealt[stepIndex])] += 1
        return StepResult(observation: observe(), reward: reward, isTerminated: stepIndex + 1 >= n, isTruncated: false)
    }

    private func observe() -> [Float] {
        let kind = parameters.valueKind
        guard dealt.indices.contains(stepIndex), queries.indices.contains(stepIndex) else {
            return [Float](repeating: 0, count: observationSize)
        }
        return oneHot(kind.value(of: dealt[stepIndex]), count: kind.count) + oneHot(kind.value(of: queries[stepIndex]), count: kind.count)
    }
}
