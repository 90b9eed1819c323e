import Foundation

extension Agent {
    /// Takes every parameter and buffer of `other` (an agent of the same configuration) and
    /// freezes for inference: this agent becomes an acting copy of `other`'s current policy.
    public func copyWeights(from other: Agent) throws {
        let source = other.namedTensors(), target = namedTensors()
        guard source.count == target.count, zip(source, target).allSatisfy({ $0.name == $1.name && $0.tensor.shape == $1.tensor.shape }) else {
            throw AMAGOError.invalidBatch("copyWeights needs an agent of the same configuration")
        }
        train(true)  // drops what the last freeze precomputed
        for (s, t) in zip(source, target) { try t.tensor.assign(s.tensor.data) }
        try freezeForInference()
    }
}

/// Work run on a thread of its own, joined with `wait()`.
final class BackgroundWork<Value>: @unchecked Sendable {
    // @unchecked: `result` is written once by the worker before `done` is signalled and read
    // only after waiting for it.
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?
    private var joined = false

    init(_ body: @escaping () throws -> Value) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for the work to end and returns what it returned (or throws what it threw).
    func wait() throws -> Value {
        if !joined {
            done.wait()
            joined = true
        }
        return try result!.get()
    }
}
