import AMAGO
import Autograd
import Foundation
import Testing

/// A trajectory of `transitions` steps whose time indices start at `firstTime`, so a sample can
/// be traced back to its source and start index.
func makeTrajectory(transitions n: Int, obsWidth: Int = 3, actions a: Int = 2, firstTime: Int = 0) -> TrajectorySlice {
    TrajectorySlice(
        observations: (0...n).map { i in (0..<obsWidth).map { Float(i) / 4 + Float($0) / 10 + 0.01 } },
        rl2: (0...n).map { i in [Float(i) / 2] + (0..<a).map { $0 == i % a ? 1 : 0 } },
        timeIndices: (0...n).map { firstTime + $0 },
        rewards: (0..<n).map { Float($0 + 1) / 2 },
        dones: (0..<n).map { $0 == n - 1 },
        actions: (0..<n).map { i in (0..<a).map { $0 == (i + 1) % a ? 1 : 0 } })
}

/// A fresh directory under the system's temporary directory, removed by `cleanUp`.
struct TemporaryDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("amago-replay-\(UUID().uuidString)")
    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Spec §9 checklist items 3, 5, 6 and 7: trajectory files, FIFO buffer, slicing, padding.
@Suite struct ReplayTests {
    func bits(_ rows: [[Float]]) -> [[UInt32]] { rows.map { $0.map(\.bitPattern) } }

    @Test func trajectoryFile_roundTripIsBitExact() throws {
        var t = makeTrajectory(transitions: 5)
        t.observations[1] = [.nan, -0.0, .infinity]
        t.observations[2][0] = Float(bitPattern: 0x7FC0_1234)   // NaN with a payload
        t.rl2[3][0] = .leastNonzeroMagnitude
        t.timeIndices[4] = Int(Int64.max)
        t.timeIndices[5] = -7
        t.rewards[2] = -0.0
        t.dones = [true, false, true, false, true]
        let back = try TrajectoryFile.decode(try TrajectoryFile.encode(t), name: "x.traj")
        #expect(bits(back.observations) == bits(t.observations) && bits(back.rl2) == bits(t.rl2))
        #expect(back.timeIndices == t.timeIndices && back.dones == t.dones)
        #expect(back.rewards.map(\.bitPattern) == t.rewards.map(\.bitPattern) && bits(back.actions) == bits(t.actions))
        let lone = TrajectorySlice(observations: [[1]], rl2: [[0, 0]], timeIndices: [0], rewards: [], dones: [], actions: [])
        #expect(try TrajectoryFile.decode(try TrajectoryFile.encode(lone), name: "y").observations == [[1]])
    }

    @Test func trajectoryFile_rejectsInconsistentArrays() throws {
        var t = makeTrajectory(transitions: 4)
        t.rewards.removeLast()
        #expect(throws: AMAGOError.self) { try TrajectoryFile.encode(t) }
    }

    @Test func trajectoryFile_corruptOrTruncatedNamesTheFile() throws {
        let data = try TrajectoryFile.encode(makeTrajectory(transitions: 6))
        var flipped = data
        flipped[70] ^= 0x10
        var badDone = data
        let doneOffset = data.count - 8 - 6 * 2 * 4 - 6
        badDone[doneOffset] = 2
        let cases = [data.prefix(data.count - 1), data.prefix(20), Data(), flipped, data + Data([0]), badDone,
                     Data("NOTATRAJ".utf8) + data.dropFirst(8)]
        for (i, bytes) in cases.enumerated() {
            let error = #expect(throws: AMAGOError.self) { try TrajectoryFile.decode(Data(bytes), name: "case\(i).traj") }
            guard case let .corruptTrajectoryFile(file, _)? = error else { Issue.record("case \(i): \(String(describing: error))"); continue }
            #expect(file == "case\(i).traj")
        }
    }

