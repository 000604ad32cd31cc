import CSys
import Glibc

/// Watches a running pipeline from the main thread, five times a second: keeps a short
/// history of every node's counters, from which it draws the progress display, names
/// the bottleneck over the last two seconds, and fires the stall watchdog.
public final class Monitor {
    /// 200 ms: the display refreshes at most 5 times a second.
    public static let tickNanos: UInt64 = 200_000_000
    /// Readings kept: 2.4 s at 5 a second, the window for rates and the bottleneck.
    private static let historyLength = 12

    private let pipeline: Pipeline
    private let progress: ProgressDisplay?
    /// Nanoseconds without any byte moving before the watchdog fires; nil: never.
    private let stallNanos: UInt64?
    /// The input's size for percent and ETA: as stated (`--size`), else a regular file's.
    private let totalInput: Int?
    private var history: [(time: UInt64, nodes: [NodeSnapshot])] = []
    private var movedBytes = -1
    private var lastMoveNanos: UInt64 = 0
    /// The watchdog's message, once it fired.
    public private(set) var stallMessage: String?
    /// `--trace`: sampled at every tick, which may come faster than the display's.
    private let trace: Trace?
    /// When the display was last drawn: at most every `tickNanos`.
    private var lastDrawNanos: UInt64 = 0

    public init(pipeline: Pipeline, progress: ProgressDisplay?, stallTimeoutSeconds: Double?,
                expectedInputBytes: Int? = nil, trace: Trace? = nil) {
        self.pipeline = pipeline
        self.trace = trace
        self.progress = progress
        stallNanos = stallTimeoutSeconds.map { UInt64($0 * 1e9) }
        totalInput = expectedInputBytes ?? pipeline.inputSize
    }

    /// One reading; false when the watchdog fired (the run must end now).
    public func tick() -> Bool {
        let now = monotonicNanos()
        trace?.sample(now: now)
        // The trace may tick faster; the display and its history keep their own pace.
        if now &- lastDrawNanos < Self.tickNanos * 9 / 10 { return true }
        lastDrawNanos = now
        let nodes = pipeline.nodes.map { $0.snapshot(at: now) }
        history.append((now, nodes))
        if history.count > Self.historyLength { history.removeFirst() }
        progress?.draw(view(now: now, nodes: nodes, isFinal: false))
        return checkStall(now: now, nodes: nodes)
    }

    /// The final drawing, left on screen.
    public func finish() {
        let now = pipeline.endNanos != 0 ? pipeline.endNanos : monotonicNanos()
        let nodes = pipeline.nodes.map { $0.snapshot(at: now) }
        progress?.draw(view(now: now, nodes: nodes, isFinal: true))
        trace?.finish(now: now)
    }

    private func view(now: UInt64, nodes: [NodeSnapshot], isFinal: Bool) -> ProgressView {
        let base = isFinal || history.count < 2 ? nil : history.first
        let elapsed = Double(now &- pipeline.startNanos) / 1e9
        var rows: [ProgressView.Row] = []
        for (i, node) in nodes.enumerated() {
            let before = base?.nodes[i]
            let seconds = base.map { Double(now &- $0.time) / 1e9 } ?? elapsed
            let moved = node.bytesIn - (before?.bytesIn ?? 0)
            let wall = Double(node.wallNanos &- (before?.wallNanos ?? 0))
            func share(_ a: UInt64, _ b: UInt64?) -> Double { wall > 0 ? Double(a &- (b ?? 0)) / wall : 0 }
            let channel = i < pipeline.channels.count ? pipeline.channels[i] : nil
            var notes: [String] = []
            if let channel, channel.overflow.drops { notes.append("dropped \(Decimal.grouped(channel.dropped.records))") }
            if let backlog = channel?.spillBacklogBytes { notes.append("disk \(Sizes.human(backlog))") }
            if let level = pipeline.nodes[i].counters.snapshot["level"] { notes.append("level \(level)") }
            rows.append(ProgressView.Row(
                label: pipeline.nodes[i].label, role: i == 0 ? .reader : i == nodes.count - 1 ? .writer : .stage,
                bytesIn: node.bytesIn, bytesOut: node.bytesOut,
                rate: seconds > 0 ? Double(i == 0 ? node.bytesOut - (before?.bytesOut ?? 0) : moved) / seconds : 0,
                buffered: channel?.currentBufferedBytes, highWaterMark: channel?.highWaterMark,
                busy: share(node.busyNanos, before?.busyNanos), starved: share(node.starvedNanos, before?.starvedNanos),
                blocked: share(node.blockedNanos, before?.blockedNanos),
                pacing: node.pacingNanos > 0 ? share(node.pacingNanos, before?.pacingNanos) : nil,
                isFinished: node.state == .finished, notes: notes))
        }
        let labels = pipeline.nodes.map(\.label)
        let bottleneck = Bottleneck.find(after: nodes, before: base?.nodes)?.text(labels: labels)
        var view = ProgressView(rows: rows, elapsed: elapsed, bytesRead: nodes[0].bytesOut,
                                totalInput: totalInput, bottleneck: bottleneck, isFinal: isFinal)
        // The rate now: over the history window, on the final line too (which ends it).
        if let window = history.count >= 2 || (isFinal && !history.isEmpty) ? history.first : nil,
           now > window.time {
            view.currentRate = Double(nodes[0].bytesOut - window.nodes[0].bytesOut) / (Double(now - window.time) / 1e9)
        } else {
            view.currentRate = view.averageRate
        }
        return view
    }

    private func checkStall(now: UInt64, nodes: [NodeSnapshot]) -> Bool {
        guard let stallNanos else { return true }
        let moved = nodes.reduce(0) { $0 + $1.bytesIn + $1.bytesOut }
        if moved != movedBytes || lastMoveNanos == 0 {
            movedBytes = moved
            lastMoveNanos = now
            return true
        }
        let still = now &- lastMoveNanos
        guard still >= stallNanos else { return true }
        stallMessage = "stalled: no data moved for \(Decimal.format(Double(still) / 1e9, places: 1)) s; "
            + culprit(now: now)
        return false
    }

    /// The node to blame: the one doing its own work (or waiting in read or write) the
    /// longest, else the one blocked the longest, else the one starved the longest.
    private func culprit(now: UInt64) -> String {
        var best: (rank: Int, since: UInt64, index: Int)?
        for (i, stats) in pipeline.nodes.enumerated() {
            let state = stats.state
            let rank: Int
            switch state {
            case .working, .pacing: rank = 0
            case .blocked: rank = 1
            case .starved: rank = 2
            case .finished: continue
            }
            let since = stats.stateSinceNanos.load(ordering: .relaxed)
            if best == nil || rank < best!.rank || (rank == best!.rank && since < best!.since) {
                best = (rank, since, i)
            }
        }
        guard let best else { return "every stage has finished" }
        let name = pipeline.nodes[best.index].label
        let seconds = Decimal.format(Double(now &- best.since) / 1e9, places: 1)
        let doing: String
        switch (best.rank, best.index) {
        case (0, 0): doing = "has been waiting in read(2) for input"
        case (0, pipeline.nodes.count - 1): doing = "has been waiting in write(2) for its reader"
        case (0, _): doing = pipeline.nodes[best.index].state == .pacing ? "has been pacing" : "has been working"
        case (1, _): doing = "has been blocked on output"
        default: doing = "has been waiting for input"
        }
        return "\(name) \(doing) for \(seconds) s"
    }
}
