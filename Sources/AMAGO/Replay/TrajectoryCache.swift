/// Decoded trajectories keyed by file name, bounded by the total number of stored floats.
/// When full, the entries inserted longest ago leave first. Not thread-safe on its own; the
/// replay buffer guards it with its lock.
struct TrajectoryCache {
    private struct Entry {
        let trajectory: TrajectorySlice
        let floats: Int
        let generation: Int
    }

    /// Upper bound on the floats held (observations, rl2, time indices, rewards, dones, actions).
    let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Insertion order; stale pairs (removed or re-inserted keys) are skipped when evicting.
    private var order: [(key: String, generation: Int)] = []
    private var orderHead = 0
    private var nextGeneration = 0
    private(set) var storedFloats = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Number of cached trajectories.
    var count: Int { entries.count }

    /// Whether `key` is cached.
    func contains(_ key: String) -> Bool { entries[key] != nil }

    /// The cached trajectory for `key`, if any.
    subscript(key: String) -> TrajectorySlice? { entries[key]?.trajectory }

    /// Caches `trajectory` unless it alone exceeds the capacity, evicting old entries to make room.
    mutating func insert(_ trajectory: TrajectorySlice, for key: String) {
        remove(key)
        let size = Self.floatCount(trajectory)
        guard size <= capacity else { return }
        while storedFloats + size > capacity, evictOldest() {}
        entries[key] = Entry(trajectory: trajectory, floats: size, generation: nextGeneration)
        order.append((key, nextGeneration))
        nextGeneration += 1
        storedFloats += size
    }

    /// Drops `key` (a deleted or evicted file).
    mutating func remove(_ key: String) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        storedFloats -= entry.floats
    }

    /// Drops every key not in `keep`.
    mutating func retainOnly(_ keep: Set<String>) {
        for key in entries.keys where !keep.contains(key) { remove(key) }
        compactOrder()
    }

    private mutating func evictOldest() -> Bool {
        while orderHead < order.count {
            let (key, generation) = order[orderHead]
            orderHead += 1
            if entries[key]?.generation == generation {
                remove(key)
                compactOrder()
                return true
            }
        }
        return false
    }

    /// Forgets consumed and stale order pairs once they dominate the queue.
    private mutating func compactOrder() {
        guard orderHead > 1024 || order.count > 2 * entries.count + 1024 else { return }
        order = order[orderHead...].filter { entries[$0.key]?.generation == $0.generation }
        orderHead = 0
    }

    static func floatCount(_ t: TrajectorySlice) -> Int {
        t.observations.reduce(0) { $0 + $1.count } + t.rl2.reduce(0) { $0 + $1.count }
            + t.timeIndices.count + t.rewards.count + t.dones.count + t.actions.reduce(0) { $0 + $1.count }
    }
}