    @Test func replayBuffer_corruptFileSurfacesAsErrorNamingIt() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 10)
        let bad = buffer.protectedDirectory.appendingPathComponent("broken_00000000_1.000000.traj")
        try Data(try TrajectoryFile.encode(makeTrajectory(transitions: 4)).prefix(60)).write(to: bad)
        _ = try buffer.endCollection()
        let error = #expect(throws: AMAGOError.self) {
            try buffer.sampleSlice(maxSequenceLength: 4, padding: .none, relabeler: nil, using: RandomGenerator(seed: 1))
        }
        #expect(error?.description.contains("broken_00000000_1.000000.traj") == true)
    }

    @Test func replayBuffer_fifoEvictsOldestAndKeepsProtected() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 6)
        let fifo = try (0..<10).map {
            try buffer.add(makeTrajectory(transitions: 3, firstTime: 100 * $0), environmentName: "Maze_Runner",
                           time: Date(timeIntervalSince1970: 1_700_000_000 + Double($0)))
        }
        #expect(fifo.allSatisfy { $0.lastPathComponent.hasPrefix("MazeRunner_") && $0.pathExtension == "traj" })
        let protected = try (0..<2).map { i -> URL in
            let url = buffer.protectedDirectory.appendingPathComponent("demo_0000000\(i)_\(i).traj")
            try TrajectoryFile.write(makeTrajectory(transitions: 2), to: url)
            return url
        }
        let stats = try buffer.endCollection()
        #expect(stats == ReplayStatistics(fifoFiles: 6, protectedFiles: 2, totalFiles: 8, deletedFiles: 4, bytes: stats.bytes))
        let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
        #expect(fifo.prefix(4).allSatisfy { !exists($0) } && fifo.suffix(6).allSatisfy(exists) && protected.allSatisfy(exists))
        let sizes = (fifo.suffix(6) + protected).map { ((try? FileManager.default.attributesOfItem(atPath: $0.path))?[.size] as? NSNumber)?.intValue ?? -1 }
        #expect(stats.bytes == sizes.reduce(0, +))
        #expect(try buffer.endCollection().deletedFiles == 0)
        let resumed = try ReplayBuffer(directory: dir.url, capacity: 6)
        #expect(resumed.fileCount == 8)
        let later = try resumed.add(makeTrajectory(transitions: 1), environmentName: "x", time: Date(timeIntervalSince1970: 0))
        #expect(ReplayBuffer.timestamp(of: later) > ReplayBuffer.timestamp(of: fifo[9]))
    }

    @Test func replayBuffer_removesTemporaryFilesThatACrashLeftButNotOnesBeingWritten() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let fifo = dir.url.appendingPathComponent("fifo")
        try FileManager.default.createDirectory(at: fifo, withIntermediateDirectories: true)
        let stale = fifo.appendingPathComponent(".dat.nosync1234.abcd"), live = fifo.appendingPathComponent(".dat.nosync5678.efgh")
        try Data([1, 2, 3]).write(to: stale)
        try Data([4, 5, 6]).write(to: live)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: stale.path)
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 10)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
        #expect(buffer.fileCount == 0)
    }

    @Test func replayBuffer_readinessNeedsMoreThanMinimumFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 100)
        #expect(!buffer.isReadyForTraining)
        try buffer.add(makeTrajectory(transitions: 3), environmentName: "a")
        #expect(try buffer.endCollection().totalFiles == 1 && !buffer.isReadyForTraining)
        try buffer.add(makeTrajectory(transitions: 3), environmentName: "a")
        #expect(!buffer.isReadyForTraining)   // the file list refreshes at the end of collection
        _ = try buffer.endCollection()
        #expect(buffer.isReadyForTraining && buffer.fileCount == 2)
        #expect(throws: AMAGOError.emptyReplayBuffer) {
            try ReplayBuffer(directory: dir.url.appendingPathComponent("empty"), capacity: 1)
                .sampleSlice(maxSequenceLength: 2, padding: .none, relabeler: nil, using: RandomGenerator(seed: 0))
        }
    }

    @Test func replayBuffer_cacheDropsEvictedFilesAndSamplesOnlyLiveOnes() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 3, cacheFloats: 10_000)
        for i in 0..<8 { try buffer.add(makeTrajectory(transitions: 4, firstTime: 1000 * i), environmentName: "e") }
        #expect(buffer.cachedTrajectories == 8)
        #expect(try buffer.endCollection().deletedFiles == 5)
        #expect(buffer.cachedTrajectories == 3)
        let rng = RandomGenerator(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<200 {
            let s = try buffer.sampleSlice(maxSequenceLength: 10, padding: .none, relabeler: nil, using: rng)
            seen.insert(s.timeIndices[0] / 1000)
            #expect(s.observations.count == 5)
        }
        #expect(seen == [5, 6, 7])
        let small = try ReplayBuffer(directory: dir.url, capacity: 3, cacheFloats: 100)
        for _ in 0..<50 { _ = try small.sampleSlice(maxSequenceLength: 2, padding: .none, relabeler: nil, using: rng) }
        #expect(small.cachedTrajectories == 1)   // 51 floats each: room for one
    }

    @Test func slicing_noneModeStartIsUniform() throws {
        let t = makeTrajectory(transitions: 10)
        let rng = RandomGenerator(seed: 11)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 {
            let s = t.randomSlice(maxSequenceLength: 4, padding: .none, using: rng)
            #expect(s.observations.count == 5 && s.rl2.count == 5 && s.timeIndices.count == 5)
            #expect(s.rewards.count == 4 && s.dones.count == 4 && s.actions.count == 4)
            counts[s.timeIndices[0]] += 1
        }
        let chiSquared = counts.reduce(0.0) { $0 + pow(Double($1) - 10_000, 2) / 10_000 }
        #expect(chiSquared < 22.46)   // χ²(6) at p = 0.001
        let whole = makeTrajectory(transitions: 3).randomSlice(maxSequenceLength: 4, padding: .both, using: rng)
        #expect(whole.timeIndices == [0, 1, 2, 3] && whole.rewards.count == 3)
    }

    @Test func slicing_paddedModesCoverTheDocumentedStarts() throws {
        let rng = RandomGenerator(seed: 5)
        let expected: [PaddedSampling: ClosedRange<Int>] = [.none: 0...6, .left: -3...6, .both: -3...8, .right: 0...8]
        for (mode, range) in expected {
            let starts = Set((0..<4000).map { _ in mode.drawStart(transitions: 10, length: 4, using: rng) })
            #expect(starts == Set(range), "\(mode)")
        }
        #expect(PaddedSampling.right.drawStart(transitions: 2, length: 1, using: rng) == 0)   // randrange(0, 1)
        let t = makeTrajectory(transitions: 10)
        let left = t.window(start: -2, length: 4)
        #expect(left.timeIndices == [0, 1, 2] && left.rewards == [0.5, 1] && left.actions.count == 2)
        let right = t.window(start: 8, length: 4)
        #expect(right.timeIndices == [8, 9, 10] && right.rewards == [4.5, 5] && right.dones == [false, true])
    }

    @Test func sampleBatch_padsWithFourAndMasks() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let buffer = try ReplayBuffer(directory: dir.url, capacity: 10)
        try buffer.add(makeTrajectory(transitions: 2, firstTime: 0), environmentName: "short")
        try buffer.add(makeTrajectory(transitions: 4, firstTime: 0), environmentName: "long")
        _ = try buffer.endCollection()
        let batch = try buffer.sampleBatch(size: 12, maxSequenceLength: 8, padding: .none, relabeler: nil,
                                           discreteActions: true, using: RandomGenerator(seed: 2))
        #expect(batch.length == 5 && batch.batchSize == 12)
        var kinds = Set<Int>()
        for b in 0..<12 {
            let mask = Array(batch.transitionMask[(b * 4)..<(b * 4 + 4)])
            let dones = Array(batch.dones[(b * 4)..<(b * 4 + 4)])
            let obs = Array(batch.observations.data[(b * 15)..<(b * 15 + 15)])
            if mask == [1, 1, 0, 0] {
                kinds.insert(3)
                #expect(obs.suffix(6).allSatisfy { $0 == 4 } && dones == [0, 1, 1, 1])
                #expect(batch.timeIndices[(b * 5 + 3)..<(b * 5 + 5)] == [4, 4] && batch.rewards[b * 4 + 2] == 4)
            } else {
                kinds.insert(5)
                #expect(mask == [1, 1, 1, 1] && dones == [0, 0, 0, 1] && !obs.contains(4))
            }
        }
        #expect(kinds == [3, 5])
    }
}
