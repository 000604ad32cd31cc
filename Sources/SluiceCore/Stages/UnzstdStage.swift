import CZstd

/// `unzstd`: decompresses zstd input, frame after frame (skippable and legacy frames
/// too), as `zstd -dc` does, through the same libzstd. A frame whose window is over
/// 128 MiB is refused unless `--long=WLOG` or `--memory SIZE` allows it.
///
/// With threads (`-p`), frames of bounded size (pzstd's, `zstd -p`'s) are decoded side
/// by side by a `ParallelFrameDecoder` and written in order; every other frame, and each
/// frame the threads could not decode exactly, by the sequential `FrameDecoder`, so that
/// errors, their offsets and the output before them are those of one thread. The two
/// never overlap: before the sequential decoder makes output, every job in flight is
/// written; an error it raises waits for them too (`settled`), so the earliest error in
/// the stream is the one reported.
///
/// The sequential decoder's output goes through a `FrameChecker` thread, which verifies
/// each frame's checksum and forwards the chunks downstream, as gunzip's CRC-32 (on one
/// core, `checksInline`, libzstd verifies it as it decodes). Before a job's output is
/// written, the checker's is settled: checked and forwarded.
public struct UnzstdStage: Stage {
    /// The sequential decoder; its `emittedBytes` are the bytes sent into `inner`.
    private var decoder: FrameDecoder
    /// Verifies the sequential decoder's checksums on its own thread and forwards its
    /// output; from `begin`. Nil when libzstd checks inline.
    private var checker: FrameChecker?
    private let checksInline: Bool
    /// The sequential decoder's output goes here: into the checker's inbox, or with
    /// `checksInline` the stage's `out` itself.
    private var inner: Emitter!
    /// `decoder.emittedBytes` when the checker last forwarded everything.
    private var settledBytes = 0
    private let diagnostics: Diagnostics?
    private let threads: Int
    private let poolWorkers: Int?
    /// Decodes eligible frames on worker threads; from `begin`, with threads, until a job
    /// did not decode exactly.
    private var parallel: ParallelFrameDecoder?
    /// The frame being copied into a job, and where it stands.
    private var collecting: (job: ParallelFrameDecoder.Job, walker: BlockWalker)?

    /// - Parameters:
    ///   - checksInline: libzstd verifies the checksums as it decodes, rather than a
    ///     thread of their own (the command line's choice on a machine of one core).
    ///   - poolWorkers: threads the parallel decoder starts besides the stage's own
    ///     (default `threads - 1`); with 0 the stage's thread decodes every job itself, as
    ///     the fuzzer runs it.
    public init(trailing: TrailingPolicy = .error, maxWindowBytes: UInt64 = 1 << UInt64(Zstd.defaultWindowLog),
                threads: Int = 1, checksInline: Bool = false, poolWorkers: Int? = nil,
                diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try FrameDecoder(trailing: trailing, maxWindowBytes: maxWindowBytes)
        self.checksInline = checksInline
        self.diagnostics = diagnostics
        self.threads = threads
        self.poolWorkers = poolWorkers
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if checksInline {
            inner = out
        } else {
            let checker = FrameChecker(name: "unzstd-check", output: out.channel, pool: out.pool, outputStats: out.stats)
            try decoder.checkElsewhere(checker)
            inner = Emitter(channel: checker.inbox, pool: out.pool, stats: out.stats, countsBytes: false)
            checker.start()
            self.checker = checker
        }
        if threads > 1 {
            parallel = ParallelFrameDecoder(threads: threads, workers: poolWorkers, chunkPool: out.pool)
            decoder.stopsAtFrames = true
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        do {
            var rest = input.bytes
            while !rest.isEmpty {
                let taken = collecting != nil ? try collect(rest, into: &out) : try decoder.step(rest, into: &inner)
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                if decoder.readyFrame != nil { try route(into: &out) }
            }
            try writeFrames(waiting: false, into: &out)
            try warnOnce(&out)
        } catch {
            throw settled(error, &out)
        }
        return .more
    }

    /// Before waiting for input: what is decoded goes out; frames in flight stay there.
    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        do {
            try writeFrames(waiting: false, into: &out)
            try flushInner()
            try out.flush()
        } catch {
            throw settled(error, &out)
        }
    }

