/// `--stats=hadoop`: what each node did, as Hadoop Streaming reads it from a task's
/// stderr. A line `reporter:counter:GROUP,COUNTER,AMOUNT` adds AMOUNT to a job counter;
/// `reporter:status:MESSAGE` sets the task's status and counts as progress, so a long
/// task that keeps reporting is not killed as idle.
///
/// The counters, all in group `sluice`, are named `NODE.FIELD`. NODE is `stdin`, a
/// stage's label or `stdout`, exactly as `--stats` names them (a name used more than
/// once is told apart: `grep#1`, `grep#2`, `exec jq`), with any comma, which would end
/// the counter's name in the line Hadoop splits, made `_`. FIELD is `bytes_in`,
/// `bytes_out`, `busy_ms`, `starved_ms` and `blocked_ms` for every node, and
/// `dropped_records`, `dropped_bytes` and `spilled_bytes` for a node with an output
/// buffer (all but `stdout`).
///
/// Every `periodNanos`, the counters that moved are emitted as increments, with a status
/// naming the bottleneck of that period; at exit every counter is emitted once more, with
/// what remains, and a final status. An increment is the total now less the total already
/// emitted, so the increments of a run sum exactly to its final totals, the values
/// `--stats=json` prints: bytes as they are, times as the whole milliseconds of the
/// microseconds the JSON shows. A time read while a node changes state can be overstated
/// by that change; the next emission corrects it, so a time increment may, rarely, be
/// negative.
public final class HadoopCounters {
    /// The counter group of every counter sluice emits.
    public static let group = "sluice"
    /// 3 s: how often a Hadoop task reports its progress and counters to the job; a
    /// shorter period would not be seen sooner.
    public static let periodNanos: UInt64 = 3_000_000_000

    private let pipeline: Pipeline
    private let diagnostics: Diagnostics
    /// The node names as counters show them, unique.
    private let labels: [String]
    /// What has been emitted of each counter so far, by counter name.
    private var emitted: [String: Int] = [:]
    /// When the last emission was, and the readings it was made from.
    private var lastEmitNanos: UInt64
    private var lastSnapshots: [NodeSnapshot]?

    public init(pipeline: Pipeline, diagnostics: Diagnostics) {
        self.pipeline = pipeline
        self.diagnostics = diagnostics
        labels = pipeline.nodes.map { HadoopCounters.counterName($0.label) }
        lastEmitNanos = monotonicNanos()
    }

    /// A node's label as a counter name: Hadoop splits `GROUP,COUNTER,AMOUNT` at its
    /// commas, so a comma (from an exec command's name) becomes `_`.
    static func counterName(_ label: String) -> String {
        String(label.map { $0 == "," ? "_" : $0 })
    }

    /// Called on every monitor tick: emits when a period has passed since the last time.
    public func tick() {
        let now = monotonicNanos()
        guard now &- lastEmitNanos >= Self.periodNanos else { return }
        lastEmitNanos = now
        let snapshots = pipeline.nodes.map { $0.snapshot(at: now) }
        let bottleneck = Bottleneck.find(after: snapshots, before: lastSnapshots)?.text(labels: labels)
        lastSnapshots = snapshots
        let report = PipelineReport(pipeline, endNanos: now)
        let elapsed = Decimal.format(report.wallSeconds, places: 0)
        diagnostics.write(lines(report, includesUnchanged: false)
            + status("running \(elapsed) s", report, bottleneck: bottleneck))
    }

    /// At exit, the remainder of every counter and the final status, from `report`, the
    /// run's own (the one `--stats=json` prints).
    public func finish(_ report: PipelineReport) {
        let snapshots = pipeline.nodes.map { $0.snapshot(at: pipeline.endNanos) }
        let bottleneck = Bottleneck.find(after: snapshots)?.text(labels: labels)
        diagnostics.write(lines(report, includesUnchanged: true) + status("done", report, bottleneck: bottleneck))
    }

    /// The counters of `report`, in node order, each with its total.
    public func totals(_ report: PipelineReport) -> [(name: String, total: Int)] {
        var totals: [(String, Int)] = []
        for (label, node) in zip(labels, report.nodes) {
            var fields = [("bytes_in", node.bytesIn), ("bytes_out", node.bytesOut),
                          ("busy_ms", Self.milliseconds(node.busySeconds)),
                          ("starved_ms", Self.milliseconds(node.starvedSeconds)),
                          ("blocked_ms", Self.milliseconds(node.blockedSeconds))]
            if node.highWaterMark != nil {
                fields += [("dropped_records", node.droppedRecords), ("dropped_bytes", node.droppedBytes),
                           ("spilled_bytes", node.spilledBytes ?? 0)]
            }
            totals += fields.map { ("\(label).\($0.0)", $0.1) }
        }
        return totals
    }

    /// Whole milliseconds of `seconds` as `--stats=json` prints it, in microseconds
    /// rounded half away from zero (`Decimal.format(_, places: 6)`).
    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0, seconds < 9e12 else { return 0 }
        return Int((seconds * 1e6).rounded()) / 1000
    }

    /// One `reporter:counter:` line per counter whose total moved since the last
    /// emission (per counter, with `includesUnchanged`), recording what was emitted.
    private func lines(_ report: PipelineReport, includesUnchanged: Bool) -> String {
        var text = ""
        for (name, total) in totals(report) {
            let increment = total &- emitted[name, default: 0]
            guard increment != 0 || includesUnchanged else { continue }
            emitted[name] = total
            text += "reporter:counter:\(Self.group),\(name),\(increment)\n"
        }
        return text
    }

    private func status(_ state: String, _ report: PipelineReport, bottleneck: String?) -> String {
        let read = report.nodes.first?.bytesIn ?? 0, written = report.nodes.last?.bytesOut ?? 0
        var text = "reporter:status:sluice \(state): \(Sizes.human(read)) read, \(Sizes.human(written)) written"
        if let bottleneck { text += ", bottleneck: \(bottleneck)" }
        return text + "\n"
    }
}
