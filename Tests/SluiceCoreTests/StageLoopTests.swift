import Glibc
import Testing
@testable import SluiceCore

/// A stage that records what the loop asked of it.
final class Probe: @unchecked Sendable {
    let lock = Lock()
    var finished = 0
    var closed = 0
}

struct ProbeStage: Stage {
    let probe: Probe
    mutating func process(_ input: Chunk, into out: inout Emitter) throws(StageError) -> Flow { .more }
    mutating func finish(into out: inout Emitter) throws(StageError) {
        probe.lock.withLock { probe.finished += 1 }
    }
    mutating func close() { probe.lock.withLock { probe.closed += 1 } }
}

@Suite struct StageLoopTests {
    func channels() -> (BoundedChannel, BoundedChannel, ChunkPool) {
        let pool = ChunkPool(chunkBytes: 16, maxIdleChunks: 8)
        let a = NodeStats(name: "a"), b = NodeStats(name: "b"), c = NodeStats(name: "c")
        let input = BoundedChannel(highWaterMark: 64, lowWaterMark: 0, chunkBytes: 16, pool: pool, producer: a, consumer: b)
        let output = BoundedChannel(highWaterMark: 64, lowWaterMark: 0, chunkBytes: 16, pool: pool, producer: b, consumer: c)
        output.upstream = input
        return (input, output, pool)
    }

    /// The consumer going away cascades up as a cancelled input. That is not the end of
    /// the stream: `finish` (a gunzip's "unexpected end", a gzip trailer) must not run.
    @Test func cancelledFromBelowDoesNotFinish() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        let t = Thread { output.cancel() }
        t.join()
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .downstreamClosed)
        #expect(probe.finished == 0)
        #expect(probe.closed == 1)
    }

    @Test func endOfInputFinishesOnce() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        input.finish()
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .finished)
        #expect(probe.finished == 1 && probe.closed == 1)
        #expect(output.receive() == nil && !output.wasAborted)
    }

    @Test func abortedInputDoesNotFinish() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        input.finish(aborted: true)
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .aborted)
        #expect(probe.finished == 0 && probe.closed == 1)
        #expect(output.receive() == nil && output.wasAborted)
    }
}