    /// 2 ms: with threads, once input pauses (a live stream), the frames in flight are
    /// written, and a frame half collected is read here instead, so its output does not
    /// wait for its end; a file input never pauses that long.
    public var idleNanos: UInt64? { threads > 1 ? 2_000_000 : nil }

    public mutating func idle(into out: inout Emitter) throws(StageError) {
        do {
            try decodeCollectedHere(into: &out)
            try writeFrames(waiting: true, into: &out)
            try warnOnce(&out)
            try flushInner()
            try out.flush()
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        do {
            try decodeCollectedHere(into: &out)
            try writeFrames(waiting: true, into: &out)
            try settleChecker()
            try decoder.finish()
            try warnOnce(&out)
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func close() {
        if let collecting { collecting.job.recycleChunks(into: parallel!.chunkPool) }
        collecting = nil
        parallel?.stop()
        parallel = nil
        // Hand on what was decoded, even when ending on an error, then let the checker
        // forward it and end.
        if inner != nil {
            do throws(StageError) { try inner.flush() } catch { inner.discard() }
        }
        checker?.stop()
        checker = nil
    }

    // MARK: Routing

    /// A frame's header was read: the threads decode it if it is eligible and there is a
    /// pool; else, once every job before it is written, the sequential decoder does.
    private mutating func route(into out: inout Emitter) throws(StageError) {
        let ready = decoder.readyFrame!
        if let header = ready.header, header.frameType == ZSTD_skippableFrame {
            // Skipped: no output, so no order to keep.
            return try decoder.startFrame(into: &inner)
        }
        guard parallel != nil, let header = ready.header, ParallelFrameDecoder.isEligible(header) else {
            try writeFrames(waiting: true, into: &out)
            return try decoder.startFrame(into: &inner)
        }
        guard let job = try fillingJob(&out) else { return try decoder.startFrame(into: &inner) }
        let contentBytes = header.frameContentSize == UInt64.max ? nil : header.frameContentSize
        job.reset(frame: ready.frame, start: ready.start, contentBytes: contentBytes, pool: parallel!.chunkPool)
        job.input.append(contentsOf: ready.head)
        decoder.handOff()
        collecting = (job, BlockWalker(frameStart: ready.start, headerBytes: ready.head.count,
                                       hasChecksum: header.checksumFlag != 0))
    }

    /// Copies the frame's bytes into its job, part by part as the walker finds them;
    /// submits the job once the frame is whole. A frame that outgrows a job is read here.
    private mutating func collect(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        var (job, walker) = collecting!
        var used = 0
        while used < bytes.count {
            let n = walker.partBytes(bytes.count - used)
            if n == 0 { break }
            guard job.input.count + n <= ParallelFrameDecoder.maxInputBytes else {
                collecting = (job, walker)
                try decodeCollectedHere(into: &out)
                return used
            }
            let part = UnsafeRawBufferPointer(rebasing: bytes[used ..< used + n])
            job.input.append(contentsOf: part)
            walker.passed(part, at: job.start + job.input.count - n)
            used += n
        }
        collecting = (job, walker)
        if walker.partBytes(1) == 0 {
            // The frame is whole (as far as its blocks say; the worker checks).
            collecting = nil
            decoder.skipFrame(endingAt: job.start + job.input.count)
            parallel!.submit()
            try writeFrames(waiting: false, into: &out)
        }
        return used
    }

    /// The frame being collected is read by the sequential decoder after all (cut short,
    /// too large, or the input paused), once every job before it is written.
    private mutating func decodeCollectedHere(into out: inout Emitter) throws(StageError) {
        guard let (job, _) = collecting else { return }
        collecting = nil
        try writeFrames(waiting: true, into: &out)
        decoder.restart(frame: job.frame, at: job.start)
        try feed(job.input, into: &out)
    }

    /// The job to collect into, writing out the oldest to free one if need be; nil if
    /// the pool was abandoned meanwhile.
    private mutating func fillingJob(_ out: inout Emitter) throws(StageError) -> ParallelFrameDecoder.Job? {
        while let parallel {
            if let job = parallel.filling { return job }
            try writeOldest(waiting: true, into: &out)
        }
        return nil
    }

    // MARK: Writing jobs in order

    private mutating func writeFrames(waiting: Bool, into out: inout Emitter) throws(StageError) {
        while parallel?.hasJobs == true {
            guard try writeOldest(waiting: waiting, into: &out) else { return }
        }
    }

    /// Writes the oldest job if it is done (or once done, if `waiting`): its chunks; or for
    /// a frame too large for a job, or one the worker could not decode exactly, the frame
    /// decoded here (which finds the error, if there is one).
    @discardableResult
    private mutating func writeOldest(waiting: Bool, into out: inout Emitter) throws(StageError) -> Bool {
        guard let parallel, let job = parallel.oldest(waiting: waiting) else { return false }
        switch job.outcome {
        case .clean:
            if decoder.emittedBytes > settledBytes { try settleChecker() }
            for chunk in job.chunks { try out.forward(ChunkLease(chunk, pool: out.pool)) }
            job.chunks.removeAll(keepingCapacity: true)
            parallel.release()
        case .tooLarge, .unclean:
            job.recycleChunks(into: parallel.chunkPool)
            try decodeAlone(job, into: &out)
            parallel.release()
        }
        return true
    }

    /// A whole frame of a job read here; the decoder then goes back to where the stream
    /// is (between frames, in a header, or skipping a skippable frame: libzstd's context
    /// holds nothing then, so it is free to borrow). An error in the frame is the error
    /// `-p 1` gives, since every frame before it is written (a checksum mismatch is the
    /// checker's, found when it is settled before the next job is written). If the frame
    /// turned out not to end where the job does, that is an error.
    private mutating func decodeAlone(_ job: ParallelFrameDecoder.Job, into out: inout Emitter) throws(StageError) {
        let current = decoder
        decoder.restart(frame: job.frame, at: job.start)
        decoder.stopsAtFrames = false
        do {
            try feed(job.input, into: &out)
        } catch {
            // Damaged: the error, with nothing in flight before it to settle.
            abandonPool()
            throw error
        }
        let end = job.start + job.input.count
        guard decoder.isBetweenFrames, decoder.offset == end else {
            // libzstd reads frames block by block as the walker does, so it ends a frame
            // where the walker did, or fails; this would be a bug, said plainly.
            abandonPool()
            throw .failed("frame \(job.frame) at byte \(job.start): libzstd does not end it at byte \(end), "
                + "where its blocks end (try -p 1)")
        }
        let emitted = decoder.emittedBytes
        decoder = current
        decoder.emittedBytes = emitted
    }

    /// Ends the pool on an error: the jobs after the one read here, and the frame being
    /// collected, are dropped.
    private mutating func abandonPool() {
        _ = parallel?.abandon()
        parallel = nil
        collecting = nil
    }

    /// Every step of the sequential decoder over `bytes`, its output into `inner`.
    private mutating func feed(_ bytes: [UInt8], into out: inout Emitter) throws(StageError) {
        var failure: StageError?
        bytes.withUnsafeBytes { all in
            var rest = all
            do throws(StageError) {
                while !rest.isEmpty {
                    let taken = try decoder.step(rest, into: &inner)
                    rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        // Bytes that end with a frame's header leave the frame to start here.
        if decoder.readyFrame != nil { try decoder.startFrame(into: &inner) }
    }

    // MARK: The checker

    /// Hands on what the decoder made (without a checker, `inner` is a copy of `out`, with
    /// a pending chunk of its own).
    private mutating func flushInner() throws(StageError) {
        if let checker { try checker.flush(&inner) } else { try inner.flush() }
    }

    /// Sends what the decoder made and waits until the checker has forwarded all of it;
    /// throws the mismatch it found, if any.
    private mutating func settleChecker() throws(StageError) {
        if let checker { try checker.settle(&inner, sentBytes: decoder.emittedBytes) } else { try inner.flush() }
        settledBytes = decoder.emittedBytes
    }

    // MARK: Errors in stream order

    /// The error to report for `error`, raised on this thread: an error in a frame in
    /// flight, before it in the stream, comes first, and a mismatch the checker found
    /// before both (every byte it was sent precedes the frames still in flight and the
    /// point where the decoder failed); a closed inbox is the checker's error.
    private mutating func settled(_ error: StageError, _ out: inout Emitter) -> StageError {
        switch error {
        case .downstreamClosed:
            return checker?.recordedFailure.map { .failed($0) } ?? error
        case .failed:
            guard checker != nil || parallel?.hasJobs == true else { return error }
            collecting = nil
            var first = error
            do throws(StageError) { try writeFrames(waiting: true, into: &out) } catch {
                if case .failed = error { first = error }
            }
            do throws(StageError) { try settleChecker() } catch {
                if case .failed = error, checker?.recordedFailure != nil { return error }
            }
            return first
        }
    }

    /// Prints the decoder's warning once every frame before the garbage was written, so
    /// that it never comes before an error about one of them.
    private mutating func warnOnce(_ out: inout Emitter) throws(StageError) {
        guard decoder.warning != nil, collecting == nil else { return }
        try writeFrames(waiting: true, into: &out)
        try settleChecker()
        if let warning = decoder.warning { diagnostics?.warn("unzstd", warning) }
        decoder.warning = nil
    }

    /// The sequential decoder for windows up to `maxWindowBytes`, the checker's chunks
    /// (unless libzstd checks inline), and with threads the parallel decoder's jobs and
    /// contexts.
    static func heldBytes(maxWindowBytes: UInt64, threads: Int, chunkBytes: Int, checksInline: Bool) -> Int {
        let sequential = FrameDecoder.heldBytes(maxWindowBytes: maxWindowBytes)
            + (checksInline ? 0 : FrameChecker.heldBytes(chunkBytes: chunkBytes))
        guard threads > 1 else { return sequential }
        return sequential + ParallelFrameDecoder.heldBytes(threads: threads, chunkBytes: chunkBytes)
    }

    public static let descriptor = StageDescriptor(
        name: "unzstd", aliases: ["zstdcat"],
        synopsis: "unzstd [-p N] [--long[=WLOG] | --memory SIZE] [--trailing=error|warn|ignore] [-ck]",
        summary: "decompress zstd input, concatenated and skippable frames too, checking every checksum; "
            + "frames of bounded size (pzstd's) in parallel",
        options: [
            OptionSpec("p", "threads", .required("N"),
                       help: "decode frames of at most 8 MiB (pzstd's) on N threads (default: one per core)"),
            OptionSpec("T", nil, .required("N"), key: "threads", help: "the same, as zstd spells it (-T2)"),
            OptionSpec(nil, "long", .optional("WLOG"),
                       help: "allow frames with a window up to 2^WLOG bytes (27 without WLOG; 10 to 31)"),
            OptionSpec(nil, "memory", .required("SIZE"),
                       help: "allow frames with a window up to SIZE (default 128M)"),
            TrailingPolicy.option,
            OptionSpec("d", "decompress", help: "accepted, as zstd's: unzstd decompresses"),
        ] + GzipStage.gzipHabits
    ) { args, context throws(SluiceError) in
        let policy = try TrailingPolicy.parse(args)
        let threads = try args.threadCount("threads", default: GzipStage.onlineCores)
        var maxWindow = UInt64(1) << UInt64(Zstd.defaultWindowLog)
        // The last of --long and --memory counts, as in zstd.
        if let last = args.parsed.given.last(where: { $0.key == "long" || $0.key == "memory" }) {
            if last.key == "long" {
                maxWindow = UInt64(1) << UInt64(try ZstdStage.windowLog(last, args))
            } else {
                maxWindow = UInt64(try args.parseSize(last.value ?? "", for: last.spelling, min: 1 << 10,
                                                      max: 1 << Zstd.maxWindowLog))
            }
        }
        do throws(StageError) {
            let checksInline = GzipStage.onlineCores == 1
            var plan = StagePlan(try UnzstdStage(trailing: policy, maxWindowBytes: maxWindow, threads: threads,
                                                 checksInline: checksInline, diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(maxWindowBytes: maxWindow, threads: threads,
                                                      chunkBytes: context.chunkBytes, checksInline: checksInline))
            plan.output = .other
            if threads > 1 {
                plan.heldChunks = ParallelFrameDecoder.heldChunks(threads: threads, chunkBytes: context.chunkBytes)
            }
            return plan
        } catch {
            throw .runtime("unzstd: \(error.message)")
        }
    }
}

