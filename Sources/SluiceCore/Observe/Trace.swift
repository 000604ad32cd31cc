import Glibc

/// `--trace FILE`: the run over time. Every interval (100 ms) one sample of every node:
/// bytes in and out, its buffer's fill against its high-water mark, the shares of the
/// interval spent busy, starved, blocked and pacing, and the bottleneck of the interval.
/// As JSON lines, each sample is written as it is taken, so nothing accumulates. A FILE
/// ending in `.svg` gets a picture at exit instead, drawn from a bounded ring of samples
/// (past `maxSamples`, every other one is dropped and the interval doubles), so a
/// day-long run draws in bounded memory. The picture is drawn on every end sluice
/// controls: the run's own end, an error, and SIGINT, SIGTERM or SIGHUP (the signal
/// thread calls `finish`, as it prints `--stats`). It is written to a temporary file
/// beside FILE and renamed over it, so FILE is either the old picture or the whole new
/// one, never half of one.
public final class Trace: @unchecked Sendable {
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
    /// JSON lines: FILE itself. The picture: the temporary file, renamed to FILE at the end.
    private let file: FileDescriptor
    private let isSVG: Bool
    /// FILE's bytes, and the temporary file's (FILE.PID.tmp) for the picture.
    private let path: [UInt8]
    private let temporaryPath: [UInt8]?
    private let labels: [String]
    private let title: String
    public let intervalNanos: UInt64
    private let pipeline: Pipeline
    /// Protects everything below: the main thread samples, and the signal thread may
    /// finish while it does.
    private let lock = Lock()
    private var previous: (time: UInt64, nodes: [NodeSnapshot])?
    /// For the picture only: kept samples, and how many intervals each stands for.
    private var ring: [Sample] = []
    private var stride = 1, skipped = 0
    /// Set by the first `finish`: later samples and finishes do nothing.
    private var isFinished = false

    /// Creates or truncates `path` (for the picture, its temporary file beside it); an
    /// error is the open's, for a message naming `path`.
    public init(path: String, intervalNanos: UInt64, pipeline: Pipeline, commandLine: String) throws(Errno) {
        isSVG = path.hasSuffix(".svg")
        self.path = path.rawBytes
        temporaryPath = isSVG ? path.rawBytes + Array(".\(getpid()).tmp".utf8) : nil
        file = try FileDescriptor.open(temporaryPath ?? self.path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        labels = pipeline.nodes.map(\.label)
        title = commandLine
        self.intervalNanos = intervalNanos
        self.pipeline = pipeline
    }

    deinit { try? file.close() }

    /// A sample, when an interval has passed since the last (or `force`, at the end).
    public func sample(now: UInt64, force: Bool = false) {
        lock.withLock {
            if !isFinished { takeSample(now: now, force: force) }
        }
    }

    private func takeSample(now: UInt64, force: Bool) {
        let nodes = pipeline.nodes.map { $0.snapshot(at: now) }
        // The first interval starts with the run, where every counter is zero: the first
        // sample comes one interval after the start, not two.
        let (then, before) = previous ?? (pipeline.startNanos, nodes.map { _ in NodeSnapshot(wallNanos: 0) })
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

    /// The last sample, and the picture, written whole and renamed into place; once.
    /// A write or rename that fails leaves no temporary file and returns the error.
    @discardableResult
    public func finish(now: UInt64) -> Errno? {
        lock.withLock { () -> Errno? in
            if isFinished { return nil }
            takeSample(now: now, force: true)
            isFinished = true
            guard isSVG, let temporaryPath else { return nil }
            do throws(Errno) {
                try file.writeAll(TracePicture(samples: ring, labels: labels, title: title).svg)
                try FileDescriptor.rename(temporaryPath, to: path)
                return nil
            } catch {
                FileDescriptor.unlink(temporaryPath)
                return error
            }
        }
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
