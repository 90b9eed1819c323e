import Foundation
import Storage

/// What crash recovery did with one experiment a dead process left active.
public struct RecoveredJob: Equatable, Sendable {
    /// The experiment.
    public var experimentID: String
    /// The status it was found in (`running` or `stopping`).
    public var from: ExperimentStatus
    /// The status it was moved to (`queued`, `stopped` or `failed`).
    public var to: ExperimentStatus
    /// The reason recorded in its history.
    public var reason: String
}

extension WorkerPool {
    /// The history reason (a prefix) of a start-up re-queue; consecutive ones are counted.
    public static let crashRequeueReason = "re-queued after restart"

    /// Moves every experiment left `running` or `stopping` by a dead process out of that state.
    ///
    /// `running` ones go back to the queue to resume from their latest checkpoint, unless the
    /// runner says they cannot or they were already found abandoned `maxCrashRecoveries` times
    /// in a row; then they fail with the reason. `stopping` ones may not be re-queued (the user
    /// asked them to stop), so they become `stopped`, resumable from their latest checkpoint.
    func recoverAbandonedJobs() throws -> [RecoveredJob] {
        let abandoned = try JobsError.wrapping("finding abandoned jobs") { try store.activeExperiments() }
        return try abandoned.map { experiment in
            try JobsError.wrapping("recovering '\(experiment.id)'") { try recover(experiment) }
        }
    }

    /// Recovers one abandoned experiment.
    func recover(_ experiment: ExperimentRecord) throws -> RecoveredJob {
        let lastSeen = (experiment.heartbeatAt ?? experiment.updatedAt).formatted(.iso8601)
        let (status, reason) = try decide(experiment, lastSeen: lastSeen)
        if status == .queued {
            try store.requeueAfterCrash(id: experiment.id, reason: reason)
        } else {
            try store.transition(id: experiment.id, to: status, reason: reason, errorMessage: reason)
        }
        return RecoveredJob(experimentID: experiment.id, from: experiment.status, to: status, reason: reason)
    }

    /// The status and reason recovery gives an abandoned experiment.
    func decide(_ experiment: ExperimentRecord, lastSeen: String) throws -> (ExperimentStatus, String) {
        let worker = experiment.workerID ?? "an unknown worker"
        if experiment.status == .stopping {
            return (.stopped, "stopped at restart: the process died while \(worker) was stopping it "
                    + "(last heartbeat \(lastSeen)); resume continues from the latest checkpoint")
        }
        let previous = try consecutiveCrashRequeues(of: experiment.id)
        if previous >= maxCrashRecoveries {
            return (.failed, "not resumed: the process died while running this job \(previous + 1) times in a row")
        }
        if case let .fail(reason) = runner.recoveryDecision(for: experiment) {
            return (.failed, "cannot resume after restart: \(reason)")
        }
        return (.queued, "\(Self.crashRequeueReason): the process died while \(worker) was running it "
                + "(last heartbeat \(lastSeen))")
    }

    /// How many start-up re-queues the experiment had since it last entered the queue otherwise
    /// (created, resumed by a user, or put back by a graceful shutdown).
    func consecutiveCrashRequeues(of id: String) throws -> Int {
        var count = 0
        for change in try store.statusHistory(id: id).reversed() where change.to == .queued {
            guard change.reason.hasPrefix(Self.crashRequeueReason) else { break }
            count += 1
        }
        return count
    }
}
