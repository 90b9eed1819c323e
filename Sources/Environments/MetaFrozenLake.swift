import Foundation
import JSON

/// Meta-Frozen-Lake: `k` attempts on the same hidden lake per trial (spec §8.2, §11 items 13, 20).
///
/// Observation `[x/size, y/size, reset_signal, k_progress]`. At an attempt boundary the returned
/// observation is the next attempt's first one, built before the attempt counter moves on, so it
/// still shows the old progress.
public final class MetaFrozenLake: Environment {
    /// Documented parameters; defaults and ranges are the registry's (`EnvironmentRegistry.metaFrozenLake`).
    public struct Parameters: Codable, Equatable, Sendable {
        /// Side length of the lake.
        public var size: Int
        /// Attempts per trial.
        public var kEpisodes: Int
        /// Random action swap, noisy position and cracking ice.
        public var hardMode: Bool
        /// Holes cost 0.1 and leave the agent in place instead of ending the attempt.
        public var recoverMode: Bool
        /// Step limit of one attempt; `nil` means `size²` (`2·size²` in hard mode).
        public var maxEpisodeSteps: Int?
        /// Show `current_k / k_episodes` in the observation.
        public var showKProgress: Bool
        /// Probability that a non-zero action becomes the no-op.
        public var slipChance: Double

        /// The registry's defaults of these parameters.
        public static var defaults: ParameterValues { EnvironmentRegistry.metaFrozenLake.defaultValues }

        /// Creates parameters; omitted ones take the registry's defaults.
        public init(size: Int = defaults.int("size"), kEpisodes: Int = defaults.int("k_episodes"),
                    hardMode: Bool = defaults.bool("hard_mode"), recoverMode: Bool = defaults.bool("recover_mode"),
                    maxEpisodeSteps: Int? = defaults.optionalInt("max_episode_steps"),
                    showKProgress: Bool = defaults.bool("show_k_progress"), slipChance: Double = defaults.double("slip_chance")) {
            self.size = size
            self.kEpisodes = kEpisodes
            self.hardMode = hardMode
            self.recoverMode = recoverMode
            self.maxEpisodeSteps = maxEpisodeSteps
            self.showKProgress = showKProgress
            self.slipChance = slipChance
        }

        /// Every invalid field, by the registry's ranges.
        public func validationErrors() -> [FieldError] {
            EnvironmentRegistry.metaFrozenLake.problems([
                "size": .number(Double(size)), "k_episodes": .number(Double(kEpisodes)), "hard_mode": .bool(hardMode),
                "recover_mode": .bool(recoverMode), "max_episode_steps": maxEpisodeSteps.map { .number(Double($0)) } ?? .null,
                "show_k_progress": .bool(showKProgress), "slip_chance": .number(slipChance),
            ])
        }

        /// The per-attempt step limit after defaults and slip scaling.
        public var effectiveMaxEpisodeSteps: Int {
            let base = maxEpisodeSteps ?? (hardMode ? 2 : 1) * size * size
            return slipChance > 0 ? Int(Double(base) / (1 - slipChance)) : base
        }
    }

    /// The parameters the lake was built with.
    public let parameters: Parameters
    /// Steps after which an attempt times out.
    public let maxEpisodeSteps: Int
    /// The trial's lake.
    public private(set) var map: LakeMap
    /// Row of the agent.
    public private(set) var x = 0
    /// Column of the agent.
    public private(set) var y = 0
    /// Attempts finished in this trial.
    public private(set) var currentK = 0
    /// Steps taken in the current attempt.
    public private(set) var episodeSteps = 0
    /// Whether actions 1 and 3 are swapped this trial (hard mode).
    public private(set) var actionsSwapped = false
    private var working: LakeMap
    private var rng: SeededGenerator

