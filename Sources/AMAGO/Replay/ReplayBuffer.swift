import Autograd
import Foundation

/// Counts reported at the end of each collection phase (spec §1.4 metrics).
public struct ReplayStatistics: Sendable, Equatable {
    /// Files in `fifo/`, `protected/`, both, and fifo files deleted by this call.
    public var fifoFiles, protectedFiles, totalFiles, deletedFiles: Int
    /// Disk space of all trajectory files in bytes.
    public var bytes: Int

    /// Creates statistics.
    public init(fifoFiles: Int, protectedFiles: Int, totalFiles: Int, deletedFiles: Int, bytes: Int) {
        (self.fifoFiles, self.protectedFiles, self.totalFiles) = (fifoFiles, protectedFiles, totalFiles)
        (self.deletedFiles, self.bytes) = (deletedFiles, bytes)
    }
}

/// The replay buffer on disk (spec §1.4): one file per trajectory in `fifo/` (written by actors,
/// evicted oldest-first beyond `capacity` files) and `protected/` (sampled, never deleted).
///
/// Sampling draws uniformly from the file list taken at the last `endCollection()` (or at `init`),
/// so files written during a collection phase become visible at its end. Decoded files are kept
/// in a bounded in-memory cache. All methods may be called from several threads.
public final class ReplayBuffer: @unchecked Sendable {
    /// The buffer root and its two subdirectories.
    public let directory: URL, fifoDirectory: URL, protectedDirectory: URL
    /// Maximum number of files kept in `fifo/` after eviction (`dset_max_size`).
    public let capacity: Int
    /// Training needs strictly more files than this (`dset_min_size`, spec §11 item 16).
    public let minimumFiles: Int
    private let lock = NSLock()
    private var fifoFiles: [URL] = []
    private var protectedFiles: [URL] = []
    private var cache: TrajectoryCache
    private var lastTime: Double = 0

