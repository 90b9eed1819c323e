import Foundation
import Storage
import Testing

@Suite struct SessionTouchTests {
    @Test(arguments: StoreKind.allCases)
    func touchSessions_addsStepsInOneWrite_skipsEndedAndUnknown_neverMovesTimeBack(kind: StoreKind) throws {
        try withStore(kind) { store throws in
            let experiment = try store.makeExperiment().id
            let checkpoint = try store.addCheckpoint(NewCheckpoint(epoch: 1, environmentSteps: 10, gradientSteps: 1, path: "c/1.safetensors",
                                                                   sizeBytes: 1), experimentID: experiment).id
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let a = try store.createSession(experimentID: experiment, checkpointID: checkpoint, now: t0)
            let b = try store.createSession(experimentID: experiment, checkpointID: checkpoint, now: t0)
            let ended = try store.createSession(experimentID: experiment, checkpointID: checkpoint, now: t0)
            _ = try store.expireIdleSessions(idleFor: 5, now: t0.addingTimeInterval(1))  // nothing idle yet
            try store.touchSessions([(a.id, 3, t0.addingTimeInterval(20)), (b.id, 1, t0.addingTimeInterval(2))])
            #expect(try store.expireIdleSessions(idleFor: 5, now: t0.addingTimeInterval(10)).sorted() == [b.id, ended.id].sorted())

            try store.touchSessions([(a.id, 2, t0.addingTimeInterval(15)), (ended.id, 7, t0.addingTimeInterval(30)),
                                     ("no-such-session", 1, t0)])
            let touched = try store.session(id: a.id)
            #expect(touched.steps == 5)
            #expect(touched.lastUsedAt == t0.addingTimeInterval(20), "an older time must not move last use back")
            let gone = try store.session(id: ended.id)
            #expect(gone.steps == 0 && !gone.isOpen)
            try store.touchSessions([])
        }
    }
}
