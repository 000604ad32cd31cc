import CSys
import Glibc

/// Draws `ProgressView`s on stderr, redrawing in place with ANSI cursor movement, and
/// steps aside (clears its lines) while `Diagnostics` prints a message.
public final class ProgressDisplay: @unchecked Sendable {
    private let diagnostics: Diagnostics
    /// Lines currently on screen, protected by `diagnostics.lock`.
    private var drawn: [String] = []

    public init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
        diagnostics.beforeMessage = { [unowned self] in self.erase() }
        diagnostics.afterMessage = { [unowned self] in self.redraw() }
    }

    /// Replaces what is on screen with `view`.
    public func draw(_ view: ProgressView) {
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
