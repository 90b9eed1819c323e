/// Whether operations record history for automatic differentiation.
///
/// The flag is task-local (and thread-local outside tasks), so one worker's inference
/// never switches off another worker's training.
public enum GradMode {
    @TaskLocal static var isEnabled = true

    /// Whether operations record gradients on the current task or thread.
    public static var isRecording: Bool { isEnabled }

    /// Runs `body` with gradient recording switched off: results have no history.
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $isEnabled.withValue(false, operation: body)
    }
}

/// Runs `body` with gradient recording switched off (inference, targets).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.withoutGradients(body)
}