    /// Creates `directory/fifo` and `directory/protected` if missing; picks up files already there (resume).
    /// - Parameters:
    ///   - capacity: maximum number of fifo files (spec `dset_max_size`).
    ///   - minimumFiles: readiness needs more than this many files.
    ///   - cacheFloats: bound on the decoded values kept in memory (default 64 M floats, 256 MB).
    public init(directory: URL, capacity: Int, minimumFiles: Int = 1, cacheFloats: Int = 1 << 26) throws {
        guard capacity >= 1 else { throw AMAGOError.invalidConfiguration(field: "dset_max_size", message: "must be at least 1") }
        guard minimumFiles >= 0 else { throw AMAGOError.invalidConfiguration(field: "dset_min_size", message: "must not be negative") }
        self.directory = directory
        fifoDirectory = directory.appendingPathComponent("fifo", isDirectory: true)
        protectedDirectory = directory.appendingPathComponent("protected", isDirectory: true)
        self.capacity = capacity
        self.minimumFiles = minimumFiles
        cache = TrajectoryCache(capacity: cacheFloats)
        for dir in [fifoDirectory, protectedDirectory] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw AMAGOError.replayStorage(path: dir.path, message: "cannot create: \(error.localizedDescription)")
            }
        }
        Self.removeStrayTemporaryFiles(in: [fifoDirectory, protectedDirectory])
        try refresh()
        lastTime = fifoFiles.map { Self.timestamp(of: $0) }.max() ?? 0
    }

    /// Writes one finished trajectory as a new file in `fifo/`, named
    /// `<environment name without '_'>_<8 random hex digits>_<unix time>.traj`. Times are strictly
    /// increasing within one buffer, so FIFO order follows the order of `add` calls.
    /// - Parameter time: the time stamp to record (default: now).
    /// - Returns: the file's URL.
    @discardableResult
    public func add(_ trajectory: TrajectorySlice, environmentName: String, time: Date = Date()) throws -> URL {
        let url = lock.withLock { () -> URL in
            lastTime = Self.normalised(Swift.max(time.timeIntervalSince1970, lastTime + 1e-5))
            let hex = String(format: "%08x", UInt32.random(in: .min ... .max))
            let env = environmentName.replacingOccurrences(of: "_", with: "")
            let name = "\(env)_\(hex)_\(String(format: "%.6f", lastTime)).\(TrajectoryFile.pathExtension)"
            return fifoDirectory.appendingPathComponent(name)
        }
        try TrajectoryFile.write(trajectory, to: url)
        lock.withLock { cache.insert(trajectory, for: url.path) }
        return url
    }

    /// End of a collection phase: refreshes the file list, deletes the oldest fifo files beyond
    /// `capacity` (by the time in their names; spec §1.4) and reports the buffer's contents.
    public func endCollection() throws -> ReplayStatistics {
        try lock.withLock {
            try refreshLocked()
            let excess = Swift.max(fifoFiles.count - capacity, 0)
            var deleted = 0
            for url in fifoFiles.prefix(excess) {
                try? FileManager.default.removeItem(at: url)
                guard !FileManager.default.fileExists(atPath: url.path) else {
                    throw AMAGOError.replayStorage(path: url.path, message: "cannot delete an evicted file")
                }
                deleted += 1
            }
            fifoFiles.removeFirst(excess)
            cache.retainOnly(Set((fifoFiles + protectedFiles).map(\.path)))
            let bytes = (fifoFiles + protectedFiles).reduce(0) { $0 + Self.fileSize($1) }
            return ReplayStatistics(fifoFiles: fifoFiles.count, protectedFiles: protectedFiles.count,
                                    totalFiles: fifoFiles.count + protectedFiles.count, deletedFiles: deleted, bytes: bytes)
        }
    }

    /// Whether the buffer holds more than `minimumFiles` files (as of the last refresh).
    public var isReadyForTraining: Bool { fileCount > minimumFiles }

    /// Files in `fifo/` and `protected/` as of the last refresh.
    public var fileCount: Int { lock.withLock { fifoFiles.count + protectedFiles.count } }

    /// Number of decoded trajectories currently held in memory.
    public var cachedTrajectories: Int { lock.withLock { cache.count } }

    /// One random file (uniform over fifo ∪ protected), relabeled if a relabeler is given, cut to
    /// a training sequence (spec §1.5).
    public func sampleSlice(maxSequenceLength: Int, padding: PaddedSampling, relabeler: (any Relabeler)?,
                            using rng: RandomGenerator) throws -> TrajectorySlice {
        guard maxSequenceLength >= 1 else {
            throw AMAGOError.invalidConfiguration(field: "max_seq_len", message: "must be at least 1")
        }
        let url = try lock.withLock { () -> URL in
            let count = fifoFiles.count + protectedFiles.count
            guard count > 0 else { throw AMAGOError.emptyReplayBuffer }
            let i = rng.integer(below: count)
            return i < fifoFiles.count ? fifoFiles[i] : protectedFiles[i - fifoFiles.count]
        }
        var trajectory = try load(url)
        if let relabeler { trajectory = try relabeler.relabel(trajectory, using: rng) }
        guard trajectory.transitionCount >= 1 else {
            throw AMAGOError.invalidTrajectory("\(url.lastPathComponent) has no transitions to train on")
        }
        return trajectory.randomSlice(maxSequenceLength: maxSequenceLength, padding: padding, using: rng)
    }

    /// `size` independent slices padded into one batch (spec §1.6).
    public func sampleBatch(size: Int, maxSequenceLength: Int, padding: PaddedSampling, relabeler: (any Relabeler)?,
                            discreteActions: Bool, using rng: RandomGenerator) throws -> Batch {
        guard size >= 1 else { throw AMAGOError.invalidConfiguration(field: "batch_size", message: "must be at least 1") }
        let slices = try (0..<size).map { _ in
            try sampleSlice(maxSequenceLength: maxSequenceLength, padding: padding, relabeler: relabeler, using: rng)
        }
        return try Batch(slices, discreteActions: discreteActions)
    }

    /// The decoded trajectory of `url`, from the cache when possible.
    public func load(_ url: URL) throws -> TrajectorySlice {
        if let cached = lock.withLock({ cache[url.path] }) { return cached }
        let trajectory = try TrajectoryFile.read(from: url)
        lock.withLock { cache.insert(trajectory, for: url.path) }
        return trajectory
    }

    /// The unix time recorded in a trajectory file name (its last `_` field); 0 if there is none,
    /// so such files are the first to go.
    public static func timestamp(of url: URL) -> Double {
        let stem = url.deletingPathExtension().lastPathComponent
        return stem.split(separator: "_").last.flatMap { Double($0) } ?? 0
    }

    private func refresh() throws { try lock.withLock { try refreshLocked() } }

    private func refreshLocked() throws {
        fifoFiles = try Self.trajectoryFiles(in: fifoDirectory).sorted {
            (Self.timestamp(of: $0), $0.lastPathComponent) < (Self.timestamp(of: $1), $1.lastPathComponent)
        }
        protectedFiles = try Self.trajectoryFiles(in: protectedDirectory).sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Deletes what atomic writes cut short by a crash left behind: hidden temporary files that
    /// were never renamed into place (their trajectories were never acknowledged), once they are
    /// a minute old, so that a write under way in another buffer object is left alone.
    static func removeStrayTemporaryFiles(in directories: [URL]) {
        for dir in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names where name.hasPrefix(".") && !name.hasSuffix(".\(TrajectoryFile.pathExtension)") {
                let url = dir.appendingPathComponent(name)
                let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
                if let modified, Date().timeIntervalSince(modified) > 60 { try? FileManager.default.removeItem(at: url) }
            }
        }
    }

    private static func trajectoryFiles(in dir: URL) throws -> [URL] {
        do {
            return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == TrajectoryFile.pathExtension }
        } catch {
            throw AMAGOError.replayStorage(path: dir.path, message: "cannot list: \(error.localizedDescription)")
        }
    }

    private static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// The time as it reads back from its 6-decimal rendering, so later comparisons see the same value.
    private static func normalised(_ t: Double) -> Double { Double(String(format: "%.6f", t)) ?? t }
}
