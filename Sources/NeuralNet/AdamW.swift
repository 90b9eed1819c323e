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
    public internal(set) var firstMoments: [[Float]] {
        get { moments.map(\.first) }
        set { for (box, value) in zip(moments, newValue) { box.first = value } }
    }
    /// Second moment estimates, one per parameter.
    public internal(set) var secondMoments: [[Float]] {
        get { moments.map(\.second) }
        set { for (box, value) in zip(moments, newValue) { box.second = value } }
    }

    /// One parameter's moment estimates, in an object of their own so that the threads of a
    /// step can each update a different parameter's.
    final class Moments {
        var first: [Float], second: [Float]
        init(count: Int) { (first, second) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count)) }
    }
    let moments: [Moments]
    /// Steps taken so far.
    public internal(set) var stepCount = 0

    /// An optimizer over `parameters` with zeroed moment estimates.
    public init(parameters: [(name: String, tensor: Tensor)], configuration: Configuration = Configuration()) {
        self.parameters = parameters
        self.configuration = configuration
        moments = parameters.map { Moments(count: $0.tensor.count) }
    }

    /// The learning rate of the next step.
    public var currentLearningRate: Float {
        let c = configuration
        guard c.warmupSteps > 0 else { return c.learningRate }
        return c.learningRate * Swift.min(Float(stepCount) / Float(c.warmupSteps), 1)
    }

    /// The global L2 norm of all parameters' gradients.
    public func gradientNorm() -> Float {
        // Each parameter's Σ g² over fixed pieces, and the parameters' sums added in order:
        // the norm does not depend on the number of threads.
        let grads = parameters.map(\.tensor.grad)
        var sums = [Double](repeating: 0, count: grads.count)
        sums.withUnsafeMutableBufferPointer { out in
            AdamW.forEachParameter(grads.map { $0?.count }) { k in
                grads[k]!.withUnsafeBufferPointer { g in
                    let pieces = AdamW.pieces(g.count)
                    if pieces == 1 { out[k] = AdamW.sumOfSquares(g); return }
                    var partial = [Double](repeating: 0, count: pieces)
                    partial.withUnsafeMutableBufferPointer { part in
                        Parallel.forEachChunk(pieces) { i in
                            part[i] = AdamW.sumOfSquares(UnsafeBufferPointer(rebasing: g[AdamW.piece(i, of: g.count)]))
                        }
                    }
                    out[k] = partial.reduce(0, +)
                }
            }
        }
        return Float(sums.reduce(0, +).squareRoot())
    }

    /// Runs `body(k)` for every parameter k with a count (a gradient): those of one piece
    /// together, one parameter per chunk on the engine threads; then each larger one in turn,
    /// for the body to cut into pieces (a body's own job runs inline inside a chunk).
    static func forEachParameter(_ counts: [Int?], _ body: (Int) -> Void) {
        let small = counts.indices.filter { counts[$0].map { $0 <= pieceSize } ?? false }
        Parallel.forEachChunk(small.count) { body(small[$0]) }
        for k in counts.indices where (counts[k] ?? 0) > pieceSize { body(k) }
    }

    /// Elements per piece when a parameter's pass is shared between the engine's threads.
    static let pieceSize = 1 << 15

    /// How many pieces a parameter of `count` elements is cut into (at least 1).
    static func pieces(_ count: Int) -> Int { Swift.max(1, (count + pieceSize - 1) / pieceSize) }

    /// The elements of piece `k`.
    static func piece(_ k: Int, of count: Int) -> Range<Int> { (k * pieceSize)..<Swift.min(count, (k + 1) * pieceSize) }

    /// Σ g² in double precision, over eight interleaved partial sums so that the loop vectorises.
    static func sumOfSquares(_ g: UnsafeBufferPointer<Float>) -> Double {
        var partial = SIMD8<Double>()
        let n = g.count, whole = n & ~7
        var i = 0
        while i < whole {
            let v = SIMD8<Double>(UnsafeRawPointer(g.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self))
            partial += v * v
            i += 8
        }
        var total = partial.sum()
        while i < n { total += Double(g[i]) * Double(g[i]); i += 1 }
        return total
    }

    /// The factor that brings a gradient of global norm `norm` down to `maxNorm` (as PyTorch's
    /// `clip_grad_norm_`, with its 1e-6 guard), or 1 when it is already within it.
    static func clipCoefficient(norm: Float, maxNorm: Float) -> Float {
        let coefficient = maxNorm / (norm + 1e-6)
        return coefficient < 1 ? coefficient : 1
    }

    /// Scales all gradients so that their global norm is at most `maxNorm` (as PyTorch's
    /// `clip_grad_norm_`, with its 1e-6 guard); returns the norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        let norm = gradientNorm()
        let coefficient = AdamW.clipCoefficient(norm: norm, maxNorm: maxNorm)
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
    ///
    /// The clipping factor is applied to each gradient element as the update reads it (the
    /// values are those of clipping first); the stored gradients are left as they were.
    @discardableResult
    public func step() -> StepReport {
        let c = configuration
        let norm = gradientNorm()
        let scale = c.gradientClip.map { AdamW.clipCoefficient(norm: norm, maxNorm: $0) } ?? 1
        let lr = currentLearningRate
        stepCount += 1
        let t = Float(stepCount)
        let bias1 = 1 - Foundation.pow(c.beta1, t), bias2 = 1 - Foundation.pow(c.beta2, t)
        let hyper = UpdateConstants(beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, decay: 1 - lr * c.weightDecay,
                                    stepSize: lr / bias1, bias2Root: bias2.squareRoot(), scale: scale)
        let grads = parameters.map(\.tensor.grad)
        AdamW.forEachParameter(grads.map { $0?.count }) { k in
            // Each parameter's tensor and moments are touched by one chunk at a time.
            grads[k]!.withUnsafeBufferPointer { g in
                parameters[k].tensor.withMutableData { theta in
                    moments[k].first.withUnsafeMutableBufferPointer { m in
                        moments[k].second.withUnsafeMutableBufferPointer { v in
                            let count = theta.count
                            Parallel.forEachChunk(AdamW.pieces(count)) { i in
                                let r = AdamW.piece(i, of: count)
                                AdamW.update(theta.baseAddress! + r.lowerBound, m.baseAddress! + r.lowerBound,
                                             v.baseAddress! + r.lowerBound, g.baseAddress! + r.lowerBound, count: r.count, hyper)
                            }
                        }
                    }
                }
            }
        }
        return StepReport(learningRate: lr, gradientNorm: norm)
    }

    /// The per-step constants of the update.
    struct UpdateConstants {
        var beta1, beta2, epsilon, decay, stepSize, bias2Root, scale: Float
    }

    /// The AdamW update of `count` elements in place; a scale of exactly 1 skips the multiply.
    @inline(__always)
    static func update(_ theta: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>, count: Int, _ h: UpdateConstants) {
        let clipped = h.scale != 1
        for i in 0..<count {
            let g = clipped ? grad[i] * h.scale : grad[i]
            theta[i] *= h.decay
            m[i] = h.beta1 * m[i] + (1 - h.beta1) * g
            v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g
            theta[i] -= h.stepSize * m[i] / (v[i].squareRoot() / h.bias2Root + h.epsilon)
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }
}
