/// How a stage's run ended.
public enum StageEnd: Equatable, Sendable {
    /// Input ended and the stage finished its output.
    case finished
    /// The stage wanted no more input (`head`) and finished its output.
    case stopped
    /// Input ended because of an error upstream; output was flushed, not finished.
    case aborted
    /// The consumer went away.
    case downstreamClosed
    /// The stage failed with this message; what it made before was flushed.
    case failed(String)
}

/// The loop every stage thread runs, also used by the tests' harness so that they
/// exercise exactly what production runs.
public enum StageLoop {
    /// Feeds `input` to `stage` until input ends, the stage stops or fails, or the
    /// consumer goes away; then cancels `input` (upstream stops), closes the stage and
    /// finishes `output` (aborted unless the stream ended whole).
    public static func run(_ stage: inout any Stage, input: BoundedChannel, output: BoundedChannel,
                           pool: ChunkPool) -> StageEnd {
        var out = Emitter(channel: output, pool: pool)
        var end = StageEnd.finished
        do throws(StageError) {
            var isStopped = try stage.begin(into: &out) == .stop
            while !isStopped {
                // Flush a partial output chunk before waiting, so a trickle of input
                // still comes out promptly (tail -f | sluice grep).
                if !input.hasInputReady { try stage.willWait(into: &out) }
                guard let chunk = input.receive() else { break }
                out.didForward = false
                let flow: Flow
                do throws(StageError) {
                    flow = try stage.process(chunk, into: &out)
                } catch {
                    if !out.didForward { pool.recycle(chunk) }
                    throw error
                }
                if !out.didForward { pool.recycle(chunk) }
                isStopped = flow == .stop
            }
            if isStopped {
                end = .stopped
                try stage.finish(into: &out)
            } else if input.isClosed {
                // Input was cancelled from below (the consumer went away and the
                // cancellation cascaded up): not the end of the stream, so no finish.
                throw StageError.downstreamClosed
            } else if input.wasAborted {
                end = .aborted
            } else {
                try stage.finish(into: &out)
            }
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
        input.cancel()
        stage.close()
        output.finish(aborted: end != .finished && end != .stopped)
        return end
    }
}
