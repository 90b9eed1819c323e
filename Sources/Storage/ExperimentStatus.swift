import Foundation

/// The life-cycle state of an experiment.
///
/// The allowed moves (see `canTransition(to:)`):
/// `queued → running | cancelled`, `running → succeeded | failed | stopping | stopped | queued`
/// (the last one is crash-recovery re-queueing), `stopping → stopped | failed | succeeded`,
/// and `stopped | failed → queued` (resume).
public enum ExperimentStatus: String, CaseIterable, Sendable, Codable {
    /// Waiting for a worker.
    case queued
    /// A worker is training it.
    case running
    /// A graceful stop was requested; the worker is finishing its step and checkpointing.
    case stopping
    /// Training finished every epoch.
    case succeeded
    /// Training ended with an error (see the experiment's `errorMessage`).
    case failed
    /// Training was stopped on request after a final checkpoint.
    case stopped
    /// Removed from the queue before it ever ran.
    case cancelled

    /// The statuses this one may move to.
    public var allowedNextStatuses: Set<ExperimentStatus> {
        switch self {
        case .queued: return [.running, .cancelled]
        case .running: return [.succeeded, .failed, .stopping, .stopped, .queued]
        case .stopping: return [.stopped, .failed, .succeeded]
        case .stopped, .failed: return [.queued]
        case .succeeded, .cancelled: return []
        }
    }

    /// Whether the transition graph allows moving from this status to `next`.
    public func canTransition(to next: ExperimentStatus) -> Bool {
        allowedNextStatuses.contains(next)
    }

    /// Whether a worker owns the experiment (it may not be deleted in this state).
    public var isActive: Bool { self == .running || self == .stopping }

    /// Whether no worker will touch the experiment again unless it is resumed.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .stopped, .cancelled: return true
        case .queued, .running, .stopping: return false
        }
    }
}
