import Environments
import Foundation
import JSON

/// Recorded episodes of an external environment, as uploaded for offline training
/// (`POST /experiments/{id}/episodes`).
///
/// One episode is one trial: `observations` has T + 1 rows (the first observation, then the one
/// after each action), `actions` and `rewards` T entries; `terminated` marks the last
/// transition terminal (value learning does not bootstrap past it), `truncated` a time limit
/// (stored like an unfinished trial). Continuous actions are given in the environment's units
/// and stored rescaled to the policy's `[-1, 1]`.
public enum ExternalEpisodes {
    /// The most episodes one upload may hold.
    public static let maxEpisodes = 10_000

    /// Parses and checks an upload body `{"episodes": [...]}`; every bad field is reported with
    /// its path (e.g. `episodes[2].actions[5]`).
    public static func parse(_ body: JSONValue, parameters: ExternalEnvironment.Parameters) -> (episodes: [TrajectorySlice], errors: [FieldError]) {
        guard case .object(let top) = body else { return ([], [FieldError(field: "$", expected: "a JSON object")]) }
        var errors: [FieldError] = top.keys.sorted().filter { $0 != "episodes" }.map {
            FieldError(field: $0, expected: "no such field; known: episodes")
        }
        guard case .array(let list)? = top["episodes"], (1...maxEpisodes).contains(list.count) else {
            errors.append(FieldError(field: "episodes", expected: "an array of 1...\(maxEpisodes) episodes"))
            return ([], errors)
        }
        var slices: [TrajectorySlice] = []
        for (i, item) in list.enumerated() {
            let (slice, problems) = episode(item, at: "episodes[\(i)]", parameters: parameters)
            if let slice { slices.append(slice) }
            errors += problems
            if errors.count >= 100 { break }  // enough to fix the first ones
        }
        return errors.isEmpty ? (slices, []) : ([], errors)
    }

    static func episode(_ value: JSONValue, at path: String, parameters p: ExternalEnvironment.Parameters) -> (TrajectorySlice?, [FieldError]) {
        guard case .object(let o) = value else { return (nil, [FieldError(field: path, expected: "an episode object")]) }
        let known: Set<String> = ["observations", "actions", "rewards", "terminated", "truncated"]
        var errors = o.keys.sorted().filter { !known.contains($0) }.map {
            FieldError(field: "\(path).\($0)", expected: "no such field; known: " + known.sorted().joined(separator: ", "))
        }
        func flag(_ key: String) -> Bool {
            switch o[key] {
            case nil, .null?: return false
            case .bool(let b)?: return b
            default: errors.append(FieldError(field: "\(path).\(key)", expected: "true or false")); return false
            }
        }
        let terminated = flag("terminated")
        _ = flag("truncated")
        guard case .array(let observations)? = o["observations"], observations.count >= 2 else {
            errors.append(FieldError(field: "\(path).observations", expected: "an array of at least 2 observations (T + 1 rows)"))
            return (nil, errors)
        }
        let steps = observations.count - 1
        var rows: [[Float]] = []
        for (t, row) in observations.enumerated() {
            guard case .array(let xs) = row, xs.count == p.observationSize,
                  let values = Optional(xs.compactMap(\.doubleValue)), values.count == xs.count, values.allSatisfy(\.isFinite) else {
                errors.append(FieldError(field: "\(path).observations[\(t)]", expected: "an array of \(p.observationSize) finite numbers"))
                continue
            }
            rows.append(values.map(Float.init))
        }
        var actions: [Action] = []
        if case .array(let list)? = o["actions"], list.count == steps {
            for (t, a) in list.enumerated() {
                if let action = p.actionSpace.normalise(a) { actions.append(action) } else {
                    errors.append(FieldError(field: "\(path).actions[\(t)]", expected: p.actionSpace.expectation + ", got \(a)"))
                }
            }
        } else {
            errors.append(FieldError(field: "\(path).actions", expected: "an array of \(steps) actions (one per transition)"))
        }
        var rewards: [Float] = []
        if case .array(let list)? = o["rewards"], list.count == steps {
            for (t, r) in list.enumerated() {
                if let x = r.doubleValue, x.isFinite, abs(x) <= 1e9 { rewards.append(Float(x)) } else {
                    errors.append(FieldError(field: "\(path).rewards[\(t)]", expected: "a finite number, got \(r)"))
                }
            }
        } else {
            errors.append(FieldError(field: "\(path).rewards", expected: "an array of \(steps) numbers (one per transition)"))
        }
        guard errors.isEmpty else { return (nil, errors) }
        return (slice(observations: rows, actions: actions, rewards: rewards, terminated: terminated,
                              actionSpace: p.actionSpace.policySpace), [])
    }

    /// The trajectory as the collector stores it: rl2 holds the previous reward and action,
    /// time counts from 0, and only a terminated episode's last transition is terminal.
    static func slice(observations: [[Float]], actions: [Action], rewards: [Float], terminated: Bool,
                      actionSpace: ActionSpace) -> TrajectorySlice {
        var timesteps = [Timestep(observation: observations[0], previousAction: [Float](repeating: 0, count: actionSpace.width),
                                  reward: 0, timeIndex: 0, isTerminal: false)]
        for t in 0..<actions.count {
            timesteps.append(Timestep(observation: observations[t + 1], previousAction: actionSpace.encode(actions[t]),
                                      reward: rewards[t], timeIndex: t + 1, isTerminal: terminated && t == actions.count - 1))
        }
        return ActorGroup.slice(timesteps)
    }

    /// Writes episodes into the replay buffer of an experiment's folder that is not training
    /// now (a training run picks them up at its next epoch).
    public static func store(_ episodes: [TrajectorySlice], in run: RunFolder) throws {
        let buffer = try ReplayBuffer(directory: run.buffer, capacity: Int.max / 2)
        for e in episodes { try buffer.add(e, environmentName: "external") }
    }
}
