import Foundation

// The on-disk format of one trajectory (spec §1.2: the six arrays of a frozen trajectory).
//
// Shape letters: T observations (T ≥ 1), T − 1 transitions, O observation width, R = 1 + A rl2
// width, A action width. All integers and floats are little-endian; floats are stored as their
// IEEE-754 bit patterns, so a round trip is bit-exact (NaN payloads and −0 included).
//
//   offset  size        field
//   0       8           magic, the ASCII bytes "AMAGOTRJ"
//   8       4           format version, UInt32 = 1
//   12      4           reserved, UInt32 = 0
//   16      8           T, UInt64
//   24      8           O, UInt64
//   32      8           R, UInt64
//   40      8           A, UInt64
//   48      4·T·O       observations, Float32, row-major (T, O)
//   …       4·T·R       rl2, Float32, row-major (T, R): reward then previous action
//   …       8·T         time indices, Int64
//   …       4·(T−1)     rewards, Float32
//   …       1·(T−1)     dones, UInt8 (0 or 1; anything else is corrupt)
//   …       4·(T−1)·A   actions, Float32, row-major (T − 1, A)
//   end−8   8           checksum, UInt64: FNV-1a (64-bit) of every preceding byte
//
// The reader checks the magic, the version, that the file length equals the one implied by the
// header, and the checksum; any failure throws `AMAGOError.corruptTrajectoryFile` naming the file.

/// Reads and writes single trajectories in the replay buffer's binary format (see the file header).
public enum TrajectoryFile {
    /// The eight bytes every trajectory file starts with.
    public static let magic = Array("AMAGOTRJ".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    /// File name extension of trajectory files.
    public static let pathExtension = "traj"
    static let headerSize = 48

    /// The file contents for `trajectory`; throws `invalidTrajectory` if its arrays disagree.
    public static func encode(_ trajectory: TrajectorySlice) throws -> Data {
        let (t, o, r, a) = try dimensions(of: trajectory)
        var out = ByteWriter()
        out.bytes.reserveCapacity(expectedSize(t: t, o: o, r: r, a: a) ?? 0)
        out.bytes += magic
        out.append(version)
        out.append(UInt32(0))
        for n in [t, o, r, a] { out.append(UInt64(n)) }
        trajectory.observations.forEach { $0.forEach { out.append($0.bitPattern) } }
        trajectory.rl2.forEach { $0.forEach { out.append($0.bitPattern) } }
        trajectory.timeIndices.forEach { out.append(UInt64(bitPattern: Int64($0))) }
        trajectory.rewards.forEach { out.append($0.bitPattern) }
        out.bytes += trajectory.dones.map { $0 ? 1 : 0 }
        trajectory.actions.forEach { $0.forEach { out.append($0.bitPattern) } }
        out.append(fnv1a(out.bytes[...]))
        return Data(out.bytes)
    }

    /// Parses file contents; `name` only labels errors.
    public static func decode(_ data: Data, name: String) throws -> TrajectorySlice {
        let bytes = [UInt8](data)
        func corrupt(_ reason: String) -> AMAGOError { .corruptTrajectoryFile(file: name, reason: reason) }
        guard bytes.count >= headerSize + 8 else { throw corrupt("only \(bytes.count) bytes, shorter than a header") }
        guard Array(bytes[0..<8]) == magic else { throw corrupt("not a trajectory file (bad magic)") }
        var reader = ByteReader(bytes: bytes, offset: 8)
        let fileVersion = reader.uint32()
        guard fileVersion == version else { throw corrupt("unsupported format version \(fileVersion)") }
        _ = reader.uint32()
        let dims = (0..<4).map { _ in reader.uint64() }
        guard dims.allSatisfy({ $0 < 1 << 40 }), dims[0] >= 1, dims[2] == dims[3] + 1 else {
            throw corrupt("implausible header counts \(dims)")
        }
        let (t, o, r, a) = (Int(dims[0]), Int(dims[1]), Int(dims[2]), Int(dims[3]))
        guard let size = expectedSize(t: t, o: o, r: r, a: a), size == bytes.count else {
            throw corrupt("length \(bytes.count) bytes does not match the header (truncated or padded)")
        }
        let stored = ByteReader(bytes: bytes, offset: bytes.count - 8).peekUInt64()
        guard stored == fnv1a(bytes[0..<(bytes.count - 8)]) else { throw corrupt("checksum mismatch") }
        return try readArrays(&reader, t: t, o: o, r: r, a: a, corrupt: corrupt)
    }

    /// Writes `trajectory` to `url` atomically (a reader never sees a half-written file).
    public static func write(_ trajectory: TrajectorySlice, to url: URL) throws {
        let data = try encode(trajectory)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw AMAGOError.replayStorage(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads the trajectory stored at `url`.
    public static func read(from url: URL) throws -> TrajectorySlice {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AMAGOError.replayStorage(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, name: url.lastPathComponent)
    }

    /// (T, O, R, A) after checking that every array agrees with them.
    static func dimensions(of s: TrajectorySlice) throws -> (Int, Int, Int, Int) {
        let t = s.observations.count
        guard t >= 1 else { throw AMAGOError.invalidTrajectory("no observations") }
        let o = s.observations[0].count, r = s.rl2.first?.count ?? 0, a = r - 1
        guard a >= 0, s.rl2.count == t, s.timeIndices.count == t, s.rewards.count == t - 1, s.dones.count == t - 1,
              s.actions.count == t - 1, s.observations.allSatisfy({ $0.count == o }),
              s.rl2.allSatisfy({ $0.count == r }), s.actions.allSatisfy({ $0.count == a }) else {
            throw AMAGOError.invalidTrajectory("arrays of inconsistent lengths or widths (T = \(t))")
        }
        return (t, o, r, a)
    }

    /// Total file size in bytes, or nil on overflow.
    static func expectedSize(t: Int, o: Int, r: Int, a: Int) -> Int? {
        let parts = [(t, 4 * (o + r) + 8), (t - 1, 4 + 1 + 4 * a)]
        var total = headerSize + 8
        for (count, width) in parts {
            let (product, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, product >= 0 else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }

    private static func readArrays(_ reader: inout ByteReader, t: Int, o: Int, r: Int, a: Int,
                                   corrupt: (String) -> AMAGOError) throws -> TrajectorySlice {
        let observations = (0..<t).map { _ in reader.floats(o) }
        let rl2 = (0..<t).map { _ in reader.floats(r) }
        let timeIndices = (0..<t).map { _ in Int(Int64(bitPattern: reader.uint64())) }
        let rewards = reader.floats(t - 1)
        let doneBytes = (0..<(t - 1)).map { _ in reader.byte() }
        guard doneBytes.allSatisfy({ $0 <= 1 }) else { throw corrupt("a done flag is neither 0 nor 1") }
        let actions = (0..<(t - 1)).map { _ in reader.floats(a) }
        return TrajectorySlice(observations: observations, rl2: rl2, timeIndices: timeIndices,
                               rewards: rewards, dones: doneBytes.map { $0 == 1 }, actions: actions)
    }

    /// FNV-1a, 64-bit: cheap and catches truncation, bit flips and reordering.
    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            hash ^= UInt64(b)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Appends little-endian integers to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads little-endian integers from a byte array whose length was checked beforehand.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    func peekUInt64() -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    mutating func uint64() -> UInt64 {
        defer { offset += 8 }
        return peekUInt64()
    }

    mutating func uint32() -> UInt32 {
        defer { offset += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func floats(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(bitPattern: uint32()) }
    }
}
