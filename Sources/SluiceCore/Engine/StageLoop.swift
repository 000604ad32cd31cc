/// How a stage's run ended.
public enum StageEnd: Equatable, Sendable {
    /// Input ended and the stage finished its output.
    case finished
    /// The stage wanted no more input (`head`) and finished its output.
    case stopped
    /// Input ended because of an error upstream; output was flushed, and finished only by
    /// a stage that `finishesAfterUpstreamFailure`.
    case aborted
    /// The consumer went away.
    case downstreamClosed
    /// The stage failed with this message; what it made before was flushed.
    case failed(String)
}

/// The loop every stage thread runs, also used by the test harness and the fuzzers so
/// that they exercise exactly what production runs.
public enum StageLoop {
    /// Feeds `input` to `stage` until input ends, the stage stops or fails, or the
    /// consumer goes away; then closes `input` (upstream stops), closes the stage, and
    /// closes `output` with the reason the stream ended. Bytes in and out, and time
    /// starved and blocked, are charged to `stats`.
    public static func run(_ stage: inout any Stage, input: BoundedChannel, output: BoundedChannel,
                           pool: ChunkPool, stats: NodeStats? = nil) -> StageEnd {
        var out = Emitter(channel: output, pool: pool, stats: stats)
        var end = StageEnd.finished
        var inputEnd = StreamEnd.endOfInput
        do throws(StageError) {
            end = try feed(&stage, from: input, into: &out, stats: stats, inputEnd: &inputEnd)
            try out.flush()
        } catch {
            switch error {
            case .downstreamClosed:
                end = .downstreamClosed
                out.discard()
            case .failed(let message):
                end = .failed(message)
                do throws(StageError) { try out.flush() } catch { out.discard() }
            }
        }
        let failure = end.failure
        input.close(reason: failure.map(StreamCancel.downstreamFailed) ?? .cancelled)
        stage.close()
        switch end {
        case .finished, .stopped: output.close(reason: .endOfInput)
        case .aborted: output.close(reason: inputEnd)
        case .failed: output.close(reason: .upstreamFailed(failure!))
        case .downstreamClosed: output.close(reason: .endOfInput)  // nobody is left to read it
        }
        return end
    }

    /// The loop proper: every chunk to `process`, then `finish` at the real end of input
    /// or when the stage stops, and at an aborted end for a stage that asks
    /// (`finishesAfterUpstreamFailure`); never at a cancelled one.
    private static func feed(_ stage: inout any Stage, from input: BoundedChannel, into out: inout Emitter,
                             stats: NodeStats?, inputEnd: inout StreamEnd) throws(StageError) -> StageEnd {
        if try stage.begin(into: &out) == .stop {
            try stage.finish(into: &out)
            return .stopped
        }
        let idleNanos = stage.idleNanos
        // True once `idle` ran in this quiet spell: the next wait has no deadline.
        var isIdleDone = true
        while true {
            // Flush a partial output chunk before waiting, so a trickle of input still
            // comes out promptly (tail -f | sluice grep).
            var deadline: UInt64?
            if !input.hasInputReady {
                try stage.willWait(into: &out)
                if let idleNanos, !isIdleDone { deadline = monotonicNanos() &+ idleNanos }
            }
            switch input.receive(waiter: stats, deadlineNanos: deadline) {
            case .timedOut:
                isIdleDone = true
                try stage.idle(into: &out)
                try out.flush()
            case .chunk(let chunk):
                isIdleDone = false
                stats?.bytesIn.add(chunk.count, ordering: .relaxed)
                if try stage.process(ChunkLease(chunk, pool: out.pool), into: &out) == .stop {
                    try stage.finish(into: &out)
                    return .stopped
                }
            case .ended(.endOfInput):
                try stage.finish(into: &out)
                return .finished
            case .ended(let reason):
                // Upstream failed: what came is all there is. A stage that speaks at the
                // end (tail, grep -c) says what it says of that, as in a shell pipeline;
                // the stream still ends with the failure, so nothing below takes it as whole.
                inputEnd = reason
                if stage.finishesAfterUpstreamFailure { try stage.finish(into: &out) }
                return .aborted
            case .cancelled:
                // Cancelled from below: not the end of the stream, so no finish.
                throw .downstreamClosed
            }
        }
    }
}

extension StageEnd {
    /// The error this end reports upstream, for a stage that failed.
    var failure: SluiceError? {
        if case .failed(let message) = self { return .runtime(message) }
        return nil
    }
}
