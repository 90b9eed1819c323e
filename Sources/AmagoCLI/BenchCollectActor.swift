import AMAGO
import Environments
import Foundation

/// One client-side actor of `bench collect`: its own environment, its collection session, and
/// the steps it has still to report (after an episode's end: that report, then the reset that
/// starts its next trial), as a user's client of an external environment keeps them.
final class BenchCollectActor {
    let environment: any Environment
    private(set) var session: String?
    /// Step objects (JSON text) not yet sent, in order.
    private(set) var pending: [String]
    /// Environment steps taken.
    private(set) var steps = 0

    init(environment: any Environment, seed: UInt64) {
        self.environment = environment
        pending = []
        pending = [stepJSON(observation: environment.reset(seed: seed), reset: true)]
    }

    /// Hands over every pending step for sending.
    func takePending() -> [String] {
        defer { pending = [] }
        return pending
    }

    /// Hands over the first pending step for sending.
    func takeFirstPending() -> String { pending.removeFirst() }

    /// Reads the answer to one sent step: with an action, steps the environment and queues the
    /// report of its outcome (and after an episode's end the reset). An answer without an
    /// action ended an episode: the reset is already queued.
    func take(_ result: [String: Any]) throws {
        if let id = result["session"] as? String { session = id }
        guard let action = result["action"] as? Int else { return }
        let r = try environment.step(.discrete(action))
        steps += 1
        pending.append(stepJSON(observation: r.observation, reward: r.reward, terminated: r.isTerminated,
                                truncated: r.isTruncated, success: r.info.success))
        if r.isDone { pending.append(stepJSON(observation: environment.reset(seed: nil), reset: true)) }
    }

    /// One element of `steps` (or the step fields of a `/act` body), without braces.
    private func stepJSON(observation: [Float], reward: Double = 0, terminated: Bool = false, truncated: Bool = false,
                          reset: Bool = false, success: Bool? = nil) -> String {
        var text = session.map { #""session":"\#($0)","# } ?? ""
        text += #""observation":[\#(observation.map { "\($0)" }.joined(separator: ","))],"reward":\#(reward)"#
        if terminated { text += #","terminated":true"# }
        if truncated { text += #","truncated":true"# }
        if reset { text += #","reset":true"# }
        if let success { text += #","success":\#(success)"# }
        return text
    }
}

/// Client-side figures of one measured run of `bench collect`.
struct BenchCollectRun {
    var seconds = 0.0, steps = 0, calls = 0
    var clientCPUSeconds = 0.0

    mutating func add(_ other: BenchCollectRun) {
        seconds += other.seconds
        steps += other.steps
        calls += other.calls
        clientCPUSeconds += other.clientCPUSeconds
    }
    var stepsPerSecond: Double { seconds > 0 ? Double(steps) / seconds : 0 }
    var callsPerSecond: Double { seconds > 0 ? Double(calls) / seconds : 0 }
}

extension BenchCollectActor {
    /// The JSON object of an answer; throws with the body unless the status is `status`.
    static func answer(_ reply: (status: Int, body: [UInt8]), of call: String, status: Int = 200) throws -> [String: Any] {
        guard reply.status == status, case let object as [String: Any] = try JSONSerialization.jsonObject(with: Data(reply.body)) else {
            throw BenchCollect.Failure("\(call) answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
        return object
    }

    /// One `POST /act/batch` with `collect: true` carrying every actor's pending steps; steps
    /// each environment with its action. Returns the env steps taken.
    static func batchedStep(_ actors: [BenchCollectActor], client: BenchActClient, experimentID: String) throws -> Int {
        let sent = actors.map { $0.takePending() }
        let steps = sent.flatMap { $0 }.map { "{\($0)}" }.joined(separator: ",")
        let request = BenchActClient.post("/act/batch", json: #"{"experiment":"\#(experimentID)","collect":true,"steps":[\#(steps)]}"#)
        let reply = try answer(try client.send(request), of: "/act/batch")
        guard let results = reply["results"] as? [[String: Any]], results.count == sent.reduce(0, { $0 + $1.count }) else {
            throw BenchCollect.Failure("/act/batch answered without one result per step: \(reply)")
        }
        let before = actors.reduce(0) { $0 + $1.steps }
        var cursor = 0
        for (actor, mine) in zip(actors, sent) {
            for result in results[cursor..<(cursor + mine.count)] { try actor.take(result) }
            cursor += mine.count
        }
        return actors.reduce(0) { $0 + $1.steps } - before
    }

    /// One `POST /act` with `collect: true` for this actor's next pending step. Returns the env
    /// steps taken (0 after the report that ended an episode).
    func singleStep(client: BenchActClient, experimentID: String) throws -> Int {
        let before = steps
        let request = BenchActClient.post("/act", json: #"{"experiment":"\#(experimentID)","collect":true,\#(takeFirstPending())}"#)
        try take(try Self.answer(try client.send(request), of: "/act"))
        return steps - before
    }
}
