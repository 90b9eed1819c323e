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
    /// The history reason (a prefix) of a re-queue after the claim's lease expired; counted with
    /// start-up re-queues.
    public static let leaseRequeueReason = "re-queued after its lease expired"

    /// Moves experiments a dead process left `running` or `stopping` out of that state: on a
    /// SQLite file every active one (this is the only pool), on a shared store those whose
    /// lease has expired.
    ///
    /// `running` ones go back to the queue to resume from their latest checkpoint, unless the
    /// runner says they cannot or they were already found abandoned `maxCrashRecoveries` times
    /// in a row; then they fail with the reason. `stopping` ones may not be re-queued (the user
    /// asked them to stop), so they become `stopped`, resumable from their latest checkpoint.
    func recoverAbandonedJobs() throws -> [RecoveredJob] {
        if store.isShared { return try reclaimExpiredLeasesOrThrow() }
        let abandoned = try JobsError.wrapping("finding abandoned jobs") { try store.activeExperiments() }
        return try abandoned.map { experiment in
            try JobsError.wrapping("recovering '\(experiment.id)'") { try recover(experiment, leaseExpired: false)! }
        }
    }

    /// Takes over the jobs whose lease expired, reporting errors instead of throwing (the monitor).
    func reclaimExpiredLeases() {
        do { _ = try reclaimExpiredLeasesOrThrow() } catch let error as JobsError { report(error) } catch {}
    }

    private func reclaimExpiredLeasesOrThrow() throws -> [RecoveredJob] {
        let now = Date()
        let expired = try JobsError.wrapping("finding expired leases") { try store.activeExperiments(leaseExpiredBefore: now) }
        return try expired.compactMap { experiment in
            try JobsError.wrapping("taking over '\(experiment.id)'") { try recover(experiment, leaseExpired: true) }
        }
    }

    /// Recovers one abandoned experiment; with `leaseExpired`, only if its lease is still
    /// expired under the row's lock (nil when its worker renewed it or another host took it).
    func recover(_ experiment: ExperimentRecord, leaseExpired: Bool) throws -> RecoveredJob? {
        let lastSeen = (experiment.heartbeatAt ?? experiment.updatedAt).formatted(.iso8601)
        let (status, reason) = try decide(experiment, lastSeen: lastSeen, leaseExpired: leaseExpired)
        if leaseExpired {
            guard try store.reclaimExpiredLease(id: experiment.id, workerID: experiment.workerID, to: status,
                                                reason: reason) != nil else { return nil }
        } else if status == .queued {
            try store.requeueAfterCrash(id: experiment.id, reason: reason)
        } else {
            try store.transition(id: experiment.id, to: status, reason: reason, errorMessage: reason)
        }
        return RecoveredJob(experimentID: experiment.id, from: experiment.status, to: status, reason: reason)
    }

    /// The status and reason recovery gives an abandoned experiment.
    func decide(_ experiment: ExperimentRecord, lastSeen: String, leaseExpired: Bool) throws -> (ExperimentStatus, String) {
        let worker = experiment.workerID ?? "an unknown worker"
        let cause = leaseExpired ? "the lease of \(worker) expired" : "the process died while \(worker) was"
        if experiment.status == .stopping {
            let what = leaseExpired ? "stopped: \(cause) while stopping it" : "stopped at restart: \(cause) stopping it"
            return (.stopped, "\(what) (last heartbeat \(lastSeen)); resume continues from the latest checkpoint")
        }
        let previous = try consecutiveCrashRequeues(of: experiment.id)
        if previous >= maxCrashRecoveries {
            return (.failed, "not resumed: its worker died while running this job \(previous + 1) times in a row")
        }
        if case let .fail(reason) = runner.recoveryDecision(for: experiment) {
            return (.failed, "cannot resume after restart: \(reason)")
        }
        if leaseExpired {
            return (.queued, "\(Self.leaseRequeueReason): \(cause) (last heartbeat \(lastSeen))")
        }
        return (.queued, "\(Self.crashRequeueReason): \(cause) running it (last heartbeat \(lastSeen))")
    }

    /// How many recovery re-queues (after a restart or an expired lease) the experiment had
    /// since it last entered the queue otherwise (created, resumed by a user, or put back by a
    /// graceful shutdown).
    func consecutiveCrashRequeues(of id: String) throws -> Int {
        var count = 0
        for change in try store.statusHistory(id: id).reversed() where change.to == .queued {
            guard change.reason.hasPrefix(Self.crashRequeueReason) || change.reason.hasPrefix(Self.leaseRequeueReason)
            else { break }
            count += 1
        }
        return count
    }
}
