import Autograd
import Foundation

/// The discount factors an agent trains with (spec §4.1): the default multi-gamma list plus
/// the main gamma, which is always last (index G−1, the one used at test time).
public enum Gammas {
    /// Default extra discounts, for discrete and continuous actions alike.
    public static let defaultMultigammas: [Float] = [0.1, 0.9, 0.95, 0.97, 0.99, 0.995]

    /// `multigammas + [gamma]`, or just `[gamma]` without multi-gamma training.
    public static func list(gamma: Float = 0.999, multigamma: Bool = true,
                            multigammas: [Float] = defaultMultigammas) -> [Float] {
        (multigamma ? multigammas : []) + [gamma]
    }

    /// The critic's gamma input `symlog(1 / clamp(1 − γ, 1e-6, 1))` per gamma.
    public static func feature(_ gammas: [Float]) -> [Float] {
        gammas.map { Tensor.symlog(1 / Swift.min(Swift.max(1 - $0, 1e-6), 1)) }
    }
}
