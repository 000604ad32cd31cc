import CSys
import Glibc

/// Shows `ProgressView`s on stderr. On a terminal it redraws them in place with ANSI
/// cursor movement, and steps aside (clears its lines) while `Diagnostics` prints a
/// message. Anywhere else (`--progress=force 2> file`) escapes would be garbage, so it
/// appends a plain line (`ProgressView.logLine`) once a second, and the last one at the end.
public final class ProgressDisplay: @unchecked Sendable {
    public enum Style: Sendable {
        /// Lines redrawn in place, for a terminal.
        case redrawn
        /// A line a second, appended, for a file or a pipe.
        case appended
    }

    /// 1 s: often enough to watch a log grow, rare enough to keep it short.
    static let appendedIntervalSeconds = 1.0

    private let diagnostics: Diagnostics
    private let style: Style
    /// Lines currently on screen, protected by `diagnostics.lock`.
    private var drawn: [String] = []
    /// Elapsed seconds at which the next appended line is due; only the monitor's thread
    /// touches it.
    private var nextLineSeconds = ProgressDisplay.appendedIntervalSeconds

    public init(diagnostics: Diagnostics, style: Style) {
        self.diagnostics = diagnostics
        self.style = style
        guard style == .redrawn else { return }
        diagnostics.beforeMessage = { [unowned self] in self.erase() }
        diagnostics.afterMessage = { [unowned self] in self.redraw() }
    }

    /// Shows `view`: redraws it, or appends its line when one is due.
    public func draw(_ view: ProgressView) {
        guard style == .redrawn else {
            guard view.isFinal || view.elapsed >= nextLineSeconds else { return }
            while nextLineSeconds <= view.elapsed { nextLineSeconds += Self.appendedIntervalSeconds }
            diagnostics.write(view.logLine + "\n")
            return
        }
        let width = Int(sluice_terminal_width(2))
        let lines = view.lines(width: width > 0 ? width - 1 : 200)
        diagnostics.lock.lock()
        var text = moveUp()
        for line in lines { text += line + "\u{1B}[K\n" }
        drawn = lines
        Diagnostics.writeStandardError(text)
        diagnostics.lock.unlock()
    }

    /// Cursor back to the first drawn line. Call with the lock held.
    private func moveUp() -> String {
        drawn.isEmpty ? "" : "\r\u{1B}[\(drawn.count)A"
    }

    /// Clears the drawn lines, leaving the cursor where they began (lock held).
    private func erase() {
        guard !drawn.isEmpty else { return }
        Diagnostics.writeStandardError(moveUp() + "\u{1B}[J")
    }

    /// Draws the last lines again below a message (lock held).
    private func redraw() {
        guard !drawn.isEmpty else { return }
        Diagnostics.writeStandardError(drawn.map { $0 + "\u{1B}[K\n" }.joined())
    }
}
