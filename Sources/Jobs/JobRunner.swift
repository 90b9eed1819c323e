import Foundation
import Storage

/// Trains one experiment on a worker thread; the Service module plugs the AMAGO trainer in here.
///
/// `run` is called on a dedicated thread and may block it for as long as training takes. It
/// should check `control.shouldStop` between steps and, once it is true, write a final
/// checkpoint and return `.stopped`. Throwing (a NaN loss, a bad spec, any exception) fails the
/// experiment with the error's description as its message.
public protocol JobRunner: Sendable {
    /// Trains `job` to completion or until `control.shouldStop`; see `JobOutcome`.
    /// - Parameters:
    ///   - job: the experiment as claimed (status `running`, `workerID` set).
    ///   - control: stop signal, resume flag, thread budget and progress reporting.
    func run(_ job: ExperimentRecord, control: JobControl) throws -> JobOutcome

    /// Decides, at start-up, what to do with a job a dead process left running.
    ///
    /// The default resumes it; a runner that can tell the job cannot continue (say, its spec no
    /// longer parses) returns `.fail(reason:)`.
    func recoveryDecision(for job: ExperimentRecord) -> RecoveryDecision
}

extension JobRunner {
    /// Resumes every abandoned job.
    public func recoveryDecision(for job: ExperimentRecord) -> RecoveryDecision { .resume }
}

/// How a `JobRunner.run` call ended without throwing.
public enum JobOutcome: Equatable, Sendable {
    /// Every epoch was trained; the experiment becomes `succeeded`.
    case completed
    /// Training ended early because `shouldStop` became true, after a final checkpoint. The
    /// experiment becomes `stopped` if a user asked, or `queued` again if the pool is shutting down.
    case stopped
}

/// What crash recovery does with an experiment a dead process left `running`.
public enum RecoveryDecision: Equatable, Sendable {
    /// Put it back in the queue to continue from its latest checkpoint.
    case resume
    /// Mark it `failed` with this reason.
    case fail(reason: String)
}
