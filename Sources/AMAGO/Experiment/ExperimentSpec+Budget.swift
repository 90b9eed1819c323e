import Environments
import Foundation
import JSON

// A spec can be valid field by field and still ask for more memory than the machine has
// (say d_model 4096 with 64 layers and batches of 4096 sequences). Such a spec would
// fail after it was queued, or worse, take the process down with it; it is refused at
// validation with the estimate instead.

extension ExperimentSpec {
    /// A rough upper estimate of the bytes one training step needs: parameters with their
    /// gradients, optimizer moments and target copies, plus the activations kept for the
    /// backward pass of one batch (with a factor for gradients and temporaries).
    public var estimatedTrainingBytes: Double {
        let d = Double(model.dModel), f = Double(model.dFeedForward), h = Double(model.heads)
        let layers = Double(model.layers), length = Double(schedule.maxSequenceLength + 1)
        let tokens = Double(schedule.batchSize) * length
        let gammas = Double(agent.multigamma ? Gammas.defaultMultigammas.count + 1 : 1)
        let critics = Double(agent.critics), criticWidth = Double(model.criticHidden), actorWidth = Double(model.actorHidden)
        let stepWidth = Double(model.timestepHidden), stepLayers = Double(model.timestepLayers)

        // Floats kept per token: the trajectory encoder (norms, q/k/v, attention rows,
        // feed-forward), the timestep encoder and the heads at every gamma.
        let encoderPerToken = layers * (10 * d + 2 * f + h * length)
        let timestepPerToken = stepLayers * stepWidth + Double(model.timestepOutput)
        let headsPerToken = gammas * (critics * criticWidth * 3 + actorWidth * 3 + critics * Double(agent.bins))
        let activations = tokens * (encoderPerToken + timestepPerToken + headsPerToken) * 3

        let encoderParameters = layers * (4 * d * d + 2 * d * f)
        let timestepParameters = stepLayers * stepWidth * stepWidth + stepWidth * Double(model.timestepOutput)
        let headParameters = critics * (d * criticWidth + criticWidth * criticWidth) + d * actorWidth + actorWidth * actorWidth
        // Weights, gradients, two AdamW moments and the target networks.
        let parameters = (encoderParameters + timestepParameters + headParameters) * 5
        return (activations + parameters) * Double(MemoryLayout<Float>.size)
    }

    /// The most a single experiment may ask for: half of the machine's memory.
    public static var trainingMemoryBudget: Double { Double(ProcessInfo.processInfo.physicalMemory) / 2 }

    /// A field error when the estimate exceeds the budget.
    func memoryBudgetErrors() -> [FieldError] {
        let estimate = estimatedTrainingBytes, budget = Self.trainingMemoryBudget
        guard estimate > budget else { return [] }
        let gib = { (x: Double) in String(format: "%.1f GiB", x / 1_073_741_824) }
        return [FieldError(field: "model", expected: "a model and batch whose training fits in memory (estimated \(gib(estimate)), "
                            + "at most \(gib(budget)) here); lower model.d_model, model.layers, schedule.batch_size or schedule.max_seq_len")]
    }
}
