import Glibc

/// What one node did over the run, for `--stats`.
public struct NodeReport: Sendable {
    public var name: String
    /// The name, told apart from a stage of the same name (`StageLabels`).
    public var label: String
    public var bytesIn: Int
    public var bytesOut: Int
    /// Water marks and peak of the node's output channel; nil for stdout, which has none.
    public var highWaterMark: Int?
    public var lowWaterMark: Int?
    public var peakBufferedBytes: Int?
    public var busySeconds: Double
    public var starvedSeconds: Double
    public var blockedSeconds: Double
    /// The output buffer's overflow policy (`--when-full`, `--spill`), and the lines and bytes it dropped.
    public var overflow = Overflow.block
    public var droppedRecords = 0
    public var droppedBytes = 0
    /// Bytes the buffer spilled to disk in all, and its largest backlog there; nil
    /// without `--spill`.
    public var spilledBytes: Int?
    public var peakSpillBytes: Int?
    /// What the stage counted of its own (`StageCounters`): gzip's bytes per level.
    public var counters: [String: Int] = [:]
    /// Time spent sleeping to keep a rate (`throttle`), counted in none of the three above.
    public var pacingSeconds: Double
}

/// What the whole run did.
public struct PipelineReport: Sendable {
    public var wallSeconds: Double
    public var peakRSSBytes: Int
    /// The essay's bound, with `baseRSSBytes` added.
    public var memoryBoundBytes: Int
    public var chunkBytes: Int
    /// The limiting node's label, and its index in `nodes`, for JSON.
    public var bottleneck: String?
    public var bottleneckIndex: Int?
    /// The label, with `(pacing)` when it was pacing, for people.
    public var bottleneckText: String?
    public var nodes: [NodeReport]

    /// Resident memory the binary needs before any chunk exists: the static binary's
    /// own pages, thread stacks and zlib tables. Measured at about 3 MiB here; 8 MiB leaves room.
    public static let baseRSSBytes = 8 << 20

    /// A report of the run so far at `endNanos` (a run cut short by a signal), or of the
    /// finished run.
    public init(_ pipeline: Pipeline, endNanos: UInt64? = nil) {
        let end = endNanos ?? pipeline.endNanos
        wallSeconds = Double(end &- pipeline.startNanos) / 1e9
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        peakRSSBytes = Int(usage.ru_maxrss) * 1024
        memoryBoundBytes = Saturating.sum(pipeline.memoryBound, PipelineReport.baseRSSBytes)
        chunkBytes = pipeline.chunkBytes
        let snapshots = pipeline.nodes.map { $0.snapshot(at: end) }
        nodes = pipeline.nodes.indices.map { i in
            let s = snapshots[i]
            let channel = i < pipeline.channels.count ? pipeline.channels[i] : nil
            var report = NodeReport(
                name: pipeline.nodes[i].name, label: pipeline.nodes[i].label, bytesIn: s.bytesIn, bytesOut: s.bytesOut,
                highWaterMark: channel?.highWaterMark, lowWaterMark: channel?.lowWaterMark,
                peakBufferedBytes: channel?.peakBytes,
                busySeconds: Double(s.busyNanos) / 1e9, starvedSeconds: Double(s.starvedNanos) / 1e9,
                blockedSeconds: Double(s.blockedNanos) / 1e9, pacingSeconds: Double(s.pacingNanos) / 1e9)
            report.counters = pipeline.nodes[i].counters.snapshot
            if let channel {
                report.overflow = channel.overflow
                (report.droppedRecords, report.droppedBytes) = channel.dropped
                if let spill = channel.spillCounts { (report.spilledBytes, report.peakSpillBytes) = spill }
            }
            return report
        }
        let labels = pipeline.nodes.map(\.label)
        let limit = Bottleneck.find(after: snapshots)
        bottleneck = limit.map { labels[$0.index] }
        bottleneckIndex = limit?.index
        bottleneckText = limit?.text(labels: labels)
    }

