import Foundation
import Storage

extension WorkerPool {
    /// One worker thread: claim, run, record the outcome, until the pool shuts down.
    func workerLoop(workerID: String) {
        while condition.withLock({ phase == .running }) {
            let claimed: ExperimentRecord?
            do {
                claimed = try store.claimNext(workerID: workerID, lease: lease, skipping: skippedEnvironments)
            } catch {
                report(JobsError.storage(operation: "claiming a job", storageError(error)))
                claimed = nil
            }
            if let job = claimed {
                run(job, workerID: workerID)
            } else {
                waitForWork()
            }
        }
        condition.withLock {
            liveWorkers -= 1
            condition.broadcast()
        }
    }

    /// Sleeps until `pollInterval` passes, `wake()` is called, or the pool shuts down.
    func waitForWork() {
        condition.lock()
        defer { condition.unlock() }
        let generation = wakeups
        let until = Date().addingTimeInterval(pollInterval)
        while phase == .running && wakeups == generation {
            if !condition.wait(until: until) { return }
        }
    }

    /// Runs one claimed job and records how it ended.
    func run(_ job: ExperimentRecord, workerID: String) {
        let control = JobControl(experimentID: job.id, workerID: workerID, isResuming: hasRunBefore(job),
                                 threadsPerJob: threadsPerJob, store: store)
        let registered = condition.withLock {
            guard phase == .running else { return false }
            controls[job.id] = control
            return true
        }
        guard registered else {
            // Shutdown began between the claim and now: give the job back without starting it.
            control.requestStop(.shutdown)
            finish(job, control: control, result: .success(.stopped))
            return
        }
        let result = Result { try runner.run(job, control: control) }
        finish(job, control: control, result: result)
        condition.withLock { controls[job.id] = nil }
    }

    /// Whether the experiment was claimed before this claim (so it may have a checkpoint).
    func hasRunBefore(_ job: ExperimentRecord) -> Bool {
        do {
            return try store.statusHistory(id: job.id).filter { $0.to == .running }.count > 1
        } catch {
            report(JobsError.storage(operation: "reading the history of '\(job.id)'", storageError(error)))
            return true  // resuming without a checkpoint starts fresh; the reverse would lose work
        }
    }

    /// Moves the experiment to the status its outcome calls for, unless this worker lost it.
    ///
    /// The status is re-read on a concurrent change (a stop request landing as the job ends).
    func finish(_ job: ExperimentRecord, control: JobControl, result: Result<JobOutcome, Error>) {
        for attempt in 1...3 {
            do {
                let current = try store.experiment(id: job.id)
                guard current.status.isActive, current.workerID == control.workerID else { return }
                let step = nextStep(after: result, from: current.status, control: control)
                try store.transition(id: job.id, to: step.status, reason: step.reason, errorMessage: step.message)
                return
            } catch StorageError.conflict(_) where attempt < 3 {
                continue
            } catch StorageError.notFound(_, _) {
                return  // deleted meanwhile; nothing left to record
            } catch {
                report(JobsError.storage(operation: "recording the end of '\(job.id)'", storageError(error)))
                return
            }
        }
    }

    /// The transition that records `result` for an experiment now in `status`.
    func nextStep(after result: Result<JobOutcome, Error>, from status: ExperimentStatus,
                  control: JobControl) -> (status: ExperimentStatus, reason: String, message: String?) {
        switch result {
        case .success(.completed):
            return (.succeeded, "completed", nil)
        case .success(.stopped) where status == .stopping:
            return (.stopped, "stopped on request", nil)
        case .success(.stopped):
            let shuttingDown = control.stopReason == .shutdown || condition.withLock { phase == .shuttingDown }
            return shuttingDown ? (.queued, Self.shutdownReason, nil) : (.stopped, "stopped by the trainer", nil)
        case let .failure(error):
            let message = Self.describe(error)
            return (.failed, "failed: \(message)", message)
        }
    }

    /// The message stored for a runner's error: its localized or plain description.
    static func describe(_ error: Error) -> String {
        if let localized = (error as? LocalizedError)?.errorDescription, !localized.isEmpty { return localized }
        let text = String(describing: error)
        return text.isEmpty ? "\(type(of: error))" : text
    }

    /// The `StorageError` inside `error` (every Store method throws one).
    func storageError(_ error: Error) -> StorageError {
        error as? StorageError ?? .database(message: "\(error)", sql: nil)
    }
}
