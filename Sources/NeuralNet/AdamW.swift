import Autograd
import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's `AdamW` update,
/// with a linear learning-rate warm-up and global gradient-norm clipping (spec §5.7).
public final class AdamW {
    /// Hyperparameters, defaulting to spec §5.7 (lr 1e-4, betas 0.9/0.999, ε 1e-8, decay 1e-3, clip 1).
    public struct Configuration: Codable, Equatable, Sendable {
        /// The learning rate after warm-up.
        public var learningRate: Float = 1e-4
        /// Decay rates of the first and second moment estimates.
        public var beta1: Float = 0.9, beta2: Float = 0.999
        /// Added to the denominator for numerical stability.
        public var epsilon: Float = 1e-8
        /// Decoupled weight decay λ, applied to every parameter.
        public var weightDecay: Float = 1e-3
        /// Steps of linear warm-up: step k (from 0) uses `lr·min(k / warmupSteps, 1)`; 0 disables it.
        public var warmupSteps = 0
        /// Maximum global L2 norm of all gradients; nil disables clipping.
        public var gradientClip: Float? = 1.0
        /// The defaults.
        public init() {}
    }

    /// What one step did.
    public struct StepReport: Sendable {
        /// The learning rate used by this step.
        public var learningRate: Float
        /// The global gradient norm before clipping.
        public var gradientNorm: Float
    }

    /// The hyperparameters.
    public let configuration: Configuration
    /// The tensors updated, with their names (used for saved state).
    public let parameters: [(name: String, tensor: Tensor)]
    /// First and second moment estimates, one per parameter.
    public internal(set) var firstMoments: [[Float]], secondMoments: [[Float]]
    /// Steps taken so far.
    public internal(set) var stepCount = 0

    /// An optimizer over `parameters` with zeroed moment estimates.
    public init(parameters: [(name: String, tensor: Tensor)], configuration: Configuration = Configuration()) {
        self.parameters = parameters
        self.configuration = configuration
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.tensor.count) }
        secondMoments = firstMoments
    }

    /// The learning rate of the next step.
    public var currentLearningRate: Float {
        let c = configuration
        guard c.warmupSteps > 0 else { return c.learningRate }
        return c.learningRate * Swift.min(Float(stepCount) / Float(c.warmupSteps), 1)
    }

    /// The global L2 norm of all parameters' gradients.
    public func gradientNorm() -> Float {
        var total: Double = 0
        for (_, p) in parameters { for g in p.grad ?? [] { total += Double(g) * Double(g) } }
        return Float(total.squareRoot())
    }

    /// Scales all gradients so that their global norm is at most `maxNorm` (as PyTorch's
    /// `clip_grad_norm_`, with its 1e-6 guard); returns the norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        let norm = gradientNorm()
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for (_, p) in parameters where p.grad != nil {
                p.setGrad(p.grad!.map { $0 * coefficient })
            }
        }
        return norm
    }

    /// Clips the gradients, then updates every parameter that has a gradient:
    /// `θ ← θ(1 − lr·λ)`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`.
    @discardableResult
    public func step() -> StepReport {
        let c = configuration
        let norm = c.gradientClip.map { clipGradients(maxNorm: $0) } ?? gradientNorm()
        let lr = currentLearningRate
        stepCount += 1
        let t = Float(stepCount)
        let bias1 = 1 - Foundation.pow(c.beta1, t), bias2 = 1 - Foundation.pow(c.beta2, t)
        let stepSize = lr / bias1, bias2Root = bias2.squareRoot()
        let decay = 1 - lr * c.weightDecay
        for (k, (_, p)) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            p.withMutableData { theta in
                firstMoments[k].withUnsafeMutableBufferPointer { m in
                    secondMoments[k].withUnsafeMutableBufferPointer { v in
                        for i in 0..<theta.count {
                            let g = grad[i]
                            theta[i] *= decay
                            m[i] = c.beta1 * m[i] + (1 - c.beta1) * g
                            v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g
                            theta[i] -= stepSize * m[i] / (v[i].squareRoot() / bias2Root + c.epsilon)
                        }
                    }
                }
            }
        }
        return StepReport(learningRate: lr, gradientNorm: norm)
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }
}
