import Glibc

/// The one place that writes to stderr while the pipeline runs: warnings from stages and
/// the progress display take turns under one lock, so a message never lands in the
/// middle of a progress redraw.
public final class Diagnostics: @unchecked Sendable {
    /// Serialises every write to stderr.
    public let lock = Lock()
    /// Called under `lock` before a message is written (the progress display clears its
    /// lines), and after (it redraws). Set once before the pipeline starts.
    public var beforeMessage: (() -> Void)?
    public var afterMessage: (() -> Void)?

    public init() {}

    /// Writes `sluice: WHO: MESSAGE` and a newline.
    public func warn(_ who: String, _ message: String) {
        write("sluice: \(who): \(message)\n")
    }

    /// Writes `text` as is.
    public func write(_ text: String) {
        lock.lock()
        beforeMessage?()
        Diagnostics.writeStandardError(text)
        afterMessage?()
        lock.unlock()
    }

    /// write(2) to fd 2, ignoring failure: there is nowhere left to report it.
    public static func writeStandardError(_ text: String) {
        try? FileDescriptor.standardError.writeAll(text)
    }
}
