import CSys
import Glibc

/// What the progress display shows at one instant.
public struct ProgressView {
    public struct Row {
        public var name: String
        public var bytesIn: Int
        public var bytesOut: Int
        /// Bytes per second through the node over the recent window.
        public var rate: Double
        /// Fill of the node's output buffer, nil for stdout.
        public var buffered: Int?
        public var highWaterMark: Int?
        /// Shares of the window spent working, starved and blocked, 0 to 1.
        public var busy: Double
        public var starved: Double
        public var blocked: Double
        /// Share of the window spent pacing; nil for a node that never paced.
        public var pacing: Double?
        public var isFinished: Bool
    }

    public var rows: [Row]
    public var elapsed: Double
    public var bytesRead: Int
    /// The size of stdin when it is a regular file: for percent done and ETA.
    public var totalInput: Int?
    public var bottleneck: String?
    public var isFinal: Bool

    /// The lines to draw, each at most `width` columns.
    public func lines(width: Int) -> [String] {
        let nameWidth = max(6, rows.map { $0.name.count }.max() ?? 0)
        var lines = rows.map { row(for: $0, nameWidth: nameWidth) }
        lines.append(summary)
        return lines.map { $0.count > width && width > 0 ? String($0.prefix(width)) : $0 }
    }

    private func row(for r: Row, nameWidth: Int) -> String {
        let name = r.name + String(repeating: " ", count: nameWidth - r.name.count)
        let moved = r.name == "stdin" ? r.bytesOut : r.bytesIn
        var text = "\(name) \(pad(Sizes.human(moved), 10))"
        if r.name != "stdin" && r.name != "stdout" { text += " > \(pad(Sizes.human(r.bytesOut), 10))" } else { text += "   " + String(repeating: " ", count: 10) }
        text += " \(pad(rateText(r.rate), 12))"
        if let buffered = r.buffered, let hwm = r.highWaterMark {
            let fill = min(1, Double(buffered) / Double(hwm))
            let filled = Int((fill * 10).rounded())
            text += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: 10 - filled) + "]"
            text += " \(pad(String(Int((fill * 100).rounded())), 3))%"
        } else {
            text += String(repeating: " ", count: 17)
        }
        text += "  busy \(percent(r.busy)) starved \(percent(r.starved)) blocked \(percent(r.blocked))"
        if let pacing = r.pacing { text += " pacing \(percent(pacing))" }
        if r.isFinished { text += "  done" }
        return text
    }

    private var summary: String {
        var text = "\(clock(elapsed)) elapsed, \(rateText(elapsed > 0 ? Double(bytesRead) / elapsed : 0)) average"
        if let total = totalInput, total > 0 {
            let done = min(1, Double(bytesRead) / Double(total))
            text += ", \(Int((done * 100).rounded(.down)))% of \(Sizes.human(total))"
            if !isFinal && done > 0 && done < 1 {
                text += ", ETA \(clock(elapsed * (1 - done) / done))"
            }
        }
        if let bottleneck { text += ", bottleneck: \(bottleneck)" }
        return text
    }

    private func rateText(_ bytesPerSecond: Double) -> String {
        Sizes.human(Int(bytesPerSecond.rounded())) + "/s"
    }

    private func percent(_ share: Double) -> String {
        pad(String(Int((min(1, max(0, share)) * 100).rounded())), 3) + "%"
    }

    private func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }
}

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
