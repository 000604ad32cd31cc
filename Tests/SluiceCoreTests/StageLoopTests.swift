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
    mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow { .more }
    mutating func finish(into out: inout Emitter) throws(StageError) {
        probe.lock.withLock { probe.finished += 1 }
    }
    mutating func close() { probe.lock.withLock { probe.closed += 1 } }
}

@Suite struct StageLoopTests {
    func channels() -> (BoundedChannel, BoundedChannel, ChunkPool) {
        let pool = ChunkPool(chunkBytes: 16, maxIdleChunks: 8)
        let marks = WaterMarks(highWaterMark: 64, lowWaterMark: 0, chunkBytes: 16)
        let input = BoundedChannel(marks, pool: pool)
        let output = BoundedChannel(marks, pool: pool)
        output.upstream = input
        return (input, output, pool)
    }

    /// The consumer going away cascades up as a cancelled input. That is not the end of
    /// the stream: `finish` (a gunzip's "unexpected end", a gzip trailer) must not run.
    @Test func cancelledFromBelowDoesNotFinish() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        let t = Thread { output.close(reason: .cancelled) }
        t.join()
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .downstreamClosed)
        #expect(probe.finished == 0)
        #expect(probe.closed == 1)
    }

    @Test func endOfInputFinishesOnce() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        input.close(reason: .endOfInput)
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .finished)
        #expect(probe.finished == 1 && probe.closed == 1)
        guard case .ended(.endOfInput) = output.receive() else {
            Issue.record("a finished stage ends its output whole")
            return
        }
    }

    @Test func abortedInputDoesNotFinish() {
        let (input, output, pool) = channels()
        let probe = Probe()
        var stage: any Stage = ProbeStage(probe: probe)
        input.close(reason: .upstreamFailed(.runtime("stdin: Input/output error")))
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .aborted)
        #expect(probe.finished == 0 && probe.closed == 1)
        // The reason is passed on down, unchanged.
        guard case .ended(.upstreamFailed(.runtime("stdin: Input/output error"))) = output.receive() else {
            Issue.record("an aborted stage passes the failure down")
            return
        }
    }
}
