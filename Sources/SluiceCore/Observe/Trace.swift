import Glibc

/// `--trace FILE`: the run over time. Every interval (100 ms) one sample of every node:
/// bytes in and out, its buffer's fill against its high-water mark, the shares of the
/// interval spent busy, starved, blocked and pacing, and the bottleneck of the interval.
/// As JSON lines, each sample is written as it is taken, so nothing accumulates. A FILE
/// ending in `.svg` gets a picture at exit instead, drawn from a bounded ring of samples
/// (past `maxSamples`, every other one is dropped and the interval doubles), so a
/// day-long run draws in bounded memory.
public final class Trace {
    public struct Sample {
        var seconds: Double
        var bottleneck: String?
        var nodes: [Node]
    }
    public struct Node {
        var bytesIn: Int, bytesOut: Int
        var buffered: Int?, highWaterMark: Int?
        var busy: Double, starved: Double, blocked: Double, pacing: Double
    }

    /// 1,000 samples at most for the picture: more than its width in pixels.
    static let maxSamples = 1000
    private let file: FileDescriptor
    private let isSVG: Bool
    private let labels: [String]
    private let title: String
    public private(set) var intervalNanos: UInt64
    private let pipeline: Pipeline
    private var previous: (time: UInt64, nodes: [NodeSnapshot])?
    /// For the picture only: kept samples, and how many intervals each stands for.
    private var ring: [Sample] = []
    private var stride = 1, skipped = 0

    /// Creates or truncates `path`; an error names it.
    public init(path: String, intervalNanos: UInt64, pipeline: Pipeline, commandLine: String) throws(Errno) {
        file = try FileDescriptor.open(path.rawBytes, flags: O_WRONLY | O_CREAT | O_TRUNC)
        isSVG = path.hasSuffix(".svg")
        labels = pipeline.nodes.map(\.label)
        title = commandLine
        self.intervalNanos = intervalNanos
        self.pipeline = pipeline
    }

    deinit { try? file.close() }

    /// A sample, when an interval has passed since the last (or `force`, at the end).
    public func sample(now: UInt64, force: Bool = false) {
        let nodes = pipeline.nodes.map { $0.snapshot(at: now) }
        guard let (then, before) = previous else {
            previous = (now, nodes)
            return
        }
        // A tick a hair early counts: the waits that time ticks are not exact.
        guard force || now &- then >= intervalNanos * 9 / 10 else { return }
        previous = (now, nodes)
        let sample = Sample(
            seconds: Double(now &- pipeline.startNanos) / 1e9,
            bottleneck: Bottleneck.find(after: nodes, before: before)?.text(labels: labels),
            nodes: nodes.indices.map { i in
                let n = nodes[i], b = before[i]
                // Each counter grows by at most the wall time, but around a node's end the
                // deltas can disagree with it: the shares are of whichever is larger.
                func delta(_ x: UInt64, _ y: UInt64) -> Double { x > y ? Double(x - y) : 0 }
                let spent = delta(n.busyNanos, b.busyNanos) + delta(n.starvedNanos, b.starvedNanos)
                    + delta(n.blockedNanos, b.blockedNanos) + delta(n.pacingNanos, b.pacingNanos)
                let wall = max(delta(n.wallNanos, b.wallNanos), spent)
                func share(_ x: UInt64, _ y: UInt64) -> Double { wall > 0 ? delta(x, y) / wall : 0 }
                let channel = i < pipeline.channels.count ? pipeline.channels[i] : nil
                return Node(bytesIn: n.bytesIn, bytesOut: n.bytesOut,
                            buffered: channel?.currentBufferedBytes, highWaterMark: channel?.highWaterMark,
                            busy: share(n.busyNanos, b.busyNanos), starved: share(n.starvedNanos, b.starvedNanos),
                            blocked: share(n.blockedNanos, b.blockedNanos), pacing: share(n.pacingNanos, b.pacingNanos))
            })
        if isSVG { keep(sample) } else { try? file.writeAll(json(sample)) }
    }

    /// The last sample, and the picture.
    public func finish(now: UInt64) {
        sample(now: now, force: true)
        if isSVG { try? file.writeAll(TracePicture(samples: ring, labels: labels, title: title).svg) }
    }

    private func keep(_ sample: Sample) {
        skipped += 1
        guard skipped >= stride else { return }
        skipped = 0
        ring.append(sample)
        if ring.count >= Self.maxSamples {
            ring = ring.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            stride *= 2
        }
    }

    private func json(_ s: Sample) -> String {
        func share(_ x: Double) -> String { Decimal.format(x, places: 3) }
        func optional(_ n: Int?) -> String { n.map(String.init) ?? "null" }
        let nodes = s.nodes.enumerated().map { i, n in
            "{\"label\": \(JSON.quote(labels[i])), \"bytes_in\": \(n.bytesIn), \"bytes_out\": \(n.bytesOut), "
                + "\"buffered\": \(optional(n.buffered)), \"hwm\": \(optional(n.highWaterMark)), "
                + "\"busy\": \(share(n.busy)), \"starved\": \(share(n.starved)), "
                + "\"blocked\": \(share(n.blocked)), \"pacing\": \(share(n.pacing))}"
        }
        // Microseconds: the last sample, taken at the end, can follow a tick within the same
        // millisecond, and at three places the two had the same time.
        return "{\"t\": \(Decimal.format(s.seconds, places: 6)), "
            + "\"bottleneck\": \(s.bottleneck.map(JSON.quote) ?? "null"), "
            + "\"nodes\": [\(nodes.joined(separator: ", "))]}\n"
    }
}