    /// One JSON object on one line.
    public var json: String {
        func seconds(_ s: Double) -> String { Decimal.format(s, places: 6) }
        func optional(_ n: Int?) -> String { n.map(String.init) ?? "null" }
        let stages = nodes.enumerated().map { i, n in
            "{\"name\": \(JSON.quote(n.name)), \"label\": \(JSON.quote(n.label)), \"index\": \(i), "
                + "\"bytes_in\": \(n.bytesIn), \"bytes_out\": \(n.bytesOut), "
                + "\"hwm\": \(optional(n.highWaterMark)), \"lwm\": \(optional(n.lowWaterMark)), "
                + "\"peak_buffered_bytes\": \(optional(n.peakBufferedBytes)), "
                + "\"busy_s\": \(seconds(n.busySeconds)), "
                + "\"blocked_on_input_s\": \(seconds(n.starvedSeconds)), "
                + "\"blocked_on_output_s\": \(seconds(n.blockedSeconds)), "
                + "\"when_full\": \(JSON.quote(n.overflow.name)), "
                + "\"dropped_records\": \(n.droppedRecords), \"dropped_bytes\": \(n.droppedBytes), "
                + "\"spilled_bytes\": \(optional(n.spilledBytes)), \"peak_spill_bytes\": \(optional(n.peakSpillBytes))"
                + levelsJSON(n) + jobsJSON(n) + ", "
                + "\"pacing_s\": \(seconds(n.pacingSeconds))}"
        }
        return "{\"wall_s\": \(seconds(wallSeconds)), \"peak_rss_bytes\": \(peakRSSBytes), "
            + "\"memory_bound_bytes\": \(memoryBoundBytes), \"chunk_bytes\": \(chunkBytes), "
            + "\"bottleneck\": \(bottleneck.map(JSON.quote) ?? "null"), "
            + "\"bottleneck_index\": \(optional(bottleneckIndex)), "
            + "\"stages\": [\(stages.joined(separator: ", "))]}\n"
    }

    /// gzip's `"level_bytes": {"6": N, ...}` (input bytes compressed at each level) and
    /// `"level"` (the last one), when the stage counted them.
    private func levelsJSON(_ n: NodeReport) -> String {
        let levels = n.counters.keys.compactMap { $0.hasPrefix("level_bytes.") ? Int($0.dropFirst(12)) : nil }.sorted()
        guard !levels.isEmpty else { return "" }
        let pairs = levels.map { "\"\($0)\": \(n.counters["level_bytes.\($0)"]!)" }.joined(separator: ", ")
        return ", \"level_bytes\": {\(pairs)}" + (n.counters["level"].map { ", \"level\": \($0)" } ?? "")
    }

    /// `exec -j`'s `"jobs"` (copies at once), `"blocks"` (blocks cut and queued) and
    /// `"commands"` (commands started), when the stage counted them.
    private func jobsJSON(_ n: NodeReport) -> String {
        guard let jobs = n.counters["jobs"] else { return "" }
        return ", \"jobs\": \(jobs), \"blocks\": \(n.counters["blocks"] ?? 0), \"commands\": \(n.counters["commands"] ?? 0)"
    }

    /// An aligned table for people.
    public var table: String {
        // Optional columns only in a run that needs them: pacing (a throttle), drops
        // (a drop policy), spill (--spill).
        let paced = nodes.contains { $0.pacingSeconds > 0 }
        let drops = nodes.contains { $0.overflow.drops }
        let spills = nodes.contains { $0.spilledBytes != nil }
        let header = ["stage", "bytes in", "bytes out", "hwm", "peak buf", "busy", "starved", "blocked"]
            + (paced ? ["pacing"] : []) + (drops ? ["dropped"] : []) + (spills ? ["spilled", "peak disk"] : [])
        var rows = [header]
        for n in nodes {
            rows.append([
                n.label,
                n.name == "stdin" ? "-" : Sizes.human(n.bytesIn),
                n.name == "stdout" ? "-" : Sizes.human(n.bytesOut),
                n.highWaterMark.map(Sizes.human) ?? "-",
                n.peakBufferedBytes.map(Sizes.human) ?? "-",
                Decimal.format(n.busySeconds, places: 3) + "s",
                Decimal.format(n.starvedSeconds, places: 3) + "s",
                Decimal.format(n.blockedSeconds, places: 3) + "s",
            ] + (paced ? [Decimal.format(n.pacingSeconds, places: 3) + "s"] : [])
              + (drops ? [n.overflow.drops ? "\(n.droppedRecords) lines" : "-"] : [])
              + (spills ? [n.spilledBytes.map(Sizes.human) ?? "-", n.peakSpillBytes.map(Sizes.human) ?? "-"] : []))
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var text = ""
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }
            text += cells.joined(separator: "  ") + "\n"
        }
        text += "wall \(Decimal.format(wallSeconds, places: 3))s, peak RSS \(Sizes.human(peakRSSBytes))"
        text += " (bound \(Sizes.human(memoryBoundBytes)))"
        text += ", bottleneck: \(bottleneckText ?? "none (too short to tell)")"
        text += "\n"
        for n in nodes {
            guard let jobs = n.counters["jobs"] else { continue }
            text += "\(n.label): \(n.counters["blocks"] ?? 0) blocks, \(n.counters["commands"] ?? 0) commands, "
                + "\(jobs) at once\n"
        }
        for n in nodes where n.counters["level"] != nil {
            let levels = n.counters.keys.compactMap { $0.hasPrefix("level_bytes.") ? Int($0.dropFirst(12)) : nil }.sorted()
            text += "\(n.label) levels: " + levels.map { "\($0): \(Sizes.human(n.counters["level_bytes.\($0)"]!))" }
                .joined(separator: ", ") + "\n"
        }
        return text
    }
}

/// Minimal JSON string quoting, without Foundation.
public enum JSON {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
