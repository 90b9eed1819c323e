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
        // Scores of every head, (H, C): one pass over an actor's cache rows reads each whole row
        // once, in order (the cache of a batch is larger than the processor's caches).
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: heads * capacity)
        defer { scores.deallocate() }
        var row0 = 0  // the first row of the current cache's actors in the batch
        for cache in caches {
            cache.write(key: key, value: value, fromRow: row0)
            cache.keys.withUnsafeBufferPointer { pk in
                cache.values.withUnsafeBufferPointer { pv in
                    query.data.withUnsafeBufferPointer { pq in
                        out.withUnsafeMutableBufferPointer { po in
                            for n in 0..<cache.actors {
                                let used = cache.lengths[n] + 1, r = row0 + n
                                let q = pq.baseAddress! + r * width, o = po.baseAddress! + r * width
                                let kBase = pk.baseAddress! + n * capacity * width, vBase = pv.baseAddress! + n * capacity * width
                                Self.scores(q, kBase, rows: used, heads: heads, width: width, scale: scale,
                                            into: scores, stride: capacity)
                                for h in 0..<heads {
                                    let s = scores + h * capacity
                                    var m = -Float.infinity
                                    for t in 0..<used { m = Swift.max(m, s[t]) }
                                    let inverse = 1 / expShifted(s, s, count: used, shift: m)  // as training's attention
                                    for t in 0..<used { s[t] *= inverse }
                                }
                                for t in 0..<used {
                                    Self.accumulate(vBase + t * width, weights: scores + t, stride: capacity,
                                                    heads: heads, width: width, into: o)
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

    /// `scale · (q_h · k_t,h)` of every head h for `rows` cache rows `k_t = k + t·width`, into
    /// `out[h·stride + t]`, reading each row once and in order. Head widths that are a multiple
    /// of 8 take eight-lane products.
    @inline(__always)
    static func scores(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, rows: Int, heads: Int, width: Int,
                       scale: Float, into out: UnsafeMutablePointer<Float>, stride: Int) {
        let e = width / heads
        for t in 0..<rows {
            let r = k + t * width
            for h in 0..<heads {
                var dot: Float = 0
                if e % 8 == 0 {
                    var lanes = SIMD8<Float>(repeating: 0)
                    for i in Swift.stride(from: h * e, to: h * e + e, by: 8) {
                        lanes += UnsafeRawPointer(q + i).loadUnaligned(as: SIMD8<Float>.self)
                            * UnsafeRawPointer(r + i).loadUnaligned(as: SIMD8<Float>.self)
                    }
                    dot = lanes.sum()
                } else {
                    for i in (h * e)..<(h * e + e) { dot += q[i] * r[i] }
                }
                out[h * stride + t] = dot * scale
            }
        }
    }

    /// `o_h += w_h · v_h` for every head h of one cache row `v` (`w_h = weights[h·stride]`).
    @inline(__always)
    static func accumulate(_ v: UnsafePointer<Float>, weights: UnsafePointer<Float>, stride: Int, heads: Int, width: Int,
                           into o: UnsafeMutablePointer<Float>) {
        let e = width / heads
        for h in 0..<heads {
            let w = weights[h * stride]
            if e % 8 == 0 {
                for i in Swift.stride(from: h * e, to: h * e + e, by: 8) {
                    let sum = UnsafeRawPointer(o + i).loadUnaligned(as: SIMD8<Float>.self)
                        + w * UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(o + i).storeBytes(of: sum, as: SIMD8<Float>.self)
                }
            } else {
                for i in (h * e)..<(h * e + e) { o[i] += w * v[i] }
            }
        }
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
