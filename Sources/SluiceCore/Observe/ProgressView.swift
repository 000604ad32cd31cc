/// What the progress display shows at one instant, and how it fits a terminal's width.
///
/// Every line must fit, or the terminal cuts it and the bottleneck, at the end of the
/// summary, is the first thing lost. So the rows lose their least telling columns first,
/// the same ones on every row so that the columns stay aligned: the starved and blocked
/// shares, then the buffer's fill bar, then the busy and pacing shares, then the bytes
/// out. The label, the bytes moved and the rate stay. The summary drops the average rate,
/// then words, then the clock; the bottleneck stays. Only a terminal too narrow even for
/// that has its lines cut.
public struct ProgressView: Sendable {
    public struct Row: Sendable {
        public enum Role: Sendable { case reader, stage, writer }

        /// The node's label (`stdin`, `gzip`, `exec jq`).
        public var label: String
        public var role: Role
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
        /// What the overload policies are doing, shown after the shares: lines dropped,
        /// the backlog on disk, gzip's current level.
        public var notes: [String] = []

        /// Bytes through the node: read for the reader, received for the others.
        var moved: Int { role == .reader ? bytesOut : bytesIn }
    }

    /// How much of each row is shown: each level drops what matters least of what is left.
    enum Detail: Int, CaseIterable, Comparable {
        case full, noWaits, noBar, noShares, noOutput
        static func < (a: Detail, b: Detail) -> Bool { a.rawValue < b.rawValue }
    }

    public var rows: [Row]
    public var elapsed: Double
    public var bytesRead: Int
    /// The input's expected size (`--size`, or stdin's size when it is a regular file):
    /// for percent done and ETA.
    public var totalInput: Int?
    /// The bottleneck as the user reads it (`gzip`, `throttle (pacing)`).
    public var bottleneck: String?
    public var isFinal: Bool
    /// Bytes read per second over the recent window (the last two seconds or so, up to
    /// the end for the final line), as pv shows its rate; `averageRate` is over the run.
    public var currentRate: Double = 0

    /// Bytes read per second since the start, as `pv -a` shows it.
    var averageRate: Double { elapsed > 0 ? Double(bytesRead) / elapsed : 0 }

    /// The lines to draw, each at most `width` columns.
    public func lines(width: Int) -> [String] {
        let nameWidth = max(6, rows.map { $0.label.count }.max() ?? 0)
        var drawn: [String] = []
        for detail in Detail.allCases {
            drawn = rows.map { row(for: $0, nameWidth: nameWidth, detail: detail) }
            if drawn.allSatisfy({ $0.count <= width }) { break }
        }
        return drawn.map { cut($0, to: width) } + [summary(width: width)]
    }

    func row(for r: Row, nameWidth: Int, detail: Detail) -> String {
        var text = r.label + String(repeating: " ", count: max(0, nameWidth - r.label.count))
        text += " " + pad(Sizes.human(r.moved), 10)
        if detail < .noOutput {
            text += r.role == .stage ? " > " + pad(Sizes.human(r.bytesOut), 10) : String(repeating: " ", count: 13)
        }
        text += " " + pad(rateText(r.rate), 12)
        if detail < .noBar {
            if let buffered = r.buffered, let hwm = r.highWaterMark {
                let fill = min(1, Double(buffered) / Double(hwm))
                let filled = Int((fill * 10).rounded())
                text += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: 10 - filled) + "]"
                text += " \(pad(String(Int((fill * 100).rounded())), 3))%"
            } else {
                text += String(repeating: " ", count: 17)
            }
        }
        if detail < .noShares {
            text += "  busy \(percent(r.busy))"
            if detail < .noWaits { text += " starved \(percent(r.starved)) blocked \(percent(r.blocked))" }
            if let pacing = r.pacing { text += " pacing \(percent(pacing))" }
            for note in r.notes { text += "  " + note }
        }
        if r.isFinished { text += "  done" }
        return text
    }

    /// One line of a log, for stderr that is not a terminal: time, bytes in, the rate of
    /// reading now and on average, bytes out, percent and ETA when the size is known, the
    /// bottleneck. The final line reads the same way. `0:02 elapsed, 59.9 MiB in,
    /// 29.8 MiB/s now, 28.1 MiB/s average, 16.4 MiB out, 23% of 256 MiB, ETA 0:07,
    /// bottleneck: gzip`.
    public var logLine: String {
        let (percentOfTotal, _, eta) = completion
        let pieces: [String?] = [
            "\(clock(elapsed, rounding: .down)) elapsed",
            "\(Sizes.human(bytesRead)) in",
            "\(rateText(currentRate)) now",
            "\(rateText(averageRate)) average",
            "\(Sizes.human(rows.last?.bytesOut ?? 0)) out",
            percentOfTotal, eta, bottleneck.map { "bottleneck: \($0)" },
        ]
        return pieces.compactMap { $0 }.joined(separator: ", ")
    }

    /// `37% of 256 MiB`, `37%` and `ETA 0:06`, when the input's size is known.
    private var completion: (percentOfTotal: String?, percent: String?, eta: String?) {
        guard let total = totalInput, total > 0 else { return (nil, nil, nil) }
        let done = min(1, Double(bytesRead) / Double(total))
        let percent = "\(Int((done * 100).rounded(.down)))%"
        let eta = !isFinal && done > 0 && done < 1 ? "ETA \(clock(elapsed * (1 - done) / done))" : nil
        return ("\(percent) of \(Sizes.human(total))", percent, eta)
    }

    /// The summary line, as much of it as fits `width`, the bottleneck last to go.
    func summary(width: Int) -> String {
        let time = clock(elapsed, rounding: .down)
        let average = "\(rateText(averageRate)) average"
        let (percentOfTotal, percentOnly, eta) = completion
        let limit = bottleneck.map { "bottleneck: \($0)" }
        let variants: [[String?]] = [
            [time + " elapsed", average, percentOfTotal, eta, limit],
            [time + " elapsed", percentOfTotal, eta, limit],
            [time + " elapsed", percentOnly, eta, limit],
            [time, percentOnly, eta, limit],
            [time, percentOnly, limit],
            [percentOnly, limit],
            [limit],
        ]
        let texts = variants.map { $0.compactMap { $0 }.joined(separator: ", ") }.filter { !$0.isEmpty }
        return texts.first { $0.count <= width } ?? cut(texts.last ?? time, to: width)
    }

    private func cut(_ line: String, to width: Int) -> String {
        line.count > width && width > 0 ? String(line.prefix(width)) : line
    }

    func rateText(_ bytesPerSecond: Double) -> String {
        Sizes.human(Int(bytesPerSecond.rounded())) + "/s"
    }

    private func percent(_ share: Double) -> String {
        pad(String(Int((min(1, max(0, share)) * 100).rounded())), 3) + "%"
    }

    private func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// `m:ss` or `h:mm:ss`. Elapsed time counts whole seconds gone, as a clock does (and
    /// so a line a second reads 0:01, 0:02, ...); an ETA is rounded.
    func clock(_ seconds: Double, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> String {
        let s = Int(seconds.rounded(rounding))
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }
}
