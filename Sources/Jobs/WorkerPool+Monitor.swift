import Foundation
import Storage

extension WorkerPool {
    /// The monitor thread: relays stop requests and sends heartbeats until the workers are gone;
    /// on a shared store it also takes over jobs whose lease expired.
    func monitorLoop() {
        var nextHeartbeat = Date().addingTimeInterval(heartbeatInterval)
        while let running = nextMonitorTick() {
            relayStopRequests(running)
            if Date() >= nextHeartbeat {
                sendHeartbeats(running)
                if store.isShared { reclaimExpiredLeases() }
                nextHeartbeat = Date().addingTimeInterval(heartbeatInterval)
            }
        }
        condition.withLock {
            monitorAlive = false
            condition.broadcast()
        }
    }

    /// Waits one tick; returns the running jobs' controls, or nil when the monitor should end
    /// (shutting down, and every worker finished or the shutdown deadline passed).
    func nextMonitorTick() -> [JobControl]? {
        condition.lock()
        defer { condition.unlock() }
        let until = Date().addingTimeInterval(min(pollInterval, heartbeatInterval))
        while !monitorShouldEnd && Date() < until {
            _ = condition.wait(until: until)
        }
        return monitorShouldEnd ? nil : Array(controls.values)
    }

    /// Whether the monitor has nothing left to watch; call with `condition` locked.
    var monitorShouldEnd: Bool {
        phase == .shuttingDown && (liveWorkers == 0 || Date() >= shutdownDeadline)
    }

    /// Signals jobs whose experiment is `stopping`, or no longer owned by their worker.
    func relayStopRequests(_ running: [JobControl]) {
        for control in running where !control.shouldStop {
            do {
                let experiment = try store.experiment(id: control.experimentID)
                if experiment.status == .stopping {
                    control.requestStop(.requested)
                } else if !experiment.status.isActive || experiment.workerID != control.workerID {
                    control.requestStop(.lostClaim)
                }
            } catch StorageError.notFound(_, _) {
                control.requestStop(.lostClaim)
            } catch {
                report(JobsError.storage(operation: "checking '\(control.experimentID)' for a stop request",
                                         storageError(error)))
            }
        }
    }

    /// Records a heartbeat for every running job; a refused one means the claim was lost.
    func sendHeartbeats(_ running: [JobControl]) {
        for control in running {
            do {
                try store.heartbeat(id: control.experimentID, workerID: control.workerID, lease: lease)
            } catch StorageError.conflict(_), StorageError.notFound(_, _) {
                control.requestStop(.lostClaim)
            } catch {
                report(JobsError.storage(operation: "heartbeat of '\(control.experimentID)'", storageError(error)))
            }
        }
    }
}
