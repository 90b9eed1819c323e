import Foundation

/// One attention layer's memory of past keys and values for one-token-at-a-time inference
/// (spec §3.2). Shape letters: N actors, C capacity (the window, `max_seq_len`), H heads,
/// E head width.
///
/// Each step writes the new token's key and value at row `lengths[n]` and attends over rows
/// `0 … lengths[n]`. `advance()` then moves every actor on by one token; an actor whose cache
/// is full drops its oldest row (a sliding window of at most C tokens, the current one
/// included). `reset` empties an actor's cache when its trial ends.
public final class KeyValueCache: @unchecked Sendable {
    /// Actors N, tokens per actor C, heads H and feature width H·E.
    public let actors: Int, capacity: Int, heads: Int, width: Int
    /// (N, C, H·E); rows past an actor's length are NaN so that reading them would be loud.
    var keys: [Float], values: [Float]
    /// Tokens held per actor, before the current step's write.
    public private(set) var lengths: [Int]

    /// An empty cache for `actors` actors of `capacity` tokens of `width = H·E` features.
    public init(actors: Int, capacity: Int, heads: Int, width: Int) throws {
        guard actors > 0, capacity > 0, heads > 0, width % heads == 0 else {
            throw AutogradError.invalidArgument(
                op: "KeyValueCache", message: "needs actors, capacity, heads > 0 and heads dividing width \(width)")
        }
        self.actors = actors; self.capacity = capacity; self.heads = heads; self.width = width
        keys = [Float](repeating: .nan, count: actors * capacity * width)
        values = keys
        lengths = [Int](repeating: 0, count: actors)
    }

    /// Writes this step's keys and values and attends each actor's query over its cached tokens.
    /// - Parameters:
    ///   - query, key, value: (N, 1, H·E)
    /// - Returns: (N, 1, H·E); no gradient is recorded.
    public func attend(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
        try Self.attend(caches: [self], query: query, key: key, value: value)
    }

    /// Attends actors held in several caches of one shape as one batch: the rows of `query`,
    /// `key` and `value` are the caches' actors in order (each actor's arithmetic is the same as
    /// in a cache of its own).
    /// - Parameters:
    ///   - query, key, value: (N, 1, H·E) with N the caches' actors together
    /// - Returns: (N, 1, H·E); no gradient is recorded.
    public static func attend(caches: [KeyValueCache], query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
        guard let first = caches.first,
              caches.allSatisfy({ $0.capacity == first.capacity && $0.heads == first.heads && $0.width == first.width }) else {
            throw AutogradError.invalidArgument(op: "cached attention", message: "needs caches of one capacity, head count and width")
        }
        let (capacity, heads, width) = (first.capacity, first.heads, first.width)
        let total = caches.reduce(0) { $0 + $1.actors }
        let expected = [total, 1, width]
        for t in [query, key, value] where t.shape != expected {
            throw AutogradError.shapeMismatch(op: "cached attention", lhs: expected, rhs: t.shape)
        }
        let e = width / heads
        let scale = 1 / Float(e).squareRoot()
        var out = [Float](repeating: 0, count: total * width)
        var scores = [Float](repeating: 0, count: capacity)
        var row0 = 0  // the first row of the current cache's actors in the batch
        for cache in caches {
            cache.write(key: key, value: value, fromRow: row0)
            cache.keys.withUnsafeBufferPointer { pk in
                cache.values.withUnsafeBufferPointer { pv in
                    query.data.withUnsafeBufferPointer { pq in
                        out.withUnsafeMutableBufferPointer { po in
                            for n in 0..<cache.actors {
                                let used = cache.lengths[n] + 1, r = row0 + n
                                for h in 0..<heads {
                                    let q = pq.baseAddress! + r * width + h * e
                                    let kBase = pk.baseAddress! + n * capacity * width + h * e
                                    let vBase = pv.baseAddress! + n * capacity * width + h * e
                                    var m = -Float.infinity
                                    for t in 0..<used {
                                        let k = kBase + t * width
                                        var dot: Float = 0
                                        for i in 0..<e { dot += q[i] * k[i] }
                                        scores[t] = dot * scale
                                        m = Swift.max(m, scores[t])
                                    }
                                    var sum: Float = 0
                                    for t in 0..<used { scores[t] = Foundation.exp(scores[t] - m); sum += scores[t] }
                                    let o = po.baseAddress! + r * width + h * e
                                    for t in 0..<used {
                                        let w = scores[t] / sum, v = vBase + t * width
                                        for i in 0..<e { o[i] += w * v[i] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            row0 += cache.actors
        }
        return Tensor(unchecked: expected, data: out)
    }

    /// Writes this step's key and value of each actor at its next row; the actors' rows in
    /// `key` and `value` start at `fromRow`.
    func write(key: Tensor, value: Tensor, fromRow: Int) {
        keys.withUnsafeMutableBufferPointer { pk in
            values.withUnsafeMutableBufferPointer { pv in
                key.data.withUnsafeBufferPointer { k in
                    value.data.withUnsafeBufferPointer { v in
                        for n in 0..<actors {
                            let row = (n * capacity + lengths[n]) * width, source = (fromRow + n) * width
                            (pk.baseAddress! + row).update(from: k.baseAddress! + source, count: width)
                            (pv.baseAddress! + row).update(from: v.baseAddress! + source, count: width)
                        }
                    }
                }
            }
        }
    }

    /// Counts the step's token for every actor; full caches slide by one row.
    public func advance() {
        keys.withUnsafeMutableBufferPointer { pk in
            values.withUnsafeMutableBufferPointer { pv in
                for n in 0..<actors {
                    lengths[n] += 1
                    guard lengths[n] == capacity else { continue }
                    let start = n * capacity * width, kept = (capacity - 1) * width
                    for buffer in [pk.baseAddress!, pv.baseAddress!] {
                        (buffer + start).update(from: buffer + start + width, count: kept)  // overlapping: memmove
                        (buffer + start + kept).update(repeating: .nan, count: width)
                    }
                    lengths[n] = capacity - 1
                }
            }
        }
    }

    /// Empties the caches of the actors where `done` is true.
    public func reset(where done: [Bool]) throws {
        guard done.count == actors else {
            throw AutogradError.shapeMismatch(op: "cache reset", lhs: [actors], rhs: [done.count])
        }
        for n in 0..<actors where done[n] { lengths[n] = 0 }
    }
}