    /// Creates a lake; throws `invalidParameters` naming every bad field.
    public init(_ parameters: Parameters = Parameters(), seed: UInt64 = 0) throws {
        let errors = parameters.validationErrors()
        guard errors.isEmpty else {
            throw EnvironmentError.invalidParameters(environment: "meta_frozen_lake", fields: errors)
        }
        self.parameters = parameters
        maxEpisodeSteps = parameters.effectiveMaxEpisodeSteps
        rng = SeededGenerator(seed: seed)
        map = LakeMap.random(size: parameters.size, using: &rng)
        working = map
        _ = reset(map: map)
    }

    /// `MetaFrozenLake-<size>x<size>-k<k>`.
    public var name: String { "MetaFrozenLake-\(parameters.size)x\(parameters.size)-k\(parameters.kEpisodes)" }
    /// Four floats in `[0, 1]`.
    public var observationSize: Int { 4 }
    /// No-op, x+1, x−1, y+1, y−1.
    public var actionSpace: ActionSpace { .discrete(count: 5) }

    /// The action that does nothing.
    public var noOpAction: Action? { .discrete(0) }

    /// Starts a trial on a newly generated lake.
    public func reset(seed: UInt64?) -> [Float] {
        if let seed { rng = SeededGenerator(seed: seed) }
        return reset(map: LakeMap.random(size: parameters.size, using: &rng))
    }

    /// Starts a trial on the given lake (its size should equal `parameters.size`; positions are
    /// clamped to the map either way).
    public func reset(map: LakeMap) -> [Float] {
        self.map = map
        currentK = 0
        actionsSwapped = parameters.hardMode && rng.nextUnit() < 0.5
        softReset()
        return observe(resetSignal: true)
    }

    private func softReset() {
        working = map
        x = 0
        y = 0
        episodeSteps = 0
    }

    /// One step of the current attempt (spec §8.2).
    public func step(_ action: Action) throws -> StepResult {
        try validate(action)
        guard currentK < parameters.kEpisodes else { throw EnvironmentError.trialOver(environment: name) }
        var a = index(of: action)
        if actionsSwapped && (a == 1 || a == 3) { a = 4 - a }
        episodeSteps += 1
        if parameters.slipChance > 0 && a != 0 && rng.nextUnit() < parameters.slipChance { a = 0 }
        let (dx, dy) = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)][a]
        let n = map.size
        let (nx, ny) = (min(max(x + dx, 0), n - 1), min(max(y + dy, 0), n - 1))
        if parameters.hardMode && (nx, ny) != (x, y) && rng.nextUnit() < 0.33 { working[x, y] = .hole }
        let tile = working[nx, ny]
        var reward = 0.0
        var attemptOver = false
        switch tile {
        case .goal:
            reward = 1
            attemptOver = true
        case .hole where parameters.recoverMode:
            reward = -0.1
        case .hole:
            attemptOver = true
        case .start, .frozen:
            (x, y) = (nx, ny)
        }
        if !attemptOver && episodeSteps >= maxEpisodeSteps { attemptOver = true }
        guard attemptOver else {
            return StepResult(observation: observe(resetSignal: false), reward: reward, isTerminated: false, isTruncated: false)
        }
        softReset()
        let observation = observe(resetSignal: true)
        let info = StepInfo(metrics: ["Episode \(currentK) Success": tile == .goal ? 1 : 0])
        currentK += 1
        return StepResult(observation: observation, reward: reward, isTerminated: currentK >= parameters.kEpisodes,
                          isTruncated: false, info: info)
    }

    private func observe(resetSignal: Bool) -> [Float] {
        var (ox, oy) = (x, y)
        if parameters.hardMode && rng.nextUnit() < 0.25 {
            let n = map.size
            ox = min(max(ox + rng.nextInt(below: 3) - 1, 0), n - 1)
            oy = min(max(oy + rng.nextInt(below: 3) - 1, 0), n - 1)
        }
        let size = Double(parameters.size)
        let progress = parameters.showKProgress ? Double(currentK) / Double(parameters.kEpisodes) : 0
        return [f32(Double(ox) / size), f32(Double(oy) / size), resetSignal ? 1 : 0, f32(progress)]
    }
}
