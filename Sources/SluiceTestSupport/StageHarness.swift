import Glibc
#if canImport(SluiceCore)
// The fuzz builds compile these sources into one module with the core's; `swift test`
// links them as a module of their own, which the shipped binary never contains.
import SluiceCore
#endif

// Used by the unit tests and the fuzz targets, so that both drive stages through the
// very loop production runs.

/// Runs one stage exactly as the pipeline does (`StageLoop.run` on a channel fed by a
/// producer thread and drained by a consumer thread), with input cut into `chunkSize`
/// pieces and output chunks of the same capacity.
public enum StageHarness {
    public struct Result: Sendable {
        public var output: [UInt8]
        public var end: StageEnd
        /// Bytes of input the feeder managed to send before the stage stopped reading.
        public var bytesSent: Int
        /// The largest output chunk seen.
        public var largestChunk: Int
        /// With `stallsCollector`: what the feeder had sent when backpressure held it (or
        /// when it was done), before the collector took anything.
        public var bytesSentWhileStalled: Int?
        /// What the stage found (`Stage.verdict`), read after its run as the pipeline does.
        public var verdict: Verdict?
    }

    /// `outputLimit`: the collector stops (and the stage sees its consumer go away) once
    /// it holds that many bytes, so a fuzzer's gzip bomb cannot exhaust memory.
    ///
    /// `stallsCollector`: the collector takes nothing until the stage is blocked on its
    /// output (or finished) and then the feeder is blocked on its input (or done); from
    /// there nothing can move until the collector reads, so `bytesSentWhileStalled` is
    /// all the input a stage consumes while its consumer does not read. Then it reads
    /// on as usual. Meant for stages whose only wait for room is on their output.
    public static func run(_ stage: any Stage, input: [UInt8], chunkSize: Int,
                           highWaterMark: Int? = nil, outputLimit: Int = Int.max,
                           stallsCollector: Bool = false) -> Result {
        var stage = stage
        return run(&stage, input: input, chunkSize: chunkSize, highWaterMark: highWaterMark,
                   outputLimit: outputLimit, stallsCollector: stallsCollector)
    }

    /// `run`, leaving `stage` as the run left it (closed), for a test that looks at what
    /// the stage held on the way.
    public static func run<S: Stage>(_ stage: inout S, input: [UInt8], chunkSize: Int) -> Result {
        var any: any Stage = stage
        defer { stage = any as! S }
        return run(&any, input: input, chunkSize: chunkSize, highWaterMark: nil, outputLimit: Int.max,
                   stallsCollector: false)
    }

    private static func run(_ stage: inout any Stage, input: [UInt8], chunkSize: Int,
                            highWaterMark: Int?, outputLimit: Int, stallsCollector: Bool) -> Result {
        let hwm = highWaterMark ?? max(4 * chunkSize, 16)
        let pool = ChunkPool(chunkBytes: chunkSize, maxIdleChunks: 64)
        let marks = WaterMarks(highWaterMark: hwm, lowWaterMark: hwm / 2, chunkBytes: chunkSize)
        let inChannel = BoundedChannel(marks, pool: pool)
        let outChannel = BoundedChannel(marks, pool: pool)
        let box = Box()
        // Each wait begun, and each end, wakes the collector to look at the states again.
        let wake: @Sendable (NodeState) -> Void = { _ in box.lock.withLock { box.changed.broadcast() } }
        let feederStats = NodeStats(name: "feeder", onWait: wake)
        let stageStats = NodeStats(name: "stage", onWait: wake)
        feederStats.begin()
        stageStats.begin()
        let feeder = Thread {
            var offset = 0
            while offset < input.count {
                let chunk = pool.take()
                let n = input[offset...].prefix(chunkSize).withUnsafeBytes { chunk.append($0) }
                offset += n
                if case .closed = inChannel.send(chunk, waiter: feederStats) { break }
                box.lock.withLock { box.sent = offset }
            }
            inChannel.close(reason: .endOfInput)
            feederStats.end()
            wake(.finished)
        }
        let collector = Thread {
            if stallsCollector {
                // The stage first: once it is blocked on its output only this thread can
                // release it, so a feeder then seen blocked stays blocked. A state is
                // stored before the wake that tells of it, and the wake takes the lock
                // this looks under: none is missed.
                func isStuck(_ state: NodeState) -> Bool { state == .blocked || state == .finished }
                box.lock.withLock {
                    while !(isStuck(stageStats.state) && isStuck(feederStats.state)) { box.changed.wait(box.lock) }
                    box.sentWhileStalled = box.sent
                }
            }
            var out: [UInt8] = []
            var largest = 0
            while case .chunk(let chunk) = outChannel.receive() {
                out.append(contentsOf: chunk.bytes)
                largest = max(largest, chunk.count)
                pool.recycle(chunk)
                if out.count > outputLimit {
                    outChannel.close(reason: .cancelled)
                    break
                }
            }
            box.lock.withLock { box.output = out; box.largest = largest }
        }
        let end = StageLoop.run(&stage, input: inChannel, output: outChannel, pool: pool, stats: stageStats)
        let verdict = stage.verdict
        stageStats.end()
        wake(.finished)
        feeder.join()
        collector.join()
        return box.lock.withLock {
            Result(output: box.output, end: end, bytesSent: box.sent, largestChunk: box.largest,
                   bytesSentWhileStalled: box.sentWhileStalled, verdict: verdict)
        }
    }

    /// The chunk sizes every stage case runs at: boundaries break stream code.
    public static let chunkSizes = [1, 2, 3, 7, 4096, 65536]

    /// Runs a fresh stage from `make` at every size in `sizes`, and returns the
    /// results (callers assert they are all identical and right).
    public static func runAtAllSizes(_ input: [UInt8], sizes: [Int] = StageHarness.chunkSizes,
                                     _ make: () -> any Stage) -> [Int: Result] {
        var results: [Int: Result] = [:]
        for size in sizes { results[size] = run(make(), input: input, chunkSize: size) }
        return results
    }

    /// Its fields, under `lock`; `changed` is signalled with it.
    private final class Box: @unchecked Sendable {
        let lock = Lock()
        let changed = Condition()
        var output: [UInt8] = []
        var sent = 0
        var sentWhileStalled: Int?
        var largest = 0
    }
}
