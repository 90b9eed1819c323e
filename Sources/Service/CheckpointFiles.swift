import AMAGO
import Foundation
import Storage

/// A checkpoint's weights file on this host.
///
/// The trainer writes each file under the data folder and the registrar records it. When hosts
/// share a PostgreSQL store, the registrar also stores the file's bytes in the database
/// (chunked), and a host that lacks the file (an API host, or a worker taking over a job whose
/// host died) fetches it from there into its own data folder, once.
enum CheckpointFiles {
    /// The local file of `checkpoint`, fetched from the database when this host lacks it.
    /// Throws `checkpointFileMissing` when neither the disk nor the database has it.
    static func localFile(of checkpoint: CheckpointRecord, store: Store, dataDirectory: URL) throws -> URL {
        let url = dataDirectory.appendingPathComponent(checkpoint.path)
        if fileSize(url) == checkpoint.sizeBytes { return url }
        guard store.isShared, let bytes = try store.checkpointContent(id: checkpoint.id) else {
            if fileSize(url) != nil { return url }
            throw ServiceError.checkpointFileMissing(id: checkpoint.id)
        }
        try write(bytes, to: url)
        return url
    }

    /// On a shared store, makes the run folder's `latest` checkpoint the newest one recorded,
    /// from the database, when this host's copy is missing or older (the job last ran on another
    /// host). The replay buffer is not restored: it stays on the disk of the host that filled it.
    /// - Returns: the epoch restored, or nil when nothing was fetched.
    @discardableResult
    static func restoreLatest(experimentID: String, run: RunFolder, store: Store, dataDirectory: URL) throws -> Int? {
        guard store.isShared, let newest = try store.latestCheckpoint(experimentID: experimentID) else { return nil }
        if let local = try? Checkpoint.counters(at: run.latestCheckpoint), local.epoch >= newest.epoch { return nil }
        let file = try localFile(of: newest, store: store, dataDirectory: dataDirectory)
        try place(run.latestCheckpoint) { staging in try FileManager.default.copyItem(at: file, to: staging) }
        return newest.epoch
    }

    /// Stores a recorded checkpoint's file in the database when hosts share it.
    static func share(_ checkpoint: CheckpointRecord, file: URL, store: Store) throws {
        guard store.isShared else { return }
        try store.storeCheckpointContent(id: checkpoint.id, bytes: Array(try Data(contentsOf: file)))
    }

    private static func fileSize(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size].flatMap { ($0 as? NSNumber)?.intValue }
    }

    /// Writes whole or not at all: a temporary file renamed into place.
    private static func write(_ bytes: [UInt8], to url: URL) throws {
        try place(url) { staging in try Data(bytes).write(to: staging) }
    }

    /// Makes `url` the file that `fill` writes at a temporary path beside it, by renaming.
    private static func place(_ url: URL, _ fill: (URL) throws -> Void) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        try fill(staging)
        if FileManager.default.fileExists(atPath: url.path) {
            _ = try FileManager.default.replaceItemAt(url, withItemAt: staging)
        } else {
            try FileManager.default.moveItem(at: staging, to: url)
        }
    }
}
