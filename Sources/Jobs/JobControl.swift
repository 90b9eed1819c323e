import Foundation
import Storage

/// Why a running job was asked to stop.
public enum StopReason: String, Equatable, Sendable {
    /// A user asked through the API (the experiment is `stopping` in the database).
    case requested
    /// The worker pool is shutting down; the job goes back to the queue.
    case shutdown
    /// This worker no longer owns the experiment (crash recovery or a delete took it away).
    case lostClaim
}

/// The running job's side of the worker pool: stop signal, resume flag, thread budget and
/// progress reporting. Thread-safe; the runner polls it between training steps.
public final class JobControl: @unchecked Sendable {
    // @unchecked: the only mutable state, `reason`, is guarded by `lock`.
    private let lock = NSLock()
    private var reason: StopReason?
    private let store: Store

    /// The experiment being run.
    public let experimentID: String
    /// The worker (the claim owner recorded in the database).
    public let workerID: String
    /// True when the experiment ran before (re-queued after a crash or shutdown, or resumed by a
    /// user): the runner should continue from its latest checkpoint, if it has one.
    public let isResuming: Bool
    /// How many BLAS/compute threads this job should use: `max(1, cores / workers)`.
    public let threadsPerJob: Int

    /// Creates a control; the pool makes one per claimed job (public for runner tests).
    public init(experimentID: String, workerID: String, isResuming: Bool, threadsPerJob: Int, store: Store) {
        self.experimentID = experimentID
        self.workerID = workerID
        self.isResuming = isResuming
        self.threadsPerJob = max(1, threadsPerJob)
        self.store = store
    }

    /// True once the job should write a final checkpoint and return `.stopped`.
    public var shouldStop: Bool { lock.withLock { reason != nil } }

    /// Why the job was asked to stop, or nil while it should keep training.
    public var stopReason: StopReason? { lock.withLock { reason } }

    /// Asks the job to stop; the first reason given is kept.
    public func requestStop(_ why: StopReason = .requested) {
        lock.withLock { if reason == nil { reason = why } }
    }

    /// Stores a progress report (it also counts as a heartbeat).
    public func reportProgress(_ progress: ProgressRecord) throws {
        try JobsError.wrapping("reporting progress of '\(experimentID)'") {
            try store.updateProgress(id: experimentID, progress)
        }
    }
}
