import Foundation

/// The process's resident-set high-water mark (Linux: `VmHWM` of `/proc/self/status`), which
/// `resetPeak` lowers to the current resident size (writing "5" to `/proc/self/clear_refs`).
enum BenchMemory {
    /// Starts a new peak from the current resident size; false where the kernel does not allow it.
    @discardableResult
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// The peak resident size since the start or the last `resetPeak`, in bytes (nil if unknown).
    static func peakBytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return nil }
        return kilobytes * 1024
    }
}
